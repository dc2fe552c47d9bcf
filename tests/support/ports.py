"""Free loopback ports for servers a test starts itself."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port that was free a moment ago (the server binds it right after).

    Also the way to get a port where nothing listens (connection refused), as long as the
    test does not start anything on it.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
