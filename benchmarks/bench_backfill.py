"""P4: backfilling an epoch of headers, hashwatch's batched way against one call per block.

hashwatch: :func:`hashwatch.collect.headers.backfill` into an empty :class:`HeadersStore`
(``getblockhash`` for a chunk of heights in one request, then ``getblockheader`` for those hashes
in another; chunks of the configured ``difficulty.batch_size``). Baseline:
:func:`benchmarks.naive.naive_backfill`, the same headers and the same store, one HTTP round trip
per RPC. Wall-clock time is the figure (the work is round trips); HTTP requests and bytes are
shown for information. The two ways alternate so drift on a shared machine hits both.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from hashwatch.collect.headers import backfill
from hashwatch.config.difficulty import DifficultyConfig
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.state.headers import HeadersStore

from .common import Row, Sizes, median
from .naive import naive_backfill
from .simproc import SimProcess


def _one(node: Any, blocks: int, batched: bool, path: Path) -> dict[str, float]:
    requests = 0

    def count(*_: Any) -> None:  # NodeClient's observer: called once per HTTP round trip
        nonlocal requests
        requests += 1

    client = NodeClient("node", node.rpc_url, NodeAuth(cookie_file=node.cookie_path),
                        timeout=120, observer=count)
    store = HeadersStore(path)
    try:
        t0 = time.perf_counter()
        if batched:
            result = backfill(client, store, blocks_needed=blocks,
                              batch_size=DifficultyConfig().batch_size)
            stored = result.fetched
        else:
            stored = naive_backfill(client, store, blocks)
        seconds = time.perf_counter() - t0
    finally:
        store.close()
        client.close()
    if stored != blocks:
        way = "batched" if batched else "naive"
        raise RuntimeError(f"{way} backfill stored {stored} of {blocks}")
    return {"seconds": seconds, "requests": requests,
            "bytes": client.bytes_in_total + client.bytes_out_total}


def measure(node: Any, blocks: int, rounds: int, work: Path) -> dict[str, Any]:
    """Median of ``rounds`` runs of each way against ``node`` (anything with ``rpc_url`` and
    ``cookie_path``: the simulator or a real bitcoind)."""
    runs: dict[bool, list[dict[str, float]]] = {True: [], False: []}
    for i in range(rounds):
        for batched in (True, False):
            runs[batched].append(_one(node, blocks, batched, work / f"h-{batched}-{i}.sqlite3"))
    return {
        k: {m: median([r[m] for r in v]) for m in ("seconds", "requests", "bytes")}
        for k, v in (("batched", runs[True]), ("naive", runs[False]))
    }


def run(sizes: Sizes, log_dir: Path) -> list[Row]:
    blocks = sizes.backfill_blocks
    with SimProcess(zmq=False, log_dir=log_dir) as sim, \
            tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        m = measure(sim, blocks, sizes.backfill_rounds, Path(tmp))
    return rows(m, blocks)


def rows(m: dict[str, Any], blocks: int, id: str = "P4 backfill", where: str = "") -> list[Row]:
    b, n = m["batched"], m["naive"]
    return [
        Row(id, f"backfill {blocks} headers, batched vs one call per block{where}", "seconds",
            b["seconds"], n["seconds"], "one call per block", ratio_style="times", op=">=",
            threshold=10, target_text=">= 10x faster",
            note=f"HTTP requests: {b['requests']:,.0f} batched vs {n['requests']:,.0f} per block; "
            f"bytes {b['bytes']:,.0f} vs {n['bytes']:,.0f}"),
    ]
