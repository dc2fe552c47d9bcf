"""Each notifier against a real local server: Slack and webhook over HTTP, e-mail via aiosmtpd."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as email_policy

import pytest

from hashwatch.alerts.notify import NotifyError, http_error, parse_retry_after, redact_url
from hashwatch.alerts.notify.email import EmailNotifier
from hashwatch.alerts.notify.slack import SlackNotifier
from hashwatch.alerts.notify.webhook import WebhookNotifier
from hashwatch.config.alerts import EmailChannel, SlackChannel, WebhookChannel

from ..support.ports import free_port
from ..support.smtp import smtp_server

SECRET_PATH = "/services/T000/B000/s3cr3tT0ken"
PAYLOAD = {
    "status": "firing",
    "transition": "firing",
    "rule": "fee_spike",
    "node": "n1",
    "severity": "critical",
    "labels": {"alertname": "fee_spike", "severity": "critical", "node": "n1"},
    "summary": "Fee spike: 64.0 sat/vB",
    "description": "4.0x the 24h baseline of 16.0 sat/vB",
    "value": 64.0,
    "observed": 4.0,
    "reference": 16.0,
    "threshold": 3.0,
    "starts_at": 1_764_200_000.0,
    "ends_at": None,
    "fingerprint": "abc",
    "instance": 1,
    "grafana_url": "http://grafana.local/d/hashwatch",
}


def slack(url: str) -> SlackNotifier:
    return SlackNotifier(SlackChannel(name="ops", type="slack", webhook_url=url + SECRET_PATH))


def test_slack_send_posts_block_kit_with_severity_colour_and_link(http_server):
    slack(http_server.url).send(PAYLOAD, "k1")
    (req,) = http_server.accepted
    assert req.path == SECRET_PATH
    body = req.json()
    assert body["text"] == "[CRITICAL] Fee spike: 64.0 sat/vB"
    (att,) = body["attachments"]
    assert att["color"] == "#d32f2f"
    kinds = [b["type"] for b in att["blocks"]]
    assert kinds == ["header", "section", "section", "context", "actions"]
    fields = [f["text"] for f in att["blocks"][2]["fields"]]
    assert fields == ["*Node*\nn1", "*Severity*\ncritical", "*Value*\n64", "*Threshold*\n3"]
    assert att["blocks"][4]["elements"][0]["url"] == "http://grafana.local/d/hashwatch"


def test_slack_send_resolved_is_green(http_server):
    slack(http_server.url).send({**PAYLOAD, "status": "resolved"}, "k1")
    body = http_server.accepted[0].json()
    assert body["text"].startswith("[RESOLVED]") and body["attachments"][0]["color"] == "#2e7d32"


def test_slack_send_429_raises_rate_limited_with_retry_after(http_server):
    http_server.responses.append((429, {"Retry-After": "30"}, b"rate_limited"))
    with pytest.raises(NotifyError) as exc:
        slack(http_server.url).send(PAYLOAD, "k1")
    assert (exc.value.reason, exc.value.retryable, exc.value.retry_after) == (
        "rate_limited",
        True,
        30,
    )


def test_slack_send_500_retryable_and_url_redacted(http_server):
    http_server.responses.append((500, {}, b"oops"))
    with pytest.raises(NotifyError) as exc:
        slack(http_server.url).send(PAYLOAD, "k1")
    assert exc.value.reason == "http_5xx" and exc.value.retryable
    assert "s3cr3t" not in str(exc.value) and "/***" in str(exc.value)


def test_slack_send_connection_refused_is_retryable_connection():
    port = free_port()  # nothing listens on it
    with pytest.raises(NotifyError) as exc:
        slack(f"http://127.0.0.1:{port}").send(PAYLOAD, "k1")
    assert exc.value.reason == "connection" and exc.value.retryable
    assert "s3cr3t" not in str(exc.value)


def test_webhook_send_posts_alertmanager_v4_json_with_idempotency_key(http_server):
    cfg = WebhookChannel(
        name="am", type="webhook", url=http_server.url + "/hook?token=zzz", bearer_token="tok"
    )
    WebhookNotifier(cfg).send(
        {**PAYLOAD, "status": "resolved", "ends_at": 1_764_203_600.0}, "fp/1/resolved/am"
    )
    (req,) = http_server.accepted
    assert req.headers["idempotency-key"] == "fp/1/resolved/am"
    assert req.headers["authorization"] == "Bearer tok"
    body = req.json()
    assert body["version"] == "4" and body["status"] == "resolved" and body["receiver"] == "am"
    (alert,) = body["alerts"]
    assert alert["labels"] == PAYLOAD["labels"]
    assert alert["annotations"]["summary"] == "Fee spike: 64.0 sat/vB"
    assert alert["annotations"]["value"] == "64"
    assert alert["startsAt"] == "2025-11-26T23:33:20Z" and alert["endsAt"] == "2025-11-27T00:33:20Z"


@pytest.mark.parametrize(
    "status,reason,retryable",
    [
        (200, None, None),
        (204, None, None),
        (400, "http_4xx", False),
        (401, "auth", False),
        (403, "auth", False),
        (404, "bad_config", False),
        (408, "timeout", True),
        (410, "bad_config", False),
        (429, "rate_limited", True),
        (500, "http_5xx", True),
        (502, "http_5xx", True),
        (503, "http_5xx", True),
    ],
)
def test_http_error_status_table_retry_or_not(status, reason, retryable):
    err = http_error(status, "x")
    assert (err.reason if err else None, err.retryable if err else None) == (reason, retryable)


def test_parse_retry_after_seconds_and_http_date():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 26 Nov 2025 23:35:00 GMT", now=1_764_200_000.0) == 100
    assert parse_retry_after("soon") is None


def test_redact_url_keeps_host_only():
    assert (
        redact_url("https://hooks.slack.com/services/T/B/secret") == "https://hooks.slack.com/***"
    )


# --- e-mail -----------------------------------------------------------------------------------
def email_cfg(port: int, cert, **kw) -> EmailChannel:
    base = {
        "name": "mail",
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls",
        "username": "miner",
        "password": "hunter2",
        "from_address": "hashwatch@example.org",
        "to": ["ops@example.org"],
        "ca_file": str(cert),
    }
    return EmailChannel.model_validate({**base, **kw})


def test_email_send_starttls_auth_plain_and_html_parts(smtp_starttls, tls_files):
    ctl, sink = smtp_starttls
    EmailNotifier(email_cfg(ctl.port, tls_files.ca_cert)).send(PAYLOAD, "fp/1/firing/mail")
    (env,) = sink.messages
    assert env.rcpt_tos == ["ops@example.org"]
    msg = message_from_bytes(env.content, policy=email_policy)
    assert msg["Subject"] == "[hashwatch] [CRITICAL] Fee spike: 64.0 sat/vB"
    assert msg["X-Hashwatch-Idempotency-Key"] == "fp/1/firing/mail"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "4.0x the 24h baseline of 16.0 sat/vB" in plain and "node: n1" in plain
    assert "<h3>[CRITICAL] Fee spike: 64.0 sat/vB</h3>" in html


def test_email_send_wrong_password_is_auth_not_retryable(smtp_starttls, tls_files):
    ctl, _ = smtp_starttls
    with pytest.raises(NotifyError) as exc:
        EmailNotifier(email_cfg(ctl.port, tls_files.ca_cert, password="wrong")).send(PAYLOAD, "k")
    assert exc.value.reason == "auth" and not exc.value.retryable
    assert "wrong" not in str(exc.value)


def test_email_send_untrusted_certificate_is_bad_config(smtp_starttls):
    ctl, _ = smtp_starttls
    cfg = email_cfg(ctl.port, "x").model_copy(update={"ca_file": None})
    with pytest.raises(NotifyError) as exc:
        EmailNotifier(cfg).send(PAYLOAD, "k")
    assert exc.value.reason == "bad_config" and not exc.value.retryable


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_send_implicit_ssl(tls_files):
    ctl, sink = smtp_server("ssl", tls=tls_files)  # implicit TLS, AUTH inside it
    try:
        EmailNotifier(email_cfg(ctl.port, tls_files.ca_cert, security="ssl")).send(PAYLOAD, "k")
    finally:
        ctl.stop()
    assert len(sink.messages) == 1


def test_email_send_server_down_is_retryable_connection(tls_files):
    with pytest.raises(NotifyError) as exc:
        EmailNotifier(email_cfg(free_port(), tls_files.ca_cert)).send(PAYLOAD, "k")
    assert exc.value.reason == "connection" and exc.value.retryable
