"""The page's alerts view: active alerts and recent notifications, read from the AlertService.

Why apart from page_data: alerts are not part of the snapshot; they live in the alert engine's
memory and its SQLite outbox (the same sources ``hashwatch alerts`` lists). A store that cannot
be read leaves a note on the page instead of failing it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..alerts.listing import format_value

log = logging.getLogger("hashwatch.serve.page")

RECENT = 10


@dataclass(frozen=True)
class ActiveAlert:
    state: str  # pending | firing
    severity: str
    rule: str
    node: str
    labels: str
    value: str
    since: str


@dataclass(frozen=True)
class Notification:
    created: str
    channel: str
    delivery: str  # outbox status: pending, sending, delivered, failed
    status: str  # firing | resolved
    rule: str
    node: str
    summary: str


@dataclass(frozen=True)
class AlertsView:
    active: tuple[ActiveAlert, ...]
    recent: tuple[Notification, ...]
    note: str = ""


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def alerts_view(service: Any) -> AlertsView | None:
    """``service``: an ``AlertService`` or None (alerting switched off: no alerts card)."""
    if service is None:
        return None
    active = []
    for s in service.active():
        rule = service.rules_by_name.get(s.rule)
        active.append(ActiveAlert(
            state=s.state,
            severity=rule.severity if rule is not None else "?",
            rule=s.rule,
            node=s.node or "-",
            labels=", ".join(f"{k}={v}" for k, v in s.labels),
            value=format_value(s.value),
            since=_when(s.firing_since if s.state == "firing" else s.pending_since),
        ))
    try:
        rows = service.store.outbox(limit=RECENT)
    except Exception as exc:  # noqa: BLE001 - a locked or broken store must not fail the page
        log.warning("event=page_outbox_unreadable error=%s", type(exc).__name__)
        return AlertsView(tuple(active), (), note="recent notifications unavailable (store error)")
    recent = tuple(
        Notification(
            created=_when(r.created_at),
            channel=r.channel,
            delivery=r.status,
            status=str(r.payload.get("status", "")),
            rule=str(r.payload.get("rule", "")),
            node=str(r.payload.get("node") or "-"),
            summary=str(r.payload.get("summary", "")),
        )
        for r in rows
    )
    return AlertsView(tuple(active), recent)
