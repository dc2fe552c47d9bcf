"""E-mail via smtplib: STARTTLS, implicit TLS or plain; optional AUTH; plain and HTML parts.

Why a stable Message-ID derived from the idempotency key: if a crash makes the outbox send the
same notification twice, mail clients and list servers can recognise the duplicate.

Why a watchdog: smtplib's timeout bounds each socket operation, so a server answering a byte
per second could hold the channel for hours. ``timeout_seconds`` is the whole conversation's
deadline: past it the socket is shut down and the attempt fails as ``timeout``.
"""

from __future__ import annotations

import hashlib
import html
import smtplib
import socket
import ssl
import threading
from collections.abc import Mapping
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from ...config.alerts import EmailChannel
from . import NotifyError, plain_body, title
from ._http import transport_error

# Long subjects folded right after "Subject:" come back with a leading space in some readers.
_POLICY = email_policy.SMTP.clone(max_line_length=998)


def build_message(cfg: EmailChannel, payload: Mapping[str, Any], idem_key: str) -> EmailMessage:
    msg = EmailMessage(policy=_POLICY)
    msg["Subject"] = f"{cfg.subject_prefix} {title(payload)}".strip()
    msg["From"] = cfg.from_address
    msg["To"] = ", ".join(cfg.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{hashlib.sha256(idem_key.encode()).hexdigest()[:32]}@hashwatch>"
    msg["X-Hashwatch-Idempotency-Key"] = idem_key
    msg.set_content(plain_body(payload))
    labels = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in sorted((payload.get("labels") or {}).items())
    )
    link = ""
    if payload.get("grafana_url"):
        link = f'<p><a href="{html.escape(payload["grafana_url"])}">Open dashboard</a></p>'
    msg.add_alternative(
        f"<html><body><h3>{html.escape(title(payload))}</h3>"
        f"<p>{html.escape(payload.get('description') or '')}</p>"
        f"<table>{labels}</table>{link}</body></html>",
        subtype="html",
    )
    return msg


def _smtp_error(exc: smtplib.SMTPException, where: str) -> NotifyError:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return NotifyError(
            "auth", f"{where}: authentication failed ({exc.smtp_code})", retryable=False
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return NotifyError("bad_config", f"{where}: server does not support {exc}", retryable=False)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        temporary = all(400 <= c < 500 for c in codes)
        return NotifyError(
            "smtp_4xx" if temporary else "smtp_5xx",
            f"{where}: recipients refused ({sorted(set(codes))})",
            retryable=temporary,
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        temporary = 400 <= exc.smtp_code < 500
        return NotifyError(
            "smtp_4xx" if temporary else "smtp_5xx",
            f"{where}: server answered {exc.smtp_code}",
            retryable=temporary,
        )
    return NotifyError("connection", f"{where}: {type(exc).__name__}", retryable=True)


class EmailNotifier:
    type = "email"

    def __init__(self, cfg: EmailChannel):
        self.name = cfg.name
        self.cfg = cfg
        self._where = f"email channel {cfg.name!r} ({cfg.host}:{cfg.effective_port})"

    def _tls(self) -> ssl.SSLContext:
        ca = str(self.cfg.ca_file) if self.cfg.ca_file else None
        return ssl.create_default_context(cafile=ca)

    def send(self, payload: Mapping[str, Any], idem_key: str) -> None:
        cfg = self.cfg
        msg = build_message(cfg, payload, idem_key)
        if cfg.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(timeout=cfg.timeout_seconds, context=self._tls())
        else:
            smtp = smtplib.SMTP(timeout=cfg.timeout_seconds)
        smtp._host = cfg.host  # type: ignore[attr-defined]  # TLS server name; connect() skips it
        expired = threading.Event()

        def abort() -> None:
            expired.set()
            sock = getattr(smtp, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(cfg.timeout_seconds, abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            self._converse(smtp, msg)
        except NotifyError as exc:
            if expired.is_set():
                raise NotifyError("timeout", f"{self._where}: no complete exchange within "
                                  f"{cfg.timeout_seconds:g} s", retryable=True) from None
            raise exc from None
        finally:
            watchdog.cancel()
            smtp.close()

    def _converse(self, smtp: smtplib.SMTP, msg: EmailMessage) -> None:
        cfg = self.cfg
        try:
            smtp.connect(cfg.host, cfg.effective_port)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=self._tls())
                if cfg.username and cfg.password:
                    smtp.login(cfg.username, cfg.password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            raise NotifyError(
                "connection", f"{self._where}: server disconnected", retryable=True
            ) from None
        except smtplib.SMTPException as exc:
            raise _smtp_error(exc, self._where) from None
        except (TimeoutError, OSError) as exc:
            raise transport_error(exc, self._where) from None
