"""Notification channels: one module per integration, one error type for all of them.

Why one error: the delivery worker decides retry or give-up from ``NotifyError.retryable`` and
``retry_after`` only, and ``reason`` (a small fixed set) becomes a metric label. Library
exceptions are converted inside each notifier; URLs carrying secrets never appear in messages.

A notifier is any object with ``name``, ``type`` and ``send(payload, idem_key)``; the payload is
the plain dict stored in the outbox (see ``hashwatch.alerts.service.build_payload``). HTTP
notifiers send through :func:`hashwatch.alerts.notify._http.post` (the bounded client
:mod:`hashwatch.outbound`: no redirects, one total deadline, capped answers), never urllib.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

REASONS = (
    "timeout",
    "connection",
    "http_4xx",
    "http_5xx",
    "rate_limited",
    "auth",
    "bad_config",
    "smtp_4xx",
    "smtp_5xx",
    "redirect",
    "bad_response",
)
SEVERITY_COLOURS = {"critical": "#d32f2f", "warning": "#f9a825", "info": "#1e88e5"}
RESOLVED_COLOUR = "#2e7d32"


class NotifyError(Exception):
    def __init__(
        self, reason: str, message: str, *, retryable: bool, retry_after: float | None = None
    ):
        assert reason in REASONS, reason
        super().__init__(message)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class Notifier(Protocol):
    name: str
    type: str

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None: ...


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/secret`` -> ``https://hooks.slack.com/***``."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/***"
    except ValueError:
        return "<url redacted>"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (``"30"``) or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def http_error(status: int, what: str, retry_after: str | None = None) -> NotifyError | None:
    """The shared table: HTTP status -> None (delivered) or a NotifyError saying retry or not."""
    if 200 <= status < 300:
        return None
    msg = f"{what} answered HTTP {status}"
    if status == 429:
        return NotifyError(
            "rate_limited", msg, retryable=True, retry_after=parse_retry_after(retry_after)
        )
    if status == 408:
        return NotifyError("timeout", msg, retryable=True)
    if status in (401, 403):
        return NotifyError("auth", msg, retryable=False)
    if status in (404, 410):
        return NotifyError("bad_config", msg + " (URL revoked or wrong?)", retryable=False)
    if 400 <= status < 500:
        return NotifyError("http_4xx", msg, retryable=False)
    return NotifyError("http_5xx", msg, retryable=True, retry_after=parse_retry_after(retry_after))


def title(payload: Mapping[str, Any]) -> str:
    status = "RESOLVED" if payload["status"] == "resolved" else str(payload["severity"]).upper()
    test = "[TEST] " if payload.get("test") else ""
    return f"{test}[{status}] {payload['summary']}"


def plain_body(payload: Mapping[str, Any]) -> str:
    lines = [title(payload), ""]
    if payload.get("description"):
        lines += [payload["description"], ""]
    labels = payload.get("labels") or {}
    lines += [f"{k}: {v}" for k, v in sorted(labels.items())]
    if payload.get("grafana_url"):
        lines += ["", f"Dashboard: {payload['grafana_url']}"]
    return "\n".join(lines) + "\n"


def build_notifier(channel: Any) -> Notifier:
    """From a channel config model (``hashwatch.config.alerts``) to its notifier."""
    if channel.type == "slack":
        from .slack import SlackNotifier

        return SlackNotifier(channel)
    if channel.type == "email":
        from .email import EmailNotifier

        return EmailNotifier(channel)
    if channel.type == "webhook":
        from .webhook import WebhookNotifier

        return WebhookNotifier(channel)
    if channel.type == "alertmanager":
        from .alertmanager import AlertmanagerNotifier

        return AlertmanagerNotifier(channel)
    from .log import LogNotifier

    return LogNotifier(channel.name)
