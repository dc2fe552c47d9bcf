"""Alertmanager API v2: hashwatch as an alert *generator*, the way Prometheus is one.

Why Alertmanager and not our own cluster: operators with many sites already run it. Every alert
goes to every Alertmanager of the list (the members of one HA cluster: gossip shares silences
and the notification log, not alerts), firing alerts are re-sent every ``resend_delay`` with
``endsAt`` = now + ``resend_delay`` x ``ends_at_resends`` so Alertmanager resolves them by
itself if this daemon dies, and N daemons that send the same label set produce ONE alert there.

Delivery semantics: the outbox row is delivered when at least one Alertmanager accepted it (as
Prometheus counts it); a member that was down gets the alert again with the next re-send. A
re-send the service no longer wants (the alert resolved meanwhile, or a newer re-send exists) is
skipped, so a retried re-send can never re-open a resolved alert. All HTTP goes through
:func:`post_json` (one place: no redirects, capped body, bounded time).
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ...config.alerts import AlertmanagerChannel, TLSOptions
from . import NotifyError, http_error
from ._http import transport_error

log = logging.getLogger("hashwatch.alerts.notify.alertmanager")
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "hashwatch-alerts"


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def ssl_context(tls: TLSOptions) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file and tls.key_file:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file))
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class _HTTPS(http.client.HTTPSConnection):
    """HTTPS with Prometheus' ``server_name``: verify the certificate against that name."""

    def __init__(self, host: str, port: int | None, *, server_name: str | None, **kw: Any):
        super().__init__(host, port, **kw)
        self._server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self._server_name or self.host
        )


def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    tls: ssl.SSLContext | None = None,
    server_name: str | None = None,
) -> tuple[int, str | None]:
    """POST and return (status, Retry-After). Never follows redirects (http.client does not);
    reads at most MAX_RESPONSE_BYTES; ``timeout`` bounds connect and every read."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = _HTTPS(
            parts.hostname or "", parts.port, server_name=server_name, timeout=timeout, context=tls
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers=dict(headers))
        resp = conn.getresponse()
        resp.read(MAX_RESPONSE_BYTES)
        return resp.status, resp.getheader("Retry-After")
    finally:
        conn.close()


def am_alert(
    payload: Mapping[str, Any], now: float, hold_for: float, generator_url: str
) -> dict[str, Any]:
    """One outbox payload as a v2 ``postableAlert``."""
    labels = {str(k): str(v) for k, v in (payload.get("labels") or {}).items() if v != ""}
    annotations = {"summary": str(payload.get("summary") or "")}
    if payload.get("description"):
        annotations["description"] = str(payload["description"])
    for key in ("value", "observed", "threshold", "reference"):
        if isinstance(payload.get(key), (int, float)):
            annotations[key] = f"{payload[key]:.10g}"
    if payload.get("grafana_url"):
        annotations["dashboard"] = str(payload["grafana_url"])
    if payload.get("status") == "resolved":
        ends = float(payload.get("ends_at") or now)
    else:
        ends = now + hold_for
    alert: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "endsAt": rfc3339(ends),
        "generatorURL": generator_url,
    }
    if payload.get("starts_at"):
        alert["startsAt"] = rfc3339(float(payload["starts_at"]))
    return alert


class AlertmanagerNotifier:
    type = "alertmanager"

    def __init__(self, cfg: AlertmanagerChannel, *, clock: Callable[[], float] = time.time):
        """``clock`` is wall time: ``endsAt`` is compared with Alertmanager's own clock."""
        self.name = cfg.name
        self.resend_delay = cfg.resend_delay
        self.hold_for = cfg.resend_delay * cfg.ends_at_resends
        self._urls = [u.rstrip("/") + "/api/v2/alerts" for u in cfg.urls]
        self._targets = [urlsplit(u).netloc for u in cfg.urls]  # host:port, for logs and metrics
        self._timeout = cfg.timeout_seconds
        self._tls = ssl_context(cfg.tls) if any(u.startswith("https") for u in cfg.urls) else None
        self._server_name = cfg.tls.server_name
        self._clock = clock
        self._auth: str | None = None
        if cfg.bearer_token is not None:
            self._auth = "Bearer " + cfg.bearer_token.get_secret_value()
        elif cfg.basic_auth is not None:
            import base64

            raw = f"{cfg.basic_auth.username}:{cfg.basic_auth.password.get_secret_value()}"
            self._auth = "Basic " + base64.b64encode(raw.encode()).decode()
        self.generator_url = ""
        # Set by the service: False when a re-send is no longer wanted (resolved, superseded).
        self.wanted: Callable[[Mapping[str, Any]], bool] = lambda payload: True
        self.failures: Counter[tuple[str, str]] = Counter()  # (host:port, reason) -> count

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None:
        if payload.get("transition") == "refresh" and not self.wanted(payload):
            log.debug("event=alertmanager_resend_skipped channel=%s key=%s", self.name, idem_key)
            return
        alert = am_alert(payload, self._clock(), self.hold_for, self.generator_url)
        body = json.dumps([alert]).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self._auth:
            headers["Authorization"] = self._auth
        errors = []
        for url, target in zip(self._urls, self._targets, strict=True):
            err = self._one(url, target, body, headers)
            if err is not None:
                self.failures[(target, err.reason)] += 1
                errors.append(err)
                log.warning(
                    "event=alertmanager_send_failed channel=%s alertmanager=%s reason=%s error=%s",
                    self.name,
                    target,
                    err.reason,
                    err,
                )
        if len(errors) < len(self._urls):
            return  # at least one member has it; the next re-send reaches the others
        retryable = [e for e in errors if e.retryable]
        raise (retryable or errors)[0]

    def _one(
        self, url: str, target: str, body: bytes, headers: Mapping[str, str]
    ) -> NotifyError | None:
        where = f"alertmanager channel {self.name!r} ({target})"
        try:
            status, retry_after = post_json(
                url,
                body,
                headers,
                timeout=self._timeout,
                tls=self._tls,
                server_name=self._server_name,
            )
        except Exception as exc:  # noqa: BLE001 - converted here, nowhere else
            return transport_error(exc, where)
        if 300 <= status < 400:
            return NotifyError(
                "bad_config", f"{where} answered a redirect (HTTP {status}); not followed",
                retryable=False,
            )
        return http_error(status, where, retry_after)
