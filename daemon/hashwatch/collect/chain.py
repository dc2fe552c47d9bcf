"""The base poll: node status (chain, sync, peers, mempool summary, version, uptime).

One batched request (five RPCs in one HTTP round trip) per poll. A failure marks the node down
in the snapshot at once, so ``hashwatch_node_up`` drops to 0 within one poll interval while the
rest of the daemon keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..node.errors import NodeError
from ..node.rpc import NodeClient
from ..snapshot.store import NodeStatus, SnapshotStore
from ..units import btc_per_kvb_to_sat_per_vb, btc_to_sat
from .context import DaemonContext, JobSpec

log = logging.getLogger("hashwatch.collect.chain")

STATUS_CALLS: Sequence[tuple[str, Sequence[Any]]] = (
    ("getblockchaininfo", ()),
    ("getnetworkinfo", ()),
    ("getmempoolinfo", ()),
    ("uptime", ()),
    ("getnettotals", ()),
)

def _warnings(value: Any) -> str:
    # Core <= 27 gives a string, newer versions a list of strings.
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value or "")


def parse_status(results: Sequence[Any]) -> NodeStatus:
    """Build :class:`NodeStatus` from the answers to :data:`STATUS_CALLS` (pure)."""
    chain, net, mempool, uptime, totals = results
    return NodeStatus(
        chain=str(chain["chain"]),
        blocks=int(chain["blocks"]),
        headers=int(chain["headers"]),
        best_block_hash=str(chain["bestblockhash"]),
        best_block_time=float(chain.get("time", chain.get("mediantime", 0))),
        median_time=float(chain.get("mediantime", 0)),
        verification_progress=float(chain.get("verificationprogress", 0)),
        initial_block_download=bool(chain.get("initialblockdownload", False)),
        difficulty=float(chain["difficulty"]),
        size_on_disk_bytes=int(chain.get("size_on_disk", 0)),
        pruned=bool(chain.get("pruned", False)),
        version=int(net.get("version", 0)),
        subversion=str(net.get("subversion", "")),
        protocol_version=int(net.get("protocolversion", 0)),
        connections=int(net.get("connections", 0)),
        connections_in=int(net.get("connections_in", 0)),
        connections_out=int(net.get("connections_out", 0)),
        uptime_seconds=float(uptime),
        mempool_tx_count=int(mempool.get("size", 0)),
        mempool_vsize_bytes=int(mempool.get("bytes", 0)),
        mempool_usage_bytes=int(mempool.get("usage", 0)),
        mempool_max_bytes=int(mempool.get("maxmempool", 0)),
        mempool_min_fee_sat_per_vb=btc_per_kvb_to_sat_per_vb(mempool.get("mempoolminfee", 0)),
        mempool_total_fee_sat=btc_to_sat(mempool.get("total_fee", 0)),
        network_received_bytes=int(totals.get("totalbytesrecv", 0)),
        network_sent_bytes=int(totals.get("totalbytessent", 0)),
        warnings=_warnings(chain.get("warnings", "")),
    )


def fetch_status(client: NodeClient) -> NodeStatus:
    """One batched round trip; raises :class:`NodeError` on any failure."""
    return parse_status(client.batch(STATUS_CALLS))


def poll_node(client: NodeClient, store: SnapshotStore, now: float) -> NodeStatus | None:
    """Poll one node and record the outcome in ``store``; re-raises the node error."""
    previous = store.current().nodes.get(client.name)
    try:
        status = fetch_status(client)
    except NodeError as exc:
        if previous is None or previous.up or previous.last_error_kind != exc.kind:
            log.warning("event=node_down node=%s kind=%s error=%r", client.name, exc.kind, str(exc))
        store.update_node(client.name, up=False, last_error_kind=exc.kind, last_error=str(exc))
        raise
    if previous is not None and not previous.up:
        log.info(
            "event=node_up node=%s chain=%s blocks=%d", client.name, status.chain, status.blocks
        )
    store.update_node(
        client.name, up=True, status=status, status_time=now, last_error_kind=None, last_error=None
    )
    return status


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    jobs = []
    for name, client in ctx.clients.items():

        def run(client: NodeClient = client) -> None:
            poll_node(client, ctx.store, ctx.clock())

        jobs.append(JobSpec("chain", name, ctx.config.polling.chain_seconds, run))
    return jobs
