"""Generic webhook: POSTs Alertmanager's webhook JSON (version 4) so existing receivers work.

Why an ``Idempotency-Key`` header: the outbox delivers at least once; the one duplicate it can
produce (a crash after the receiver accepted, before the outbox recorded it) carries the same
key, so a receiver that cares can drop it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ...config.alerts import WebhookChannel
from . import redact_url
from ._http import post

ZERO_TIME = "0001-01-01T00:00:00Z"


def _rfc3339(t: float | None) -> str:
    if t is None:
        return ZERO_TIME
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def alertmanager_payload(payload: Mapping[str, Any], receiver: str) -> dict[str, Any]:
    """One notification as an Alertmanager v4 webhook body with one alert."""
    labels = {k: str(v) for k, v in (payload.get("labels") or {}).items()}
    annotations = {"summary": payload["summary"], "description": payload.get("description") or ""}
    for key in ("value", "observed", "threshold", "reference"):
        if payload.get(key) is not None:
            annotations[key] = f"{payload[key]:.10g}"
    status = payload["status"]
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _rfc3339(payload.get("starts_at")),
        "endsAt": _rfc3339(payload.get("ends_at") if status == "resolved" else None),
        "generatorURL": payload.get("grafana_url") or "",
        "fingerprint": payload.get("fingerprint", ""),
    }
    group = {"alertname": labels.get("alertname", "")}
    return {
        "version": "4",
        "groupKey": f"{{}}:{{alertname={group['alertname']!r}}}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": payload.get("grafana_url") or "",
        "alerts": [alert],
    }


class WebhookNotifier:
    type = "webhook"

    def __init__(self, cfg: WebhookChannel):
        self.name = cfg.name
        self._url = cfg.url.get_secret_value()
        self._token = cfg.bearer_token.get_secret_value() if cfg.bearer_token else None
        self._timeout = cfg.timeout_seconds
        self._where = f"webhook channel {cfg.name!r} ({redact_url(self._url)})"

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None:
        body = json.dumps(alertmanager_payload(payload, self.name)).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idem_key,
            "User-Agent": "hashwatch-alerts",
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        post(self._url, body, headers, timeout=self._timeout, where=self._where)
