"""Alert rules: pydantic models and the loader that merges user files over the packaged defaults.

Why a merge by rule name: operators should tune one key of a default (``threshold: 4``) or turn a
default off (``enabled: false``) without copying the whole file, and still get every upgrade of
the rules they did not touch. Each key remembers the file and line it came from, so an error
names ``file:line``, the rule and the key.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from ..config.describe import describe
from ..config.loader import ConfigError, LineMap, format_loc, load_yaml
from ..config.secrets import StrictModel

Op = Literal["<", "<=", ">", ">=", "==", "!="]
Kind = Literal["threshold", "change", "baseline_ratio", "new_low", "new_high", "age"]
Scope = Literal["network", "node"]
HISTORY_KINDS = ("change", "baseline_ratio", "new_low", "new_high")

_DUR_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, None: 1}


def parse_duration(v: Any) -> float:
    """``90``, ``"90s"``, ``"5m"``, ``"1h"``, ``"30d"`` -> seconds."""
    if isinstance(v, bool):
        raise ValueError("expected a duration like 30s, 5m, 1h, 7d")
    if isinstance(v, (int, float)):
        seconds = float(v)
    elif isinstance(v, str) and (m := _DUR_RE.match(v)):
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    else:
        raise ValueError(f"expected a duration like 30s, 5m, 1h, 7d (got {v!r})")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def human_duration(seconds: float) -> str:
    """``2592000`` -> ``30d``, ``86400`` -> ``24h`` (how people say a one-day window)."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= max(size, 2 * 86_400 if unit == "d" else 0) and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class _SafeFormatter(string.Formatter):
    """``{value:.2f}``, ``{labels[pool]}``; no attribute access (templates come from files)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        if "." in field_name:
            raise ValueError(f"attribute access is not allowed in templates: {{{field_name}}}")
        return super().get_field(field_name, args, kwargs)


FORMATTER = _SafeFormatter()
TEMPLATE_FIELDS = (
    "rule",
    "node",
    "severity",
    "status",
    "value",
    "observed",
    "threshold",
    "resolve_threshold",
    "reference",
    "window",
    "labels",
    "indicator",
    "network",
    "site",
)


def render_template(template: str, fields: Mapping[str, Any]) -> str:
    return FORMATTER.vformat(template, (), dict(fields))


class Rule(StrictModel):
    """One alert rule. See README.md#alerts for each key; the maths lives in ``engine.py``."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    enabled: bool = True
    indicator: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    match: dict[str, str] = Field(default_factory=dict)  # indicator label matchers (equality)
    kind: Kind = "threshold"
    op: Op | None = None
    threshold: float | None = None
    resolve_threshold: float | None = None
    window: Duration | None = None  # change / baseline_ratio / new_low / new_high
    change_mode: Literal["percent", "delta"] = "percent"
    min_coverage: float = Field(default=0.5, gt=0, le=1)  # share of `window` history must span
    min_value: float | None = None  # raw value guard (e.g. fee spike only above 20 sat/vB)
    # Another unlabelled indicator of the same node that is reported as {value} and guarded by
    # min_value/max_value, while the rule's own indicator is what is compared ({observed}).
    # fee_spike compares the fees_spike_ratio metric and guards the next-block median.
    value_indicator: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    max_value: float | None = None
    for_: Duration = Field(default=0.0, alias="for")
    repeat_interval: Duration | None = None
    absent_resolve_after: Duration | None = None
    severity: Literal["info", "warning", "critical"] = "warning"
    labels: dict[str, str] = Field(default_factory=dict)
    inhibited_by_node_health: bool = False
    channels: list[str] | None = None
    # Whose fact is this? ``network``: the same on every node of a chain (difficulty, fees,
    # pools...), identified by ``network`` so N daemons raise ONE alert that Alertmanager merges;
    # ``node``: about one node (down, lagging), identified by ``node`` (and ``site``). Default:
    # ``node`` for ``node_*`` indicators, ``network`` for everything else (see default_scope).
    scope: Scope | None = None
    summary: str = "{rule} on {node}: {indicator} = {value:g}"
    description: str = ""
    # Wording for the resolve message; the firing templates are used when not set.
    resolved_summary: str | None = None
    resolved_description: str | None = None

    @field_validator("summary", "description", "resolved_summary", "resolved_description")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is None:
            return v
        sample: dict[str, Any] = dict.fromkeys(TEMPLATE_FIELDS, 1.0)
        sample.update(
            rule="r",
            node="n",
            severity="warning",
            status="firing",
            window="1h",
            indicator="x",
            network="main",
            site="s",
            labels=_AnyLabels(),
        )
        try:
            render_template(v, sample)
        except (KeyError, IndexError) as exc:
            raise ValueError(
                f"unknown template field {exc}; known: {', '.join(TEMPLATE_FIELDS)}"
            ) from None
        except ValueError as exc:
            raise ValueError(f"bad template: {exc}") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if self.scope is None:
            object.__setattr__(self, "scope", default_scope(self.indicator))
        defaults: dict[str, tuple[Op, float]] = {"new_low": ("<=", 1.0), "new_high": (">=", 1.0)}
        if self.op is None or self.threshold is None:
            if self.kind not in defaults:
                raise ValueError(f"threshold: op and threshold are required for kind {self.kind}")
            op, thr = defaults[self.kind]
            object.__setattr__(self, "op", self.op or op)
            if self.threshold is None:
                object.__setattr__(self, "threshold", thr)
        if self.kind in HISTORY_KINDS and not self.window:
            raise ValueError(f"window: kind {self.kind} needs a window (e.g. window: 24h)")
        if self.kind not in HISTORY_KINDS and self.window is not None:
            raise ValueError(f"window: only used by kinds {', '.join(HISTORY_KINDS)}")
        if self.resolve_threshold is not None:
            assert self.threshold is not None
            if self.op in ("<", "<=") and self.resolve_threshold < self.threshold:
                raise ValueError(
                    f"resolve_threshold: {self.resolve_threshold:g} must be >= threshold "
                    f"{self.threshold:g} for op {self.op} (hysteresis resolves further away)"
                )
            if self.op in (">", ">=") and self.resolve_threshold > self.threshold:
                raise ValueError(
                    f"resolve_threshold: {self.resolve_threshold:g} must be <= threshold "
                    f"{self.threshold:g} for op {self.op} (hysteresis resolves further away)"
                )
            if self.op in ("==", "!="):
                raise ValueError("resolve_threshold: not allowed with op == or !=")
        return self


