"""Read a YAML config file into plain data, remembering where every key stands.

Why: a config error must name the key path *and* the file line, and ``${ENV}`` references and
``*_file`` secrets must be resolved before validation without ever echoing the secret itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[Any, ...]
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """One or more problems in a config or rules file; ``str()`` gives one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def format_loc(loc: Loc) -> str:
    """``("nodes", 0, "url")`` -> ``nodes[0].url``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


class LineMap:
    """Maps key paths to 1-based line numbers of one YAML document."""

    def __init__(self, path: Path, lines: dict[Loc, int]):
        self.path = path
        self.lines = lines

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest known prefix of ``loc`` (an unknown key's parent, for example)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            lines[loc + (k,)] = key.start_mark.line + 1
            _walk(value, loc + (k,), lines)
            lines[loc + (k,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, loc + (i,), lines)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys instead of silently keeping the last one."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key]})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path, *, what: str = "config") -> tuple[Any, LineMap]:
    """Parse ``path``; raise :class:`ConfigError` naming the file and line on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fix = "create it or pass --config" if what == "config" else "check the path in the config"
        raise ConfigError([f"{path}: {what} file not found; {fix}"]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read {what} file: {type(exc).__name__}"]) from None
    try:
        node = yaml.compose(text, Loader=_UniqueKeyLoader)
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([f"{path}{line}: YAML syntax error: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: YAML syntax error: {exc}"]) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineMap(path, lines)


def interpolate_env(data: Any, lines: LineMap, env: Mapping[str, str] | None = None) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string; unset without default fails."""
    env = os.environ if env is None else env
    problems: list[str] = []

    def sub(value: Any, loc: Loc) -> Any:
        if isinstance(value, dict):
            return {k: sub(v, loc + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v, loc + (i,)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:

            def repl(m: re.Match[str]) -> str:
                name, default = m.group(1), m.group(2)
                if name in env:
                    return env[name]
                if default is not None:
                    return default
                problems.append(
                    f"{lines.where(loc)}: {format_loc(loc)}: environment variable {name} is not "
                    f"set; export it or write ${{{name}:-default}}"
                )
                return ""

            return _ENV_RE.sub(repl, value)
        return value

    out = sub(data, ())
    if problems:
        raise ConfigError(problems)
    return out
