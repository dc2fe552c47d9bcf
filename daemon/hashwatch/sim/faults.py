"""SimNode's behaviour switches: the ways a test makes the node misbehave on purpose.

Why a mixin of their own: warm-up (-28), hanging requests, injected HTTP faults, initial block
download and the hashrate factor are what reliability tests and scenarios flip; they only set
flags that the RPC server and the mining schedule read, so they change for different reasons
than the node's lifecycle or its chain. :class:`~.node.SimNode` is the only user.
"""

from __future__ import annotations

import collections.abc
import threading
import time
from typing import Any

from .rpc_methods import RPC_METHOD_NOT_FOUND, RPCError
from .server import FAULTS

WARMUP_MESSAGES = ("Loading block index…", "Verifying blocks…", "Loading P2P addresses…",
                   "Loading banlist…", "Starting network threads…")


class FaultSwitches:
    """Setters for warm-up, hangs, faults, IBD and hashrate; state lives on the node."""

    # set by SimNode.__init__ (or, for _warmup_started, by set_warmup)
    ibd_headers_ahead: int
    hang_released: threading.Event
    fault: str | None
    hashrate_factor: float
    trickle_seconds: float
    oversize_bytes: int
    rpc_idle_timeout: float | None
    zmq: Any
    _warmup_until: float | None
    _warmup_message: str | None
    _warmup_started: float

    def set_initial_block_download(self, headers_ahead: int | bool) -> None:
        """Report initial block download with ``headers_ahead`` unvalidated headers (False: off).

        Only what the node reports changes (getblockchaininfo), like a node catching up.
        """
        self.ibd_headers_ahead = 0 if headers_ahead is False else int(headers_ahead)

    def set_warmup(self, seconds: float | bool, message: str | None = None) -> None:
        """-28 for `seconds` (True: until set_warmup(False)); message rotates if not given."""
        if seconds is False or seconds == 0:
            self._warmup_until = None
        elif seconds is True:
            self._warmup_until = float("inf")
        else:
            self._warmup_until = time.monotonic() + float(seconds)
        self._warmup_message = message
        self._warmup_started = time.monotonic()

    def warmup_message(self) -> str | None:
        until = self._warmup_until
        if until is None or time.monotonic() >= until:
            return None
        if self._warmup_message:
            return self._warmup_message
        step = int((time.monotonic() - self._warmup_started) / 0.5)
        return WARMUP_MESSAGES[min(step, len(WARMUP_MESSAGES) - 1)]

    def set_hang(self, hang: bool) -> None:
        if hang:
            self.hang_released.clear()
        else:
            self.hang_released.set()

    def inject_fault(self, kind: str | None, *, trickle_seconds: float | None = None,
                     oversize_bytes: int | None = None) -> None:
        """Make every answer misbehave (None: stop). ``trickle``: one byte per
        ``trickle_seconds``; ``oversized``/``oversized_chunked``: an answer of ``oversize_bytes``
        (streamed, with or without Content-Length)."""
        if kind is not None and kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {FAULTS}")
        if trickle_seconds is not None:
            self.trickle_seconds = float(trickle_seconds)
        if oversize_bytes is not None:
            self.oversize_bytes = int(oversize_bytes)
        self.fault = kind

    def set_rpc_idle_timeout(self, seconds: float | None) -> None:
        """Like ``-rpcservertimeout``: close keep-alive connections idle this long (new ones)."""
        self.rpc_idle_timeout = None if seconds is None else float(seconds)

    def drop_zmq_messages(self, n: int) -> None:
        """Lose the next ``n`` mempool ``sequence`` messages *without* a counter gap.

        Like a publisher restart or a lost queue inside the node: the subscriber sees its
        counters run on, while the node's mempool sequence (in the next A/R and in
        ``getrawmempool``) has moved past what it was told."""
        if self.zmq is None:
            raise ValueError("the node publishes no ZMQ")
        self.zmq.drop_mempool_events(n)

    def set_hashrate_factor(self, factor: float) -> None:
        """Hashrate relative to the one implied by the start difficulty (1.0 = 600 s blocks)."""
        if factor <= 0:
            raise ValueError("hashrate factor must be > 0")
        self.hashrate_factor = float(factor)

    # -- per-method faults -------------------------------------------------------------------

    def hide_methods(self, *methods: str) -> None:
        """Answer these methods with -32601 "Method not found", like a Core build or version
        without them (e.g. no ``getrawtransaction``); no arguments: answer all again."""
        self._method_faults().hidden = set(methods)

    def before_call(self, method: str, hook: collections.abc.Callable[[], None]) -> None:
        """Run ``hook`` once, just before the next ``method`` call is answered: the chain or
        mempool changes *between* two requests of one client operation (a reorg landing
        between a ``getblockhash`` batch and the ``getblockheader`` batch that follows)."""
        self._method_faults().before.setdefault(method, []).append(hook)

    def _method_faults(self) -> MethodFaults:
        stats = self.stats  # type: ignore[attr-defined]
        if not isinstance(stats, MethodFaults):
            stats = MethodFaults(stats)
            self.__dict__["stats"] = stats  # the node's ``stats`` from now on (typed as before)
        return stats


class MethodFaults:
    """The node's request counters, plus the per-method faults that act where they count.

    The RPC server reports each call (``stats.record_call``) before it dispatches it, so this
    wrapper sees the method name at the one point where a hook or a -32601 answer belongs; an
    RPCError raised here is answered like any other. Everything else is the wrapped counters.
    """

    def __init__(self, stats: object) -> None:
        self._stats = stats
        self._lock = threading.Lock()
        self.hidden: set[str] = set()
        self.before: dict[str, list[collections.abc.Callable[[], None]]] = {}

    def record_call(self, method: str) -> None:
        self._stats.record_call(method)  # type: ignore[attr-defined]
        with self._lock:
            hooks = self.before.pop(method, [])
        for hook in hooks:
            hook()
        if method in self.hidden:
            raise RPCError(RPC_METHOD_NOT_FOUND, "Method not found")

    def __getattr__(self, name: str) -> object:
        return getattr(self._stats, name)