def default_scope(indicator: str) -> Scope:
    """Node-health indicators (``node_up``, ``node_best_block_time_seconds``...) are facts about
    one node; every other indicator (difficulty, hashrate, fees, mempool, economics, pools) is
    derived from the chain and the mempool, which every healthy node of a network shares."""
    return "node" if indicator.startswith("node_") else "network"


class _AnyLabels(dict):
    def __missing__(self, key: str) -> str:
        return "x"


class RulesFile(StrictModel):
    rules: list[dict[str, Any]] = Field(default_factory=list)


def default_rules_path() -> Path:
    return Path(str(resources.files("hashwatch") / "data" / "alerts.yml"))


def _describe(err: Mapping[str, Any]) -> str:
    return describe(err, unknown_key="see README.md#alerts for the rule keys")


_KEY_MSG = re.compile(r"^([a-z_]+): (.*)$", re.S)


def _read(path: Path) -> list[tuple[dict[str, Any], LineMap, int]]:
    data, lines = load_yaml(path, what="rules")
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise ConfigError([f"{path}:1: a rules file is a mapping with a `rules:` list"])
    extra = sorted(set(data) - {"rules"})
    if extra:
        raise ConfigError([f"{lines.where((extra[0],))}: {extra[0]}: unknown key; expected rules:"])
    out = []
    problems = []
    for i, item in enumerate(data.get("rules") or []):
        if not isinstance(item, dict):
            problems.append(f"{lines.where(('rules', i))}: rules[{i}]: expected a mapping")
        elif not isinstance(item.get("name"), str) or not item["name"]:
            problems.append(f"{lines.where(('rules', i))}: rules[{i}]: every rule needs a name")
        else:
            out.append((item, lines, i))
    if problems:
        raise ConfigError(problems)
    return out


def load_rules(
    files: Iterable[Path], *, use_defaults: bool = True, channels: Iterable[str] | None = None
) -> list[Rule]:
    """Defaults (optionally) then each file in order; later keys win per rule name.

    Raises :class:`ConfigError` with one ``file:line: rule 'name': key: problem`` per problem.
    """
    sources = ([default_rules_path()] if use_defaults else []) + [Path(f) for f in files]
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[str, dict[str, str]] = {}  # rule -> key -> "file:line"
    problems: list[str] = []
    for path in sources:
        seen_here: set[str] = set()
        for item, lines, i in _read(path):
            name = item["name"]
            if name in seen_here:
                problems.append(
                    f"{lines.where(('rules', i, 'name'))}: rule {name!r}: "
                    f"defined twice in the same file"
                )
            seen_here.add(name)
            merged.setdefault(name, {}).update(item)
            keys_at = origin.setdefault(name, {})
            keys_at[""] = lines.where(("rules", i))
            for key in item:
                keys_at[key] = lines.where(("rules", i, key))
    known_channels = set(channels) | {"log"} if channels is not None else None
    rules: list[Rule] = []
    for name, data in merged.items():
        if data.get("enabled", True) is False:
            continue
        try:
            rule = Rule.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc, text = tuple(err["loc"]), _describe(err)
                if not loc and (m := _KEY_MSG.match(text)):  # model-level check naming its key
                    loc, text = (m.group(1),), m.group(2)
                key = str(loc[0]) if loc else ""
                at = origin[name].get(key, origin[name][""])
                problems.append(f"{at}: rule {name!r}: {format_loc(loc)}: {text}")
            continue
        if known_channels is not None and rule.channels:
            known = ", ".join(sorted(known_channels))
            at = origin[name].get("channels", origin[name][""])
            for ch in rule.channels:
                if ch not in known_channels:
                    problems.append(
                        f"{at}: rule {name!r}: channels: unknown channel {ch!r} (known: {known})"
                    )
        rules.append(rule)
    if problems:
        raise ConfigError(problems)
    return rules
