"""``backfill``: fetch only what is missing, follow reorgs, keep one linked run of headers.

Against the simulator over real HTTP: its request counters give exact call counts, and its
fault hooks stage the odd cases (the chain moving between two requests, a rewound node).
What the store holds is compared with the simulator's own chain.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable

import pytest

from hashwatch.collect.headers import ProgressReporter, backfill, links, parse_header
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.sim import SimNode
from hashwatch.state.headers import HeadersStore, StoredHeader

TIP = 925_000  # the suite's mainnet-like simulator (sim_node)


def _client(sim: SimNode) -> NodeClient:
    return NodeClient("sim", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))


def _store() -> HeadersStore:
    return HeadersStore(":memory:")


def _chain(sim: SimNode, count: int) -> list[StoredHeader]:
    """The simulator's last ``count`` active-chain headers, read from its own state."""
    out = []
    for h in range(sim.chain.height - count + 1, sim.chain.height + 1):
        b = sim.chain.at(h)
        out.append(StoredHeader(b.height, b.hash, b.prev, b.time, b.bits, f"{b.chainwork:064x}"))
    return out


def _calls(sim: SimNode) -> Counter[str]:
    return Counter(sim.stats.calls_by_method)


def test_backfill_empty_store_fetches_window_in_batches(sim_node: SimNode) -> None:
    store = _store()
    result = backfill(_client(sim_node), store, blocks_needed=1000, batch_size=300)
    assert store.all() == _chain(sim_node, 1000)
    assert result.fetched == 1000 and result.tip_height == TIP and result.chain == "main"
    assert _calls(sim_node)["getblockheader"] == 1000


def test_backfill_second_run_at_same_tip_asks_for_no_headers(sim_node: SimNode) -> None:
    store = _store()
    backfill(_client(sim_node), store, blocks_needed=1000)
    sim_node.stats.reset()
    result = backfill(_client(sim_node), store, blocks_needed=1000)
    assert not result.changed
    assert _calls(sim_node) == Counter({"getblockchaininfo": 1})


def test_backfill_new_blocks_fetches_only_those(sim_node: SimNode) -> None:
    store = _store()
    backfill(_client(sim_node), store, blocks_needed=1000)
    sim_node.mine(5)
    sim_node.stats.reset()
    result = backfill(_client(sim_node), store, blocks_needed=1000)
    assert result.fetched == 5 and _calls(sim_node)["getblockheader"] == 5
    assert store.bounds() == (TIP + 5 - 999, TIP + 5)  # the window moved: old heights pruned


def test_backfill_reorg_3_deep_equals_fresh_backfill(sim_node: SimNode) -> None:
    store = _store()
    backfill(_client(sim_node), store, blocks_needed=1000)
    sim_node.reorg(3)  # three blocks replaced by four others
    result = backfill(_client(sim_node), store, blocks_needed=1000)
    assert result.fork_height == TIP - 3 and result.rolled_back == 3
    fresh = _store()
    backfill(_client(sim_node), fresh, blocks_needed=1000)
    assert store.all() == fresh.all() == _chain(sim_node, 1000)


def test_backfill_store_of_other_chain_is_replaced(
    sim_factory: Callable[..., SimNode],
) -> None:
    store = _store()
    backfill(_client(sim_factory(network="regtest", start_height=600, seed=1)), store,
             blocks_needed=500)
    other = sim_factory(network="regtest", start_height=600, seed=2)
    backfill(_client(other), store, blocks_needed=500)
    assert store.all() == _chain(other, 500)


def test_backfill_node_rewound_below_stored_tip_rolls_back(sim_node: SimNode) -> None:
    store = _store()
    backfill(_client(sim_node), store, blocks_needed=500)
    expected = _chain(sim_node, 11)[0]
    sim_node.rpc("invalidateblock", sim_node.chain.at(TIP - 9).hash)  # rewinds 10 blocks
    result = backfill(_client(sim_node), store, blocks_needed=500)
    assert result.rolled_back == 10
    assert store.tip() == expected


def test_backfill_larger_window_fetches_older_history_downwards(sim_node: SimNode) -> None:
    store = _store()
    backfill(_client(sim_node), store, blocks_needed=500)
    sim_node.stats.reset()
    result = backfill(_client(sim_node), store, blocks_needed=1200, batch_size=200)
    assert result.fetched == 700 and _calls(sim_node)["getblockheader"] == 700
    assert store.all() == _chain(sim_node, 1200)


def test_backfill_chain_moves_between_requests_stores_nothing_unlinked(
    sim_node: SimNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hashwatch.collect.headers")
    store = _store()
    backfill(_client(sim_node), store, blocks_needed=500)
    sim_node.mine(100)
    # a reorg from the stored tip lands between the getblockhash and getblockheader batches
    sim_node.before_call("getblockheader", lambda: sim_node.reorg(100, 200))
    backfill(_client(sim_node), store, blocks_needed=500, batch_size=50)
    assert "event=headers_chain_moved" in caplog.text  # the move was seen mid-backfill
    stored = store.all()
    assert links(stored, None, None)  # whatever was kept is one linked chain
    backfill(_client(sim_node), store, blocks_needed=500)
    assert store.all() == _chain(sim_node, 500)


def test_backfill_short_chain_takes_all_from_genesis(
    sim_factory: Callable[..., SimNode],
) -> None:
    sim = sim_factory(network="regtest", start_height=149)
    store = _store()
    result = backfill(_client(sim), store, blocks_needed=4032)
    assert store.bounds() == (0, 149) and result.chain == "regtest"


def test_parse_header_recorded_core_answer() -> None:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "core" / "getblockheader_verbose.json"
    raw = json.loads(path.read_text())["response"]["result"]
    h = parse_header(raw)
    assert h.height == 101 and h.bits == 0x207FFFFF and h.time == 1795626849
    assert h.prev_hash == raw["previousblockhash"] and h.chainwork == raw["chainwork"]


def test_backfill_reports_progress_for_backfill_not_for_new_blocks(sim_node: SimNode) -> None:
    store = _store()
    reports: list[tuple[int, int]] = []
    backfill(_client(sim_node), store, blocks_needed=2500, batch_size=1000,
             progress=lambda done, total: reports.append((done, total)))
    assert reports == [(1000, 2500), (2000, 2500), (2500, 2500)]
    sim_node.mine(5)
    backfill(_client(sim_node), store, blocks_needed=2500,
             progress=lambda done, total: reports.append((done, total)))
    assert len(reports) == 3  # five new blocks are not a backfill


def test_progress_reporter_tty_draws_bar_with_rate_and_eta() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 2.0, 4.0])
    report = ProgressReporter("n1", stream=stream, clock=lambda: next(ticks), tty=True)
    report(0, 1000)
    report(500, 1000)
    report(1000, 1000)
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n")
    assert "500/1000" in out and "250 blocks/s" in out and "ETA 2s" in out


def test_progress_reporter_no_tty_logs_each_tenth_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hashwatch.collect.headers")
    clock = iter(float(i) for i in range(100))
    report = ProgressReporter("n1", stream=io.StringIO(), clock=lambda: next(clock), tty=False)
    for done in range(0, 1001, 50):
        report(done, 1000)
    lines = [r.getMessage() for r in caplog.records if "backfill_progress" in r.getMessage()]
    assert len(lines) == 10
    assert lines[-1].startswith("event=headers_backfill_progress node=n1 done=1000 total=1000")
