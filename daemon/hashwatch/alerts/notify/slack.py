"""Slack incoming webhooks via slack_sdk's ``WebhookClient``: Block Kit, colour by severity.

Why no SDK retries: the outbox owns retrying (with backoff and Retry-After across restarts), so
the client gets ``retry_handlers=[]``; a second retry layer would multiply attempts. The SDK
logs the full URL at debug level, so it gets its own logger pinned at WARNING.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.webhook import WebhookClient

from ...config.alerts import SlackChannel
from . import RESOLVED_COLOUR, SEVERITY_COLOURS, NotifyError, http_error, redact_url, title
from ._http import transport_error

_sdk_log = logging.getLogger("hashwatch.alerts.notify.slack_sdk")
_sdk_log.setLevel(logging.WARNING)  # the SDK's debug lines contain the webhook URL


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:,.6g}"


def blocks(payload: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, attachments) for one notification."""
    head = title(payload)
    out: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}},
    ]
    if payload.get("description"):
        out.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": payload["description"][:2900]}}
        )
    fields = [
        ("Node", payload.get("node") or "-"),
        ("Severity", payload["severity"]),
        ("Value", _num(payload.get("value"))),
        ("Threshold", _num(payload.get("threshold"))),
    ]
    out.append(
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields],
        }
    )
    labels = payload.get("labels") or {}
    if labels:
        text = "  ".join(f"`{k}={v}`" for k, v in sorted(labels.items()))
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text[:2900]}]})
    if payload.get("grafana_url"):
        out.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open dashboard"},
                        "url": payload["grafana_url"],
                    }
                ],
            }
        )
    colour = (
        RESOLVED_COLOUR
        if payload["status"] == "resolved"
        else SEVERITY_COLOURS.get(payload["severity"], SEVERITY_COLOURS["warning"])
    )
    return head, [{"color": colour, "blocks": out}]


class SlackNotifier:
    type = "slack"

    def __init__(self, cfg: SlackChannel):
        self.name = cfg.name
        url = cfg.webhook_url.get_secret_value()
        self._where = f"slack channel {cfg.name!r} ({redact_url(url)})"
        self._client = WebhookClient(
            url, timeout=int(max(1, cfg.timeout_seconds)), retry_handlers=[], logger=_sdk_log
        )

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None:
        text, attachments = blocks(payload)
        try:
            resp = self._client.send(text=text, attachments=attachments)
        except NotifyError:
            raise
        except Exception as exc:  # noqa: BLE001 - converted here, nowhere else
            raise transport_error(exc, self._where) from None
        err = http_error(
            resp.status_code,
            self._where,
            (resp.headers or {}).get("Retry-After") or (resp.headers or {}).get("retry-after"),
        )
        if err is not None:
            raise err
