"""URL checks shared by config models: a port must be a real TCP port, said without the URL.

Why: ``urlsplit`` checks a port only when asked, and accepts 0; an out-of-range port used to
pass ``check-config`` and fail only when the daemon first connected. Messages never repeat the
URL (webhook URLs are secrets).
"""

from __future__ import annotations

from urllib.parse import urlsplit

PORT_PROBLEM = "the port in the URL is not a number from 1 to 65535"


def check_url_port(url: str) -> None:
    """Raise ValueError when ``url`` names a port outside 1..65535 (absent is fine)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        raise ValueError(PORT_PROBLEM) from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(PORT_PROBLEM)


def check_endpoint_port(endpoint: str) -> None:
    """``tcp://host:port`` (ZMQ): the port must be 1..65535."""
    if not endpoint.startswith("tcp://"):
        return
    _, sep, port = endpoint[len("tcp://"):].rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected a ZMQ endpoint like tcp://127.0.0.1:28332 (port 1-65535)")
