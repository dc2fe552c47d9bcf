"""Shared helpers for the real-node half: the simulator backend, daemon runs, comparisons.

Both backends expose the same small interface (``kind``, ``rpc``, ``batch``, ``mine``,
``pay_many``, ``fan_out``, ``shutdown``/``start``, ``rpc_url``, ``cookie_path``, ``zmq_url``),
so a test body runs unchanged against ``hashwatch.sim`` and a real bitcoind.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from hashwatch.config import Config
from hashwatch.daemon import Daemon
from hashwatch.indicators.mempool_model import MempoolModel

from ..support.backends import SimBackend
from ..support.scrape import Samples, scrape, scrape_text, value
from ..support.waiting import wait_for

__all__ = ["Samples", "SimBackend", "scrape", "scrape_text", "value", "wait_for"]

RPC_IDLE_TIMEOUT = 3  # -rpcservertimeout for real nodes: idle keep-alives close after 3 s
NODE = "n1"


def node_config(backend: Any, state_dir: Path, zmq: bool = True, timeout: float = 2.0,
                extra: dict[str, Any] | None = None, **polling: float) -> Config:
    """A one-node config on ``backend`` with fast polling (override any interval)."""
    node: dict[str, Any] = {"name": NODE, "url": backend.rpc_url, "network": "regtest",
                            "cookie_file": str(backend.cookie_path), "timeout_seconds": timeout}
    if zmq:
        node["zmq_sequence"] = node["zmq_hashblock"] = backend.zmq_url
    return Config.model_validate({
        "nodes": [node],
        "polling": {"chain_seconds": 0.3, "jitter_seconds": 0, "headers_seconds": 0.5,
                    "blocks_seconds": 0.5, "mempool_seconds": 0.5, **polling},
        "metrics": {"port": 0},
        "state_dir": str(state_dir),
        **(extra or {}),
    })


@contextmanager
def running_daemon(backend: Any, state_dir: Path, zmq: bool = True, alerts: bool = False,
                   job_modules: tuple[str, ...] | None = None, timeout: float = 2.0,
                   extra: dict[str, Any] | None = None, **polling: float) -> Iterator[Daemon]:
    """An in-process daemon on ``backend``, stopped on exit; waits until the node is up."""
    cfg = node_config(backend, state_dir, zmq=zmq, timeout=timeout, extra=extra, **polling)
    kwargs: dict[str, Any] = {"alerts": alerts}
    if job_modules is not None:
        kwargs["job_modules"] = job_modules
    daemon = Daemon(cfg, **kwargs)
    daemon.start()
    try:
        wait_for(lambda: metric(daemon, "hashwatch_node_up") == 1, 30, "node_up 1")
        yield daemon
    finally:
        daemon.stop()


def metric(daemon: Daemon, name: str, **labels: str) -> float | None:
    labels.setdefault("node", NODE)
    return value(scrape(daemon.server.port), name, **labels)


def sat(btc: Any) -> int:
    """BTC (Decimal/str/float as Core or the simulator returns it) -> satoshis, exactly."""
    return int((Decimal(str(btc)) * 100_000_000).to_integral_value())


def ulps_apart(a: float, b: float) -> int:
    """How many representable doubles lie between a and b (0 = equal)."""
    if a == b:
        return 0
    return abs(int.from_bytes(_pack(a), "big", signed=True)
               - int.from_bytes(_pack(b), "big", signed=True))


def _pack(x: float) -> bytes:
    import struct

    return struct.pack(">d", x)


def node_mempool(backend: Any) -> dict:
    """Core's own view, in the model's normalized form (the reference for every sync test)."""
    return MempoolModel.from_verbose(backend.rpc("getrawmempool", True)).normalized()


def rates(n: int, seed: int = 1, low: float = 1.0, high: float = 120.0) -> list[float]:
    """``n`` fee rates spread log-uniformly over [low, high] sat/vB (two decimals)."""
    rng = random.Random(seed)
    return [round(math.exp(rng.uniform(math.log(low), math.log(high))), 2) for _ in range(n)]
