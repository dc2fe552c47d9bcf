"""``backfill``: fetch only what is missing, follow reorgs, keep one linked run of headers.

A small in-memory node stands in for Core here (exact call counts, odd cases such as the chain
moving between two requests); tests/difficulty/test_sim_e2e.py runs the same over real HTTP.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from hashwatch.collect.headers import ProgressReporter, backfill, links, parse_header
from hashwatch.node.errors import RPCError
from hashwatch.state.headers import HeadersStore, StoredHeader

from .helpers import synthetic_chain, with_hashes


class FakeNode:
    """Answers getblockchaininfo / getblockhash / getblockheader from a list of headers."""

    name = "fake"

    def __init__(self, chain: list[StoredHeader], network: str = "main"):
        self.chain = chain
        self.known: dict[str, StoredHeader] = {}  # like Core, stale headers stay answerable
        self._seen: list[StoredHeader] | None = None
        self.network = network
        self.calls: Counter[str] = Counter()
        self.after_hashes = None  # hook: runs between the getblockhash and getblockheader batches

    def _one(self, method: str, params: Sequence[Any]) -> Any:
        self.calls[method] += 1
        if self._seen is not self.chain:
            self.known.update((x.hash, x) for x in self.chain)
            self._seen = self.chain
        first = self.chain[0].height
        if method == "getblockchaininfo":
            tip = self.chain[-1]
            return {"chain": self.network, "blocks": tip.height, "bestblockhash": tip.hash}
        if method == "getblockhash":
            return self.chain[params[0] - first].hash
        if method == "getblockheader":
            h = self.known[params[0]]
            out = {"hash": h.hash, "height": h.height, "time": h.time, "bits": f"{h.bits:08x}",
                   "chainwork": h.chainwork, "previousblockhash": h.prev_hash}
            return {k: v for k, v in out.items() if v is not None}
        raise RPCError("Method not found", code=-32601)

    def call(self, method: str, *params: Any) -> Any:
        return self._one(method, params)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        out = [self._one(m, p) for m, p in calls]
        if calls and calls[0][0] == "getblockhash" and self.after_hashes:
            hook, self.after_hashes = self.after_hashes, None
            hook()
        return out


def _store() -> HeadersStore:
    return HeadersStore(":memory:")


def _chain(count: int = 3000, start: int = 0, salt: str = "") -> list[StoredHeader]:
    return with_hashes(synthetic_chain(start, count), salt)


def test_backfill_empty_store_fetches_window_in_batches() -> None:
    node = FakeNode(_chain())
    store = _store()
    result = backfill(node, store, blocks_needed=1000, batch_size=300)  # type: ignore[arg-type]
    assert store.all() == node.chain[-1000:]
    assert result.fetched == 1000 and result.tip_height == 2999 and result.chain == "main"
    assert node.calls["getblockheader"] == 1000


def test_backfill_second_run_at_same_tip_asks_for_no_headers() -> None:
    node = FakeNode(_chain())
    store = _store()
    backfill(node, store, blocks_needed=1000)  # type: ignore[arg-type]
    node.calls.clear()
    result = backfill(node, store, blocks_needed=1000)  # type: ignore[arg-type]
    assert not result.changed
    assert node.calls == Counter({"getblockchaininfo": 1})


def test_backfill_new_blocks_fetches_only_those() -> None:
    full = _chain(3005)
    node = FakeNode(full[:3000])
    store = _store()
    backfill(node, store, blocks_needed=1000)  # type: ignore[arg-type]
    node.chain, node.calls = full, Counter()
    result = backfill(node, store, blocks_needed=1000)  # type: ignore[arg-type]
    assert result.fetched == 5 and node.calls["getblockheader"] == 5
    assert store.bounds() == (2005, 3004)  # the window moved: old heights pruned


def test_backfill_reorg_3_deep_equals_fresh_backfill() -> None:
    base = _chain()
    node = FakeNode(base)
    store = _store()
    backfill(node, store, blocks_needed=1000)  # type: ignore[arg-type]
    fork = base[2996]
    branch = with_hashes([(h.height, h.time + 1, h.bits) for h in base[2997:]] +
                         [(3000, base[-1].time + 600, base[-1].bits)], salt="b")
    branch[0] = branch[0]._replace(prev_hash=fork.hash)
    branch = _relink(branch)
    node.chain = base[:2997] + branch
    result = backfill(node, store, blocks_needed=1000)  # type: ignore[arg-type]
    assert result.fork_height == 2996 and result.rolled_back == 3
    fresh = _store()
    backfill(FakeNode(node.chain), fresh, blocks_needed=1000)  # type: ignore[arg-type]
    assert store.all() == fresh.all()


def _relink(headers: list[StoredHeader]) -> list[StoredHeader]:
    out = [headers[0]]
    for h in headers[1:]:
        out.append(h._replace(prev_hash=out[-1].hash))
    return out


def test_backfill_store_of_other_chain_is_replaced() -> None:
    store = _store()
    backfill(FakeNode(_chain(salt="x")), store, blocks_needed=500)  # type: ignore[arg-type]
    node = FakeNode(_chain(salt="y"))
    backfill(node, store, blocks_needed=500)  # type: ignore[arg-type]
    assert store.all() == node.chain[-500:]


def test_backfill_node_rewound_below_stored_tip_rolls_back() -> None:
    full = _chain()
    store = _store()
    backfill(FakeNode(full), store, blocks_needed=500)  # type: ignore[arg-type]
    node = FakeNode(full[:2990])  # invalidateblock on the node
    result = backfill(node, store, blocks_needed=500)  # type: ignore[arg-type]
    assert result.rolled_back == 10
    assert store.tip() == full[2989]


def test_backfill_larger_window_fetches_older_history_downwards() -> None:
    node = FakeNode(_chain())
    store = _store()
    backfill(node, store, blocks_needed=500)  # type: ignore[arg-type]
    node.calls.clear()
    result = backfill(node, store, blocks_needed=1200, batch_size=200)  # type: ignore[arg-type]
    assert result.fetched == 700 and node.calls["getblockheader"] == 700
    assert store.all() == node.chain[-1200:]


def test_backfill_chain_moves_between_requests_stores_nothing_unlinked() -> None:
    base = _chain(1200)
    node = FakeNode(base[:1000])
    store = _store()
    backfill(node, store, blocks_needed=500)  # type: ignore[arg-type]
    branch = with_hashes([(h.height, h.time, h.bits) for h in base[1000:]], "z")
    other = _relink([base[999], *branch])
    node.chain = base[:1100]

    def swap() -> None:  # a reorg lands between getblockhash and getblockheader
        node.chain = base[:1000] + other[1:]

    node.after_hashes = swap
    backfill(node, store, blocks_needed=500, batch_size=50)  # type: ignore[arg-type]
    stored = store.all()
    assert links(stored, None, None)  # whatever was kept is one linked chain
    backfill(node, store, blocks_needed=500)  # type: ignore[arg-type]
    assert store.all() == node.chain[-500:]


def test_backfill_short_chain_takes_all_from_genesis() -> None:
    node = FakeNode(_chain(150), network="regtest")
    store = _store()
    result = backfill(node, store, blocks_needed=4032)  # type: ignore[arg-type]
    assert store.bounds() == (0, 149) and result.chain == "regtest"


def test_parse_header_recorded_core_answer() -> None:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "fixtures" / "core" / "getblockheader_verbose.json"
    raw = json.loads(path.read_text())["response"]["result"]
    h = parse_header(raw)
    assert h.height == 101 and h.bits == 0x207FFFFF and h.time == 1795626849
    assert h.prev_hash == raw["previousblockhash"] and h.chainwork == raw["chainwork"]


def test_backfill_reports_progress_for_backfill_not_for_new_blocks() -> None:
    full = _chain(3005)
    node = FakeNode(full[:3000])
    store = _store()
    reports: list[tuple[int, int]] = []
    backfill(node, store, blocks_needed=2500, batch_size=1000,  # type: ignore[arg-type]
             progress=lambda done, total: reports.append((done, total)))
    assert reports == [(1000, 2500), (2000, 2500), (2500, 2500)]
    node.chain = full
    backfill(node, store, blocks_needed=2500,  # type: ignore[arg-type]
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
