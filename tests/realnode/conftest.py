"""Fixtures for the real-node half: one body, two backends (simulator and a real bitcoind).

``backend`` is module-scoped and parametrized ``sim`` / ``real``; the ``real`` case carries the
``realnode`` mark and is skipped (visibly, with the reason) when no bitcoind is found
(``BITCOIND=/path/to/bitcoind``, else ``bitcoind`` on PATH). ``fresh_backend`` is the same per
test, for tests that stop, restart or reorg the node.

Idle timeout: a module that sets ``SHORT_IDLE = True`` gets real nodes with
``-rpcservertimeout=3`` (idle keep-alive connections closed within seconds, the subject of
test_node_status); the others keep Core's default (30 s) so that a failure there points at
the collector under test, not at idle-connection handling.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hashwatch.sim import SimNode

from ..conftest import bitcoind_binary
from ..harness.bitcoind import BitcoindNode
from .helpers import RPC_IDLE_TIMEOUT, SimBackend

SEED_TIP_TIME = 1764180567

BACKENDS = [pytest.param("sim", id="sim"),
            pytest.param("real", id="real", marks=pytest.mark.realnode)]


def start_backend(kind: str, short_idle: bool = False) -> Any:
    if kind == "sim":
        # wall-clock start time: real nodes' blocks are "now" too (no_new_block, ages)
        import time

        sim = SimNode(network="regtest", start_height=101, zmq=True,
                      start_time=int(time.time())).start()
        return SimBackend(sim)
    binary = bitcoind_binary()
    if not binary:
        pytest.skip("real node: no bitcoind (set BITCOIND=/path/to/bitcoind)")
    extra = (f"-rpcservertimeout={RPC_IDLE_TIMEOUT}",) if short_idle else ()
    node = BitcoindNode(binary, extra_args=extra)
    try:
        node.start()
    except BaseException:
        node.stop()
        raise
    return node


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    b = start_backend(request.param, getattr(request.module, "SHORT_IDLE", False))
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(params=BACKENDS)
def fresh_backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    b = start_backend(request.param, getattr(request.module, "SHORT_IDLE", False))
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def real_node() -> Iterator[BitcoindNode]:
    """A real node only (for what the simulator does not model: wallet RBF, bitcoin-cli)."""
    node = start_backend("real")
    try:
        yield node
    finally:
        node.stop()
