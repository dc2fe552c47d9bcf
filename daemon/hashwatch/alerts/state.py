"""The state machine of one alert: pure functions over an injected ``now``.

Per (rule, node, labels) an alert is ``inactive`` -> ``pending`` (condition true, waiting out
``for``) -> ``firing`` -> ``resolved`` (and may fire again as a new ``instance``).
Definitions:
- absent value (indicator missing, or not enough history): nothing changes; a pending alert
  waits, a firing one stays firing. Exception: ``absent_resolve_after`` resolves a firing
  alert whose series has been absent that long while its node is up (a pool leaving the window).
- node health: a node is unhealthy while ``node_up == 0`` or ``node_initial_block_download == 1``.
  For rules with ``inhibited_by_node_health``, an unhealthy node resets pending alerts to
  inactive, keeps firing ones firing without repeats or resolves, and starts nothing new.
- hysteresis: fires when ``observed op threshold`` (and the raw-value guards ``min_value`` /
  ``max_value`` pass); a firing alert resolves only when ``observed op resolve_threshold`` no
  longer holds, or a guard fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from typing import Literal

from ..snapshot.store import Labels
from .rules import Rule
from .windows import History, SeriesKey

StateName = Literal["inactive", "pending", "firing", "resolved"]
TransitionKind = Literal["firing", "resolved", "repeat"]


@dataclass(frozen=True)
class Observation:
    value: float  # the raw indicator value
    observed: float  # what the rule compares: value, change, ratio or age
    reference: float | None = None  # value a window ago, baseline, prior low/high


@dataclass(frozen=True)
class AlertState:
    fingerprint: str
    rule: str
    node: str
    labels: Labels
    state: StateName = "inactive"
    instance: int = 0
    pending_since: float | None = None
    firing_since: float | None = None
    resolved_at: float | None = None
    last_notified_at: float | None = None
    last_seen_at: float | None = None
    value: float | None = None
    observed: float | None = None
    reference: float | None = None


INSTANCE_RANDOM_BITS = 20


def new_state(fp: str, rule: str, node: str, labels: Labels, now: float) -> AlertState:
    """A fresh alert whose instance numbers can never repeat an earlier life's.

    Why: notification idempotency keys are ``fingerprint/instance/...``. If the alert store is
    lost (deleted, rebuilt after corruption), counting instances again from 1 would give a new
    firing the key of an old one, and a receiver that deduplicates by key would drop it. The
    first instance of a fresh state therefore starts at ``now`` (seconds) shifted left with
    random low bits: later lives start higher, and two daemons never collide in practice.
    Within one life instances still count up by one. The number stays below 2**53 (exact in
    JSON payloads) until the year 2255.
    """
    base = (max(0, int(now)) << INSTANCE_RANDOM_BITS) | secrets.randbits(INSTANCE_RANDOM_BITS)
    return AlertState(fp, rule, node, labels, instance=base)


def fingerprint(rule: str, node: str, labels: Labels) -> str:
    raw = json.dumps([rule, node, list(labels)], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def holds(op: str, x: float, threshold: float) -> bool:
    return {
        "<": x < threshold,
        "<=": x <= threshold,
        ">": x > threshold,
        ">=": x >= threshold,
        "==": x == threshold,
        "!=": x != threshold,
    }[op]


def observe(
    rule: Rule, key: SeriesKey, value: float, now: float, history: History
) -> Observation | None:
    """What ``rule`` compares for this series now, or None if it cannot be known yet."""
    if rule.kind == "threshold":
        return Observation(value, value)
    if rule.kind == "age":
        return Observation(value, now - value)
    window = rule.window or 0.0
    if not history.covers(key, now, window * rule.min_coverage):
        return None
    if rule.kind == "change":
        old = history.value_at(key, now - window)
        if old is None:
            return None
        if rule.change_mode == "delta":
            return Observation(value, value - old, old)
        return None if old == 0 else Observation(value, (value - old) / abs(old) * 100.0, old)
    if rule.kind == "baseline_ratio":
        base = history.baseline(key, now, window)
        return None if not base else Observation(value, value / base, base)
    ref = (
        history.low(key, now, window) if rule.kind == "new_low" else history.high(key, now, window)
    )
    return None if not ref else Observation(value, value / ref, ref)


def with_value(obs: Observation | None, value: float | None) -> Observation | None:
    """``obs`` reporting ``value`` (a rule's ``value_indicator``) as its value.

    The compared number stays ``obs.observed``; the reference becomes value / observed (for
    fee_spike: next-block median / spike ratio = the metric's own baseline). Absent or
    non-finite ``value``: nothing is known (None).
    """
    if obs is None or value is None or not math.isfinite(value):
        return None
    ref = value / obs.observed if obs.observed else None
    return Observation(value, obs.observed, ref)


def guards_pass(rule: Rule, value: float) -> bool:
    if rule.min_value is not None and value < rule.min_value:
        return False
    return rule.max_value is None or value <= rule.max_value


def step(
    rule: Rule, prev: AlertState, now: float, obs: Observation | None, *, healthy: bool
) -> tuple[AlertState, TransitionKind | None]:
    """One evaluation of one alert. Pure; see the module docstring for the definitions."""
    s = prev
    inhibited = rule.inhibited_by_node_health and not healthy
    if obs is None:
        gone_for = now - (s.last_seen_at if s.last_seen_at is not None else now)
        if (
            s.state == "firing"
            and rule.absent_resolve_after is not None
            and healthy
            and gone_for >= rule.absent_resolve_after
        ):
            return dataclasses.replace(s, state="resolved", resolved_at=now), "resolved"
        if inhibited and s.state == "pending":
            return dataclasses.replace(s, state="inactive", pending_since=None), None
        return s, None
    s = dataclasses.replace(
        s, last_seen_at=now, value=obs.value, observed=obs.observed, reference=obs.reference
    )
    assert rule.op is not None and rule.threshold is not None
    fire = holds(rule.op, obs.observed, rule.threshold) and guards_pass(rule, obs.value)
    if s.state in ("inactive", "resolved", "pending"):
        if inhibited or not fire:
            if s.state == "pending":
                return dataclasses.replace(s, state="inactive", pending_since=None), None
            return s, None
        since = s.pending_since if s.state == "pending" and s.pending_since is not None else now
        if now - since >= rule.for_:
            return dataclasses.replace(
                s,
                state="firing",
                instance=s.instance + 1,
                pending_since=since,
                firing_since=now,
                resolved_at=None,
                last_notified_at=now,
            ), "firing"
        if s.state == "pending":
            return s, None
        return dataclasses.replace(s, state="pending", pending_since=now), None
    # firing
    resolve_at = rule.threshold if rule.resolve_threshold is None else rule.resolve_threshold
    still = holds(rule.op, obs.observed, resolve_at) and guards_pass(rule, obs.value)
    if not still and not inhibited:
        return dataclasses.replace(s, state="resolved", resolved_at=now), "resolved"
    if (
        not inhibited
        and rule.repeat_interval
        and now - (s.last_notified_at or s.firing_since or now) >= rule.repeat_interval
    ):
        return dataclasses.replace(s, last_notified_at=now), "repeat"
    return s, None
