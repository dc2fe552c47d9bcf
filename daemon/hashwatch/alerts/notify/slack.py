"""Slack incoming webhooks: Block Kit, colour by severity, sent through the bounded client.

Why not slack_sdk's ``WebhookClient`` for sending: it sits on ``urllib.request.urlopen``, which
follows redirects (a POST answered with 301/302/303 becomes a GET, possibly to another origin,
and its 200 looked like a delivery), bounds each socket read rather than the call, and reads
the answer whatever its size; none of that can be switched off through its options. So the
message is sent with :func:`._http.post` (no redirects, one total deadline, capped answer),
and slack_sdk is kept for what it is good at: its Block Kit models validate the blocks
(lengths, field counts) before anything leaves. Retrying is the outbox's job only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from ...config.alerts import SlackChannel
from . import RESOLVED_COLOUR, SEVERITY_COLOURS, redact_url, title
from ._http import post

log = logging.getLogger("hashwatch.alerts.notify.slack")


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


def validated(attachments: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The attachments after slack_sdk's Block Kit checks, or None if Slack would refuse them."""
    try:
        for att in attachments:
            for block in att["blocks"]:
                parsed = Block.parse(block)
                if parsed is None:
                    return None
                parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError):
        return None
    return attachments


class SlackNotifier:
    type = "slack"

    def __init__(self, cfg: SlackChannel):
        self.name = cfg.name
        self._url = cfg.webhook_url.get_secret_value()
        self._timeout = cfg.timeout_seconds
        self._where = f"slack channel {cfg.name!r} ({redact_url(self._url)})"

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None:
        text, attachments = blocks(payload)
        message: dict[str, Any] = {"text": text}
        checked = validated(attachments)
        if checked is not None:
            message["attachments"] = checked
        else:  # a plain-text alert beats an alert Slack refuses
            log.warning("event=slack_blocks_invalid channel=%s key=%s fallback=text",
                        self.name, idem_key)
        body = json.dumps(message).encode()
        headers = {
            "Content-Type": "application/json;charset=utf-8",
            "User-Agent": "hashwatch-alerts",
        }
        post(self._url, body, headers, timeout=self._timeout, where=self._where)
