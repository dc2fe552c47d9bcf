"""The alert engine: flat indicator values in, state changes and transitions out.

Why pure: every rule of alerting is decided here and in ``state.py`` from plain data and an
injected ``now``, so it is tested without SQLite, threads or sleeps. ``AlertService`` persists
what :meth:`Engine.plan` returns and only then calls :meth:`Engine.commit`, so a failed write
leaves the engine as if the evaluation never happened. The definitions of absent values, node
health inhibition and hysteresis are in ``state.py``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..snapshot.store import IndicatorValue, Section, Snapshot
from .rules import HISTORY_KINDS, Rule, human_duration, render_template
from .state import (
    AlertState,
    Observation,
    TransitionKind,
    fingerprint,
    new_state,
    observe,
    step,
    with_value,
)
from .windows import Bucket, History, SeriesKey

__all__ = ["AlertState", "Engine", "Observation", "Plan", "Transition", "flatten", "step"]
GLOBAL_NODE = ""
log = logging.getLogger("hashwatch.alerts.engine")


@dataclass(frozen=True)
class Transition:
    kind: TransitionKind
    state: AlertState  # the state after the transition
    severity: str
    labels: Mapping[str, str]  # alertname, node, severity, rule labels, indicator labels
    summary: str
    description: str


@dataclass
class Plan:
    states: dict[str, AlertState] = field(default_factory=dict)  # fingerprint -> new state
    persist: list[AlertState] = field(default_factory=list)  # states worth writing
    transitions: list[Transition] = field(default_factory=list)
    buckets: list[tuple[SeriesKey, Bucket]] = field(default_factory=list)


def template_fields(rule: Rule, s: AlertState, status: str) -> dict[str, Any]:
    nan = math.nan
    return {
        "rule": rule.name,
        "node": s.node or "-",
        "severity": rule.severity,
        "status": status,
        "indicator": rule.indicator,
        "labels": dict(s.labels),
        "value": nan if s.value is None else s.value,
        "observed": nan if s.observed is None else s.observed,
        "reference": nan if s.reference is None else s.reference,
        "threshold": rule.threshold,
        "resolve_threshold": rule.threshold
        if rule.resolve_threshold is None
        else rule.resolve_threshold,
        "window": human_duration(rule.window) if rule.window else "",
    }


def _render(template: str, fields: Mapping[str, Any]) -> str:
    """Templates were checked at load; a label missing at run time must not lose the alert."""
    try:
        return render_template(template, fields)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        return f"{template} (template error: {type(exc).__name__}: {exc})"


def alert_labels(rule: Rule, s: AlertState) -> dict[str, str]:
    out = {"alertname": rule.name, "severity": rule.severity}
    if s.node:
        out["node"] = s.node
    out.update(dict(s.labels))
    out.update(rule.labels)
    return out


def _safe(values: Callable[[], Iterable[Any]], where: str) -> list[IndicatorValue]:
    """A section whose ``values()`` breaks makes its values absent, not the evaluation fail."""
    try:
        return [v for v in values() if isinstance(v, IndicatorValue)]
    except Exception:  # noqa: BLE001 - absent is the defined outcome for broken data
        log.exception("event=alert_values_failed where=%s", where)
        return []


def flatten(snapshot: Snapshot) -> dict[str, list[IndicatorValue]]:
    """node -> its values (globals under ``""``)."""
    out = {name: _safe(node.values, name) for name, node in snapshot.nodes.items()}
    out[GLOBAL_NODE] = [
        v
        for name, sec in snapshot.globals.items()
        if isinstance(sec, Section) and not isinstance(sec, Mapping)
        for v in _safe(sec.values, f"global:{name}")
    ]
    return out


def _unlabelled(values: Iterable[IndicatorValue], name: str) -> float | None:
    return next((v.value for v in values if v.name == name and not v.labels), None)


def health(values: Iterable[IndicatorValue]) -> bool:
    named = {v.name: v.value for v in values if not v.labels}
    return named.get("node_up", 0.0) == 1.0 and named.get("node_initial_block_download", 0.0) != 1.0


class Engine:
    """Holds alert states and history; :meth:`plan` is pure with respect to the states."""

    def __init__(self, rules: list[Rule], history: History, states: Iterable[AlertState] = ()):
        self.rules = {r.name: r for r in rules}
        self.history = history
        self.states: dict[str, AlertState] = {
            s.fingerprint: s for s in states if s.rule in self.rules
        }

    @staticmethod
    def retention(rules: Iterable[Rule]) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in rules:
            if r.kind in HISTORY_KINDS and r.window:
                out[r.indicator] = max(out.get(r.indicator, 0.0), r.window)
        return out

    def plan(self, values: Mapping[str, list[IndicatorValue]], now: float) -> Plan:
        plan = Plan()
        by_name: dict[str, list[tuple[str, IndicatorValue]]] = {}
        for node, vals in values.items():
            for v in vals:
                by_name.setdefault(v.name, []).append((node, v))
                if self.history.wants(v.name) and math.isfinite(v.value):
                    key = (node, v.name, v.labels)
                    plan.buckets += [(key, b) for b in self.history.add(key, now, v.value)]
        healthy = {node: (node == GLOBAL_NODE or health(vals)) for node, vals in values.items()}
        seen: set[str] = set()
        for rule in self.rules.values():
            for node, v in by_name.get(rule.indicator, []):
                if not math.isfinite(v.value):
                    continue
                labels = dict(v.labels)
                if any(labels.get(k) != want for k, want in rule.match.items()):
                    continue
                fp = fingerprint(rule.name, node, v.labels)
                seen.add(fp)
                prev = self.states.get(fp) or new_state(fp, rule.name, node, v.labels, now)
                obs = observe(rule, (node, v.name, v.labels), v.value, now, self.history)
                if rule.value_indicator is not None:
                    obs = with_value(obs, _unlabelled(values.get(node, ()), rule.value_indicator))
                self._apply(plan, rule, prev, now, obs, healthy.get(node, True))
        for fp, prev in self.states.items():
            if fp not in seen and prev.state in ("pending", "firing"):
                rule = self.rules[prev.rule]
                self._apply(plan, rule, prev, now, None, healthy.get(prev.node, False))
        return plan

    def _apply(
        self,
        plan: Plan,
        rule: Rule,
        prev: AlertState,
        now: float,
        obs: Observation | None,
        healthy: bool,
    ) -> None:
        new, kind = step(rule, prev, now, obs, healthy=healthy)
        if new == prev:
            return
        plan.states[new.fingerprint] = new
        if (new.state, new.instance, new.pending_since, new.last_notified_at) != (
            prev.state,
            prev.instance,
            prev.pending_since,
            prev.last_notified_at,
        ):
            plan.persist.append(new)
        if kind is not None:
            status = "resolved" if kind == "resolved" else "firing"
            fields = template_fields(rule, new, status)
            summary, description = rule.summary, rule.description
            if kind == "resolved":
                summary = rule.resolved_summary or summary
                description = rule.resolved_description or description
            plan.transitions.append(
                Transition(
                    kind,
                    new,
                    rule.severity,
                    alert_labels(rule, new),
                    _render(summary, fields),
                    _render(description, fields),
                )
            )

    def commit(self, plan: Plan) -> None:
        self.states.update(plan.states)
