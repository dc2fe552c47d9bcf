"""Shared fixtures: simulated nodes (hashwatch.sim) and an optional real bitcoind.

- sim_node: a started mainnet-like SimNode at height 925,000 (fixed start time, seed 1).
- sim_factory: call with SimNode kwargs to get more started nodes; all stopped at teardown.
- rpc_backend: parametrized "sim" / "real"; the real case is marked ``realnode`` and needs a
  bitcoind (BITCOIND=/path/to/bitcoind, else ``bitcoind`` on PATH), skipped with a reason without.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hashwatch.sim import SimNode

from .support.backends import SimBackend

SEED_TIP_TIME = 1764180567  # real time of mainnet block 925,300


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., SimNode]]:
    nodes: list[SimNode] = []

    def make(**kwargs: Any) -> SimNode:
        kwargs.setdefault("start_time", SEED_TIP_TIME)
        node = SimNode(**kwargs).start()
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.stop()


@pytest.fixture
def sim_node(sim_factory: Callable[..., SimNode]) -> SimNode:
    return sim_factory(network="main", start_height=925_000, seed=1)


def bitcoind_binary() -> str | None:
    """The bitcoind the real-node half runs against (.ci/run uses the same lookup)."""
    return os.environ.get("BITCOIND") or shutil.which("bitcoind")


@pytest.fixture(params=["sim", pytest.param("real", marks=pytest.mark.realnode)])
def rpc_backend(request: pytest.FixtureRequest,
                sim_factory: Callable[..., SimNode]) -> Iterator[Any]:
    if request.param == "sim":
        yield SimBackend(sim_factory(network="regtest", start_height=101))
        return
    binary = bitcoind_binary()
    if not binary:
        pytest.skip("real node: no bitcoind (set BITCOIND=/path/to/bitcoind)")
    from .harness.bitcoind import BitcoindNode

    node = BitcoindNode(binary)
    try:
        node.start()
        yield node
    finally:
        node.stop()
