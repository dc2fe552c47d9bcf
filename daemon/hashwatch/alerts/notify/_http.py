"""HTTP for notifiers: :func:`post` through the bounded client, and transport errors as
:class:`NotifyError`.

Why shared: every HTTP channel (Slack, webhook, Alertmanager) must get the same guarantees
from :mod:`hashwatch.outbound` (no redirects, one total deadline, a capped answer) and the same
mapping of a refused connection, a timeout or a redirect to "retry" or "hold". Messages name
only the redacted URL given as ``where``.
"""

from __future__ import annotations

import socket
import ssl
import urllib.error
from collections.abc import Mapping

from ... import outbound
from . import NotifyError, http_error

# A receiver's answer is a status line and a short body ("ok"); anything longer is not read.
MAX_ANSWER_BYTES = 64 * 1024


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    where: str,
    context: ssl.SSLContext | None = None,
) -> None:
    """POST ``body``; return when the receiver accepted it (2xx), else raise NotifyError.

    ``timeout`` bounds the whole exchange. A 3xx is never followed: it is held as
    ``redirect`` (the operator fixes the URL), naming the Location's origin only.
    """
    try:
        resp = outbound.request(
            "POST", url, timeout=timeout, headers=headers, body=body,
            max_body=MAX_ANSWER_BYTES, context=context,
        )
    except outbound.OutboundError as exc:
        if exc.kind == "too_large" and exc.status is not None:
            # the status line is the receiver's verdict; an oversized body does not change it
            err = http_error(exc.status, where)
            if err is not None:
                raise err from None
            return
        raise outbound_error(exc, where) from None
    err = http_error(resp.status, where, resp.header("Retry-After"))
    if err is not None:
        raise err


def outbound_error(exc: outbound.OutboundError, where: str) -> NotifyError:
    """Map a bounded-client failure to the delivery worker's retry/hold decision."""
    msg = f"{where}: {exc}"
    if exc.kind == "timeout":
        return NotifyError("timeout", msg, retryable=True)
    if exc.kind == "redirect":
        return NotifyError("redirect", msg, retryable=False)
    if exc.kind in ("tls_verify", "bad_url"):
        return NotifyError("bad_config", msg, retryable=False)
    if exc.kind in ("bad_http", "too_large"):
        return NotifyError("bad_response", msg, retryable=True)
    return NotifyError("connection", msg, retryable=True)


def transport_error(exc: BaseException, where: str) -> NotifyError:
    """For non-HTTP channels (SMTP): socket and TLS exceptions as NotifyError."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return NotifyError("timeout", f"{where}: timed out", retryable=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return NotifyError("bad_config", f"{where}: TLS certificate not trusted", retryable=False)
    if isinstance(exc, (OSError, ssl.SSLError)):
        name = type(exc).__name__
        return NotifyError("connection", f"{where}: connection failed ({name})", retryable=True)
    return NotifyError("connection", f"{where}: {type(exc).__name__}", retryable=True)
