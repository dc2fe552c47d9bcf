"""aiosmtpd servers on loopback: plain with AUTH, STARTTLS (required), and implicit TLS.

Why a real SMTP server: the e-mail notifier's TLS handshake, certificate check and AUTH
exchange are what fail in the field; only a real server exercises them.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from .ports import free_port
from .tls import TLSFiles

USER = "miner"
PASSWORD = "hunter2"


class Sink:
    """Keeps every message the server accepted (aiosmtpd envelopes)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"

    def texts(self) -> list[str]:
        return [e.content.decode(errors="replace") for e in self.messages]


def authenticator(user: str = USER, password: str = PASSWORD):
    """An aiosmtpd authenticator accepting exactly ``user``/``password``."""

    def check(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check


def server_context(tls: TLSFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls.server_cert), str(tls.server_key))
    return ctx


def smtp_server(security: str = "none", *, tls: TLSFiles | None = None, port: int | None = None,
                user: str = USER, password: str = PASSWORD) -> tuple[Controller, Sink]:
    """A started aiosmtpd server requiring AUTH; stop it with ``controller.stop()``.

    ``security``: "none" (AUTH in the clear), "starttls" (STARTTLS required before AUTH) or
    "ssl" (implicit TLS from the first byte; aiosmtpd does not count it as TLS for AUTH).
    """
    sink = Sink()
    kwargs: dict[str, Any] = {"authenticator": authenticator(user, password),
                              "auth_required": True, "auth_require_tls": security == "starttls"}
    if security == "starttls":
        assert tls is not None
        kwargs.update(tls_context=server_context(tls), require_starttls=True)
    elif security == "ssl":
        assert tls is not None
        kwargs.update(ssl_context=server_context(tls))
    ctl = Controller(sink, hostname="127.0.0.1", port=port or free_port(), **kwargs)
    ctl.start()
    return ctl, sink
