"""The node layer's one error family: every failure talking to Bitcoin Core becomes one of these.

Why: callers (collectors, the CLI) decide what to do by kind, never by parsing library messages.
``kind`` is a small fixed set so it can be a metric label. Messages never contain credentials.
"""

from __future__ import annotations


class NodeError(Exception):
    """Base class. ``kind`` is one of: unavailable, timeout, auth, warmup, rpc, protocol."""

    kind = "error"
    retryable = True

    def __init__(self, message: str, *, node: str = "", code: int | None = None):
        super().__init__(message)
        self.message = message
        self.node = node
        self.code = code

    def __str__(self) -> str:
        prefix = f"node {self.node!r}: " if self.node else ""
        code = f" (code {self.code})" if self.code is not None else ""
        return f"{prefix}{self.message}{code}"


class NodeUnavailable(NodeError):
    """Connection refused, reset, DNS failure, or the cookie file missing (node not running)."""

    kind = "unavailable"


class NodeTimeout(NodeError):
    """No answer within the per-call timeout (a hung or overloaded node)."""

    kind = "timeout"


class NodeAuthError(NodeError):
    """HTTP 401: wrong user/password or a stale cookie even after re-reading it."""

    kind = "auth"
    retryable = False


class NodeWarmingUp(NodeError):
    """RPC error -28: the node is starting (loading block index, verifying blocks...)."""

    kind = "warmup"


class NodeProtocolError(NodeError):
    """The answer was not valid JSON-RPC (malformed, truncated, non-JSON HTTP error)."""

    kind = "protocol"


class RPCError(NodeError):
    """A JSON-RPC error object from Core, carrying Core's code (e.g. -5, -8, -32601)."""

    kind = "rpc"
    retryable = False


ERROR_KINDS = ("unavailable", "timeout", "auth", "warmup", "rpc", "protocol")

# Core's RPC error codes we act on (src/rpc/protocol.h).
RPC_IN_WARMUP = -28
RPC_METHOD_NOT_FOUND = -32601
RPC_INVALID_PARAMETER = -8
RPC_INVALID_ADDRESS_OR_KEY = -5
