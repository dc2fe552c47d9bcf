"""Turn transport exceptions (urllib, sockets, TLS) into :class:`NotifyError`.

Why shared: Slack's SDK and the webhook notifier both sit on urllib, and the mapping of a
refused connection or a timeout to "retry" must be the same everywhere. Messages name only the
redacted URL.
"""

from __future__ import annotations

import socket
import ssl
import urllib.error

from . import NotifyError


def transport_error(exc: BaseException, where: str) -> NotifyError:
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
