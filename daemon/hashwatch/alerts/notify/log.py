"""The log channel: one line per notification. Always available as ``log`` (the fallback route)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

log = logging.getLogger("hashwatch.alerts.notify")


class LogNotifier:
    type = "log"

    def __init__(self, name: str = "log"):
        self.name = name

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None:
        labels = ",".join(f"{k}={v}" for k, v in sorted((payload.get("labels") or {}).items()))
        log.warning(
            "event=alert_notification channel=%s status=%s rule=%s node=%s severity=%s "
            "value=%s key=%s labels=%s summary=%r",
            self.name,
            payload["status"],
            payload["rule"],
            payload.get("node") or "-",
            payload["severity"],
            payload.get("value"),
            idem_key,
            labels,
            payload["summary"],
        )
