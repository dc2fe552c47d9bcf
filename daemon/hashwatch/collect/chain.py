"""The base poll: node status (chain, sync, peers, mempool summary, version, uptime).

One batched request (five RPCs in one HTTP round trip) per poll. A failure marks the node down
in the snapshot at once, so ``hashwatch_node_up`` drops to 0 within one poll interval while the
rest of the daemon keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..node.errors import NodeError
from ..node.rpc import NodeClient
from ..snapshot.store import NodeStatus, SnapshotStore
from ..units import btc_per_kvb_to_sat_per_vb
from .context import DaemonContext, JobSpec
from .validate import (
    MAX_LIST,
    AnswerInvalid,
    check_bool,
    check_difficulty,
    check_fee,
    check_float,
    check_hash,
    check_height,
    check_int,
    check_list,
    check_mapping,
    check_str,
    check_time,
)

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
        return "; ".join(check_str(v, "warnings", 2000) for v in check_list(value, "warnings", 50))
    return check_str(value or "", "warnings", 4000)


def _count(m: Mapping[str, Any], key: str, high: int = 2**53) -> int:
    return check_int(m.get(key, 0), key, 0, high)


def _relay_fee(value: Any) -> float:
    check_fee(value, "mempoolminfee")  # BTC/kvB: same range as an amount
    return btc_per_kvb_to_sat_per_vb(value)


def parse_status(results: Sequence[Any]) -> NodeStatus:
    """Build :class:`NodeStatus` from the answers to :data:`STATUS_CALLS` (pure).

    Every field is checked (:mod:`.validate`): an impossible answer (a string height, a NaN or
    subnormal difficulty, a negative peer count) raises ``AnswerInvalid``, a protocol error that
    marks the node down with ``kind=protocol`` instead of exporting the value.
    """
    if not isinstance(results, Sequence) or len(results) != len(STATUS_CALLS):
        raise AnswerInvalid("invalid node answer: status batch has the wrong number of results")
    chain, net, mempool, uptime, totals = results
    chain = check_mapping(chain, "getblockchaininfo")
    net = check_mapping(net, "getnetworkinfo")
    mempool = check_mapping(mempool, "getmempoolinfo")
    totals = check_mapping(totals, "getnettotals")
    blocks = check_height(chain.get("blocks"), "blocks")
    headers = check_height(chain.get("headers"), "headers")
    return NodeStatus(
        chain=check_str(chain.get("chain"), "chain", 32),
        blocks=blocks,
        headers=headers,
        best_block_hash=check_hash(chain.get("bestblockhash"), "bestblockhash"),
        best_block_time=float(check_time(chain.get("time", chain.get("mediantime", 0)))),
        median_time=float(check_time(chain.get("mediantime", 0), "mediantime")),
        verification_progress=check_float(
            chain.get("verificationprogress", 0), "verificationprogress", 0.0, 1.0 + 1e-6
        ),
        initial_block_download=check_bool(chain.get("initialblockdownload", False), "ibd"),
        difficulty=check_difficulty(chain.get("difficulty")),
        size_on_disk_bytes=_count(chain, "size_on_disk"),
        pruned=check_bool(chain.get("pruned", False), "pruned"),
        version=check_int(net.get("version", 0), "version", 0, 2**31 - 1),
        subversion=check_str(net.get("subversion", ""), "subversion", 256),
        protocol_version=check_int(net.get("protocolversion", 0), "protocolversion", 0, 2**31 - 1),
        connections=_count(net, "connections", 1_000_000),
        connections_in=_count(net, "connections_in", 1_000_000),
        connections_out=_count(net, "connections_out", 1_000_000),
        uptime_seconds=check_float(uptime, "uptime", 0.0, 2.0**40),
        mempool_tx_count=_count(mempool, "size", MAX_LIST * 100),
        mempool_vsize_bytes=_count(mempool, "bytes"),
        mempool_usage_bytes=_count(mempool, "usage"),
        mempool_max_bytes=_count(mempool, "maxmempool"),
        mempool_min_fee_sat_per_vb=_relay_fee(mempool.get("mempoolminfee", 0)),
        mempool_total_fee_sat=check_fee(mempool.get("total_fee", 0), "total_fee"),
        network_received_bytes=_count(totals, "totalbytesrecv", 2**63 - 1),
        network_sent_bytes=_count(totals, "totalbytessent", 2**63 - 1),
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
