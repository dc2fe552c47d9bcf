"""``hashwatch alerts``: active alerts and the outbox as plain text for a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Protocol

from .rules import Rule
from .state import AlertState
from .store import AlertStore


class AlertView(Protocol):
    """What a listing reads (the service offers it; no import of the service: no cycle)."""

    @property
    def rules_by_name(self) -> Mapping[str, Rule]: ...
    @property
    def store(self) -> AlertStore: ...

    def active(self) -> list[AlertState]: ...


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def format_value(v: float | None) -> str:
    """An alert value as both `hashwatch alerts` and the page show it (6 significant digits)."""
    return "-" if v is None else f"{v:.6g}"


def describe(service: AlertView) -> str:
    lines = []
    active = service.active()
    lines.append(f"Active alerts: {len(active)}")
    for s in active:
        rule = service.rules_by_name[s.rule]
        labels = ",".join(f"{k}={v}" for k, v in s.labels)
        since = s.firing_since if s.state == "firing" else s.pending_since
        # network alerts are named by their `network` label; node ones by their node
        subject = f" node={s.node or '-'}" if s.node or not labels else ""
        lines.append(
            f"  {s.state:<8} {rule.severity:<8} {s.rule}{subject}"
            f"{' ' + labels if labels else ''} value={format_value(s.value)}"
            f" observed={format_value(s.observed)}"
            f" since={_when(since)}"
        )
    depth = service.store.outbox_depth()
    total = sum(n for n, _ in depth.values())
    lines.append(f"Outbox: {total} undelivered")
    for ch, (n, oldest) in sorted(depth.items()):
        lines.append(f"  {ch}: {n} undelivered, oldest {_when(oldest)}")
    recent = service.store.outbox(limit=15)
    if recent:
        lines.append("Recent notifications (newest first):")
    for r in recent:
        reason = f" last_error={r.last_reason}" if r.last_reason else ""
        lines.append(
            f"  #{r.id} {r.status:<9} {r.channel} {r.payload.get('status')} {r.payload.get('rule')}"
            f" node={r.payload.get('node') or '-'} attempts={r.attempts}"
            f" created={_when(r.created_at)}{reason}"
        )
    return "\n".join(lines) + "\n"
