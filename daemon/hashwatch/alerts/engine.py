"""The alert engine: flat indicator values in, state changes and transitions out.

Why pure: every rule of alerting is decided here and in ``state.py`` from plain data and an
injected ``now``, so it is tested without SQLite, threads or sleeps. ``AlertService`` persists
what :meth:`Engine.plan` returns and only then calls :meth:`Engine.commit`, so a failed write
leaves the engine as if the evaluation never happened. The definitions of absent values, node
health inhibition and hysteresis are in ``state.py``.

Identity (fleets): a rule of scope ``network`` is evaluated once per (network, labels): its
state has no node (``node == ""``) and carries a ``network`` label, so every daemon watching that
network computes the same label set and fingerprint, and Alertmanager merges their alerts. The
value comes from the first healthy node (by name) of that network; that node is remembered only
to fill ``{node}`` in messages. A node whose network is not known yet (no status read) keeps the
per-node identity. Rules of scope ``node`` are per node and get the configured ``site`` label.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..snapshot.store import IndicatorValue, Labels, Section, Snapshot
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


def template_fields(
    rule: Rule, s: AlertState, status: str, observer: str | None = None, site: str | None = None
) -> dict[str, Any]:
    nan = math.nan
    network = dict(s.labels).get("network", "")
    return {
        "rule": rule.name,
        "node": s.node or observer or network or "-",
        "network": network or "-",
        "site": site or "-",
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


def alert_labels(rule: Rule, s: AlertState, site: str | None = None) -> dict[str, str]:
    out = {"alertname": rule.name, "severity": rule.severity}
    if s.node:
        out["node"] = s.node
        if site:
            out["site"] = site
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

    def __init__(
        self,
        rules: list[Rule],
        history: History,
        states: Iterable[AlertState] = (),
        *,
        site: str | None = None,
    ):
        self.rules = {r.name: r for r in rules}
        self.site = site
        self.observers: dict[str, str] = {}  # network alert fingerprint -> node it came from
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

    def plan(
        self,
        values: Mapping[str, list[IndicatorValue]],
        now: float,
        networks: Mapping[str, str] | None = None,
    ) -> Plan:
        """``networks`` maps node -> its chain (``main``, ``test``, ``testnet4``, ``signet``,
        ``regtest``); nodes missing from it are evaluated with per-node identity."""
        networks = networks or {}
        plan = Plan()
        by_name: dict[str, list[tuple[str, IndicatorValue]]] = {}
        for node, vals in values.items():
            for v in vals:
                by_name.setdefault(v.name, []).append((node, v))
                if self.history.wants(v.name) and math.isfinite(v.value):
                    key = (node, v.name, v.labels)
                    plan.buckets += [(key, b) for b in self.history.add(key, now, v.value)]
        healthy = {node: (node == GLOBAL_NODE or health(vals)) for node, vals in values.items()}
        net_healthy: dict[str, bool] = {}
        for node, chain in networks.items():
            net_healthy[chain] = net_healthy.get(chain, False) or healthy.get(node, False)
        seen: set[str] = set()
        for rule in self.rules.values():
            chosen: dict[str, tuple[str, str, IndicatorValue, Labels, bool]] = {}
            for node, v in sorted(by_name.get(rule.indicator, []), key=lambda p: p[0]):
                if not math.isfinite(v.value):
                    continue
                labels = dict(v.labels)
                if any(labels.get(k) != want for k, want in rule.match.items()):
                    continue
                ok = healthy.get(node, True)
                net = networks.get(node) if rule.scope == "network" else None
                if not net:
                    fp = fingerprint(rule.name, node, v.labels)
                    chosen[fp] = (node, node, v, v.labels, ok)
                    continue
                ident: Labels = tuple(sorted({**labels, "network": net}.items()))
                fp = fingerprint(rule.name, GLOBAL_NODE, ident)
                if fp not in chosen or (ok and not chosen[fp][4]):
                    chosen[fp] = (GLOBAL_NODE, node, v, ident, ok)  # first healthy node wins
            for fp, (subject, node, v, ident, ok) in chosen.items():
                seen.add(fp)
                if subject != node:
                    self.observers[fp] = node
                prev = self.states.get(fp) or new_state(fp, rule.name, subject, ident, now)
                obs = observe(rule, (node, v.name, v.labels), v.value, now, self.history)
                if rule.value_indicator is not None:
                    obs = with_value(obs, _unlabelled(values.get(node, ()), rule.value_indicator))
                self._apply(plan, rule, prev, now, obs, ok)
        for fp, prev in self.states.items():
            if fp in seen or prev.state not in ("pending", "firing"):
                continue
            rule = self.rules[prev.rule]
            if rule.scope == "network" and prev.node and prev.node in networks:
                self._retire(plan, rule, prev, now)
                continue
            prev_net = dict(prev.labels).get("network") if not prev.node else None
            ok = net_healthy.get(prev_net, False) if prev_net else healthy.get(prev.node, False)
            self._apply(plan, rule, prev, now, None, ok)
        return plan

    def _retire(self, plan: Plan, rule: Rule, prev: AlertState, now: float) -> None:
        """A per-node state of a network-scoped rule (written before fleets, or while the
        node's network was unknown) now has a network identity: resolve the old one so every
        channel that saw it firing sees it end; the network alert takes over."""
        if prev.state == "pending":
            new = replace(prev, state="inactive", pending_since=None)
            self._record(plan, rule, prev, new, None)
        else:
            new = replace(prev, state="resolved", resolved_at=now)
            self._record(plan, rule, prev, new, "resolved")

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
        self._record(plan, rule, prev, new, kind)

    def _record(
        self,
        plan: Plan,
        rule: Rule,
        prev: AlertState,
        new: AlertState,
        kind: TransitionKind | None,
    ) -> None:
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
            plan.transitions.append(self.transition(new, kind))

    def transition(self, s: AlertState, kind: TransitionKind) -> Transition:
        """The message of ``s`` as of now (also used for Alertmanager re-sends)."""
        rule = self.rules[s.rule]
        status = "resolved" if kind == "resolved" else "firing"
        fields = template_fields(rule, s, status, self.observers.get(s.fingerprint), self.site)
        summary, description = rule.summary, rule.description
        if kind == "resolved":
            summary = rule.resolved_summary or summary
            description = rule.resolved_description or description
        return Transition(
            kind,
            s,
            rule.severity,
            alert_labels(rule, s, self.site),
            _render(summary, fields),
            _render(description, fields),
        )

    def commit(self, plan: Plan) -> None:
        self.states.update(plan.states)
