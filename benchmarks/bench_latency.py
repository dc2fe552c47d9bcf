"""P5: time from a new block on the node to updated metrics, with ZMQ and with polling only.

The daemon runs as ``hashwatch run`` (subprocess) against the simulator (another process). For
each sample a block is mined and ``/metrics`` is scraped every 20 ms until
``hashwatch_node_blocks`` shows the new height; the latency is from the mine command to that
scrape (so it includes up to one scrape step). With ZMQ the daemon runs its jobs on the
``hashblock`` message; polling only, the block waits for the next ``chain`` poll, so each block
is mined at a random phase of the poll interval (expected latency about half the interval).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import Row, Sizes, median, wait_for
from .daemonproc import Served, sample_value, start_daemon, wait_ready
from .simproc import SimProcess

SCRAPE_STEP = 0.02


def _height(daemon: Served) -> float | None:
    return sample_value(daemon.scrape()[1], "hashwatch_node_blocks", node="sim")


def _sample(node: Any, daemon: Served, timeout: float) -> float:
    height = node.height()
    wait_for(lambda: _height(daemon) == height, timeout, "the daemon to show the tip")
    t0 = time.perf_counter()
    new = node.mine()
    wait_for(lambda: (_height(daemon) or 0) >= new, timeout, "the new block in /metrics",
             step=SCRAPE_STEP)
    return time.perf_counter() - t0


def measure(node: Any, work: Path, zmq: bool, sizes: Sizes) -> list[float]:
    """Latency samples against ``node`` (the simulator or a real bitcoind: anything with
    ``rpc_url``, ``cookie_path``, ``zmq_url``, ``height()`` and ``mine()``)."""
    interval = sizes.poll_interval
    polling = {"chain_seconds": interval, "jitter_seconds": 0}
    rng = random.Random(5)
    out = []
    name = "latency-zmq" if zmq else "latency-poll"
    with start_daemon(node, work, name, zmq=zmq, polling=polling) as daemon:
        wait_ready(daemon, ("chain", "headers", "mempool"), timeout=300)
        for _ in range(sizes.latency_samples):
            if not zmq:  # a random phase of the poll interval (load model, not synchronisation)
                time.sleep(rng.uniform(0, interval))
            out.append(_sample(node, daemon, timeout=interval * 3 + 60))
    return out


def run(sizes: Sizes, log_dir: Path) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        work = Path(tmp)
        with SimProcess(mempool=sizes.latency_mempool, zmq=True, log_dir=log_dir) as sim:
            zmq = measure(sim, work, True, sizes)
            poll = measure(sim, work, False, sizes)
        for log in work.glob("*.log"):
            (log_dir / log.name).write_bytes(log.read_bytes())
    return rows(zmq, poll, sizes, f"{sizes.latency_mempool:,} tx mempool")


def rows(zmq: list[float], poll: list[float], sizes: Sizes, context: str,
         id: str = "P5 block latency", where: str = "") -> list[Row]:
    return [
        Row(id, f"new block -> updated /metrics, ZMQ vs polling only{where}", "seconds",
            median(zmq), median(poll), f"polling every {sizes.poll_interval:g} s",
            ratio_style="times", target_on="value", op="<=", threshold=1.0,
            target_text="<= 1 s with ZMQ",
            note=f"samples ZMQ {', '.join(f'{x:.3f}' for x in zmq)} s; polling "
            f"{', '.join(f'{x:.2f}' for x in poll)} s; {context}"),
    ]
