"""Configuration: YAML file -> validated, immutable :class:`Config`.

``load_config(path)`` is the only place that reads the environment (``${VAR}``) and secret
files; it raises :class:`ConfigError` whose lines name the file, line, key path and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .describe import describe
from .loader import ConfigError, LineMap, format_loc, interpolate_env, load_yaml
from .models import Config, NodeConfig

__all__ = ["Config", "ConfigError", "NodeConfig", "load_config", "validation_problems"]


def _describe(err: Mapping[str, Any]) -> str:
    return describe(err, unknown_key="check the spelling against config/hashwatch.example.yaml")


def _user_loc(loc: tuple, data: Any) -> tuple:
    """Drop the union tags pydantic adds to paths (``channels[0].slack.webhook_url``).

    A tagged union inserts the tag (the item's ``type``) into the error path; the user's file
    has no such key, so the path is walked through the data and such steps are skipped.
    """
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            if node.get("type") == part or part in ("function-after", "function-before"):
                continue
        out.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def validation_problems(
    exc: ValidationError, lines: LineMap, prefix: tuple = (), data: Any = None
) -> list[str]:
    """One ``file:line: key.path: message`` string per pydantic error."""
    out = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        if data is not None:
            loc = _user_loc(loc, data)
        out.append(f"{lines.where(loc)}: {format_loc(loc)}: {_describe(err)}")
    return out


def read_config_data(
    path: str | Path, env: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], LineMap]:
    """The file as plain data with ``${ENV}`` resolved, and where each key stands (unvalidated)."""
    path = Path(path)
    data, lines = load_yaml(path)
    if data is None:
        raise ConfigError([f"{path}: config file is empty; see config/hashwatch.example.yaml"])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the top level must be a mapping of keys (nodes:, ...)"])
    return interpolate_env(data, lines, env), lines


def validate_config(data: dict[str, Any], lines: LineMap) -> Config:
    """Validate plain data read from the file behind ``lines``; errors name its lines."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, lines, data=data)) from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``path``; raise :class:`ConfigError` with every problem found."""
    return validate_config(*read_config_data(path, env))
