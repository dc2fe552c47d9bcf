"""A reorg by ``invalidateblock`` / ``reconsiderblock`` under a running daemon (all jobs,
alerts on): headers, blocks, the mempool model (ZMQ and polling mode) and alerts follow.

The two blocks taken off the chain carry payments: Core puts them back in the mempool, and
``reconsiderblock`` confirms them again. After each step the exported values must equal the
node's, and the stored headers/blocks must be the active chain's.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal

import pytest

from hashwatch.daemon import Daemon
from hashwatch.indicators.mempool_projection import FEE_BANDS

from .helpers import NODE, metric, rates, running_daemon, sat, scrape, value, wait_for

NODE_RULES = ("node_down", "no_new_block", "node_initial_block_download")


@pytest.fixture(params=["zmq", "poll"])
def watched(request, fresh_backend, tmp_path) -> Iterator[tuple]:
    b = fresh_backend
    b.fan_out(200)
    with running_daemon(b, tmp_path, zmq=request.param == "zmq", alerts=True) as daemon:
        yield b, daemon


def _hist(b) -> list[tuple[str, int]]:
    raw = b.rpc("getrawmempool", True)
    out = []
    for le in [*FEE_BANDS, math.inf]:
        vs = sum(e["vsize"] for e in raw.values()
                 if min(float(Decimal(str(e["fees"]["modified"]))) * 1e8 / e["vsize"],
                        float(Decimal(str(e["fees"]["ancestor"]))) * 1e8 / e["ancestorsize"]
                        if e.get("ancestorsize") else math.inf) <= le + 1e-9)
        out.append(("+Inf" if le == math.inf else f"{le:g}", vs))
    return out


def agrees(b, daemon: Daemon) -> None:
    """Wait until everything the daemon shows equals the node's active chain and mempool."""
    def same() -> list[str]:
        s = scrape(daemon.server.port)
        info, mp = b.rpc("getblockchaininfo"), b.rpc("getmempoolinfo")
        diffs = []
        checks = {
            "hashwatch_node_blocks": info["blocks"],
            "hashwatch_mempool_transactions": mp["size"],
            "hashwatch_mempool_total_fee_sat": sat(mp["total_fee"]),
            "hashwatch_mempool_histogram_vsize_bytes": mp["bytes"],  # +Inf: the model's total
        }
        for name, want in checks.items():
            labels = {"le": "+Inf"} if "histogram" in name else {}
            got = value(s, name, node=NODE, **labels)
            if got != want:
                diffs.append(f"{name}={got} node={want}")
        for le, want in _hist(b):
            got = value(s, "hashwatch_mempool_histogram_vsize_bytes", node=NODE, le=le)
            if got != want:
                diffs.append(f"histogram le={le}: {got} node={want}")
        node = daemon.store.current().nodes[NODE]
        blocks = node.section("blocks")
        if blocks is None or not blocks.blocks or blocks.blocks[-1].hash != info["bestblockhash"]:
            diffs.append("blocks section tip != bestblockhash")
        else:
            for r in blocks.blocks[-3:]:
                if r.hash != b.rpc("getblockhash", r.height):
                    diffs.append(f"stored block {r.height} not on the active chain")
        return diffs

    last: list[list[str]] = [[]]

    def ok() -> bool:
        last[0] = same()
        return not last[0]

    try:
        wait_for(ok, 30, "daemon == node")
    except AssertionError:
        raise AssertionError(f"daemon disagrees with the node: {last[0]}") from None
    _headers_on_active_chain(b, daemon)
    _no_false_node_alerts(daemon)


def _headers_on_active_chain(b, daemon: Daemon) -> None:
    from hashwatch.state.headers import HeadersStore
    from hashwatch.state.sqlite import db_path

    with HeadersStore(db_path(daemon.state_dir, "headers", NODE)) as store:
        tip = b.rpc("getblockcount")
        wait_for(lambda: (store.tip() or (None,))[0] == tip, 20, "headers tip")
        for h in range(tip - 3, tip + 1):
            assert store.get(h).hash == b.rpc("getblockhash", h), h


def _no_false_node_alerts(daemon: Daemon) -> None:
    for rule in NODE_RULES:
        firing = [v for (n, labels), v in scrape(daemon.server.port).items()
                  if n == "hashwatch_alerts_firing" and ("rule", rule) in labels
                  and ("node", NODE) in labels]
        assert firing and all(v == 0 for v in firing), (rule, firing)


def test_invalidate_then_reconsider_two_blocks_with_payments(watched):
    b, daemon = watched
    b.pay_many(rates(40, seed=41))
    b.mine(1)
    b.pay_many(rates(40, seed=42))
    old = b.mine(1)[0]
    b.pay_many(rates(30, seed=43))  # waiting when the reorg happens
    agrees(b, daemon)
    first = b.rpc("getblockheader", old)["previousblockhash"]
    b.rpc("invalidateblock", first)  # two blocks off: their 80 payments return
    assert b.rpc("getmempoolinfo")["size"] >= 110
    agrees(b, daemon)
    b.rpc("reconsiderblock", first)
    assert b.rpc("getbestblockhash") == old
    agrees(b, daemon)


def test_invalidate_and_replace_with_a_longer_branch(watched):
    """The usual reorg: the old tip's branch is replaced by a different, longer one."""
    b, daemon = watched
    b.pay_many(rates(30, seed=44))
    old = b.mine(1)[0]
    agrees(b, daemon)
    b.rpc("invalidateblock", old)
    new = b.mine_other(2)
    assert b.rpc("getbestblockhash") == new[-1]
    agrees(b, daemon)
    assert metric(daemon, "hashwatch_node_up") == 1
