"""Malformed but parseable node answers are protocol errors at the boundary (issue 14, item 5).

The parse functions refuse impossible values (pure tests, one per class of bad value); over
real HTTP against the simulator, a hostile ``getblockstats`` / ``getblockchaininfo`` answer
marks the node down with ``kind=protocol``, drops the affected series, stores nothing, leaves
no SQLite transaction open, and everything recovers once the node answers normally.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from hashwatch.collect.blocks import BlocksJob, make_record
from hashwatch.collect.chain import STATUS_CALLS, parse_status, poll_node
from hashwatch.collect.context import DaemonContext
from hashwatch.collect.headers import parse_header
from hashwatch.collect.validate import AnswerInvalid, check_batch_ids
from hashwatch.config import Config
from hashwatch.indicators.mempool_model import parse_entry
from hashwatch.node.auth import NodeAuth
from hashwatch.node.errors import NodeProtocolError
from hashwatch.node.rpc import NodeClient
from hashwatch.sim.rpc_methods import METHODS
from hashwatch.snapshot.blocks import RecentBlocks
from hashwatch.snapshot.store import SnapshotStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def _fx(name: str):
    raw = (FIXTURES / f"{name}.json").read_text()
    return json.loads(raw, parse_float=Decimal)["response"]["result"]


def _status_answers() -> list:
    return [_fx("getblockchaininfo"), _fx("getnetworkinfo"), _fx("getmempoolinfo"), 120,
            _fx("getnettotals")]  # fmt: skip


# -- pure: every class of impossible value is refused ---------------------------------------

STATUS_BAD = [
    ("difficulty", -1.0),
    ("difficulty", 0.0),
    ("difficulty", 5e-324),  # subnormal
    ("difficulty", float("nan")),
    ("difficulty", float("inf")),
    ("difficulty", "4.66e-10"),  # wrong type
    ("blocks", -5),
    ("blocks", 2**63),
    ("blocks", "101"),
    ("blocks", [[[[101]]]]),  # absurd nesting
    ("bestblockhash", "zz" * 32),
    ("verificationprogress", 7.0),
    ("initialblockdownload", "no"),
]


def test_parse_status_accepts_core_fixture():
    status = parse_status(_status_answers())
    assert status.difficulty == pytest.approx(4.656542373906925e-10, rel=1e-15)


@pytest.mark.parametrize(("field", "value"), STATUS_BAD)
def test_parse_status_refuses_impossible_values(field, value):
    answers = _status_answers()
    answers[0] = {**answers[0], field: value}
    with pytest.raises(AnswerInvalid) as err:
        parse_status(answers)
    assert isinstance(err.value, NodeProtocolError) and err.value.kind == "protocol"


def test_parse_status_refuses_wrong_shapes():
    for bad in (_status_answers()[:4], [None] * len(STATUS_CALLS), "x"):
        with pytest.raises(AnswerInvalid):
            parse_status(bad)  # type: ignore[arg-type]


STATS_BAD = [
    ("totalfee", 21_000_001 * 100_000_000),  # above the money supply
    ("totalfee", -1),
    ("subsidy", 51 * 100_000_000),
    ("txs", 0),
    ("txs", "15"),
    ("height", 2**40),
    ("feerate_percentiles", [2, 4, float("nan"), 235, 601]),
    ("feerate_percentiles", [2, 4, 60, 235]),
    ("feerate_percentiles", [601, 235, 60, 4, 2]),
    ("feerate_percentiles", [2, 4, float("inf"), 235, 601]),
    ("avgfeerate", -3),
    ("total_weight", 4_000_001),
    ("blockhash", {"a": 1}),
]


@pytest.mark.parametrize(("field", "value"), STATS_BAD)
def test_make_record_refuses_impossible_block_stats(field, value):
    stats = {**_fx("getblockstats"), field: value}
    with pytest.raises(AnswerInvalid):
        make_record(stats, _fx("getblock_v2")["tx"][0])


def test_make_record_coinbase_only_block_has_no_fee_rate():
    stats = {**_fx("getblockstats"), "txs": 1, "totalfee": 0,
             "feerate_percentiles": [0, 0, 0, 0, 0], "avgfeerate": 0}  # fmt: skip
    record = make_record(stats, None)
    assert record.feerate_percentiles_sat_per_vb is None
    assert record.avg_feerate_sat_per_vb is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("height", -1), ("bits", "00000000"), ("bits", "zz"), ("bits", 545259519),
     ("time", 2**33), ("hash", 7), ("previousblockhash", "ab")],
)  # fmt: skip
def test_parse_header_refuses_impossible_headers(field, value):
    with pytest.raises(AnswerInvalid):
        parse_header({**_fx("getblockheader_verbose"), field: value})


@pytest.mark.parametrize(
    "change",
    [{"vsize_adjusted": 0}, {"vsize_adjusted": 5_000_000}, {"vsize_adjusted": "208"},
     {"weight": -4},
     {"fees": {"base": Decimal("21000001")}}, {"fees": {"base": float("nan")}},
     {"fees": {"base": -1}}, {"depends": ["nothex"]}, {"depends": "x"}],
)  # fmt: skip
def test_parse_entry_refuses_impossible_mempool_entries(change):
    with pytest.raises(AnswerInvalid):
        parse_entry({**_fx("getmempoolentry"), **change})


def test_check_batch_ids_refuses_duplicated_rotated_and_unknown_ids():
    sent = [1, 2, 3]
    check_batch_ids(sent, [{"id": 3}, {"id": 1}, {"id": 2}])  # any order, each once: fine
    for bad in ([{"id": 1}, {"id": 1}, {"id": 2}], [{"id": 1}, {"id": 2}], [{"id": 1},
                {"id": 2}, {"id": 4}], [{"id": [1]}, {"id": 2}, {"id": 3}], {"id": 1}):  # fmt: skip
        with pytest.raises(AnswerInvalid):
            check_batch_ids(sent, bad)  # type: ignore[arg-type]


# -- over HTTP against the simulator --------------------------------------------------------


def _ctx(sim, tmp_path: Path) -> DaemonContext:
    cfg = Config.model_validate({
        "nodes": [{"name": "n1", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}],
        "state_dir": str(tmp_path),
        "fees": {"block_window": 6},
    })  # fmt: skip
    client = NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))
    return DaemonContext(config=cfg, clients={"n1": client}, store=SnapshotStore(["n1"]),
                         state_dir=tmp_path)  # fmt: skip


def _corrupt(monkeypatch, method: str, mutate) -> None:
    real = METHODS[method]

    def bad(node, *params):
        answer = copy.deepcopy(real.func(node, *params))
        mutate(answer)
        return answer

    monkeypatch.setitem(METHODS, method, dataclasses.replace(real, func=bad))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a.__setitem__("totalfee", 22 * 10**15),
        lambda a: a.__setitem__("feerate_percentiles", [1, 2, math.nan, 4, 5]),
        lambda a: a.__setitem__("txs", {"nested": [[["deep"]]]}),
        lambda a: a.__setitem__("height", a["height"] + 1),  # the answer of another height
    ],
    ids=["fee_above_supply", "nan_percentile", "absurd_nesting", "rotated_height"],
)
def test_blocks_job_bad_stats_is_protocol_error_then_recovers(sim_factory, tmp_path,
                                                              monkeypatch, mutate):  # fmt: skip
    sim = sim_factory(network="regtest", start_height=101, seed=2)
    for _ in range(3):
        sim.mempool.add_random(20)
        sim.mine(1)
    ctx = _ctx(sim, tmp_path)
    job = BlocksJob(ctx, "n1")
    job.run()
    good = ctx.store.current().nodes["n1"].section("blocks")
    assert isinstance(good, RecentBlocks) and len(good.blocks) == 6
    sim.mempool.add_random(20)
    sim.mine(1)
    tip = sim.rpc("getblockcount")
    with monkeypatch.context() as m:
        _corrupt(m, "getblockstats", mutate)
        with pytest.raises(NodeProtocolError):
            job.run()
        node = ctx.store.current().nodes["n1"]
        assert node.section("blocks") is None  # absent, not the old window exported as live
        assert not node.up and node.last_error_kind == "protocol"
        db = sqlite3.connect(tmp_path / "blocks-n1.sqlite3")
        heights = [h for (h,) in db.execute("SELECT height FROM blocks")]
        fees = [f for (f,) in db.execute("SELECT total_fee_sat FROM blocks")]
        db.close()
        assert tip not in heights and max(fees) < 21_000_000 * 10**8
    job.run()  # the node answers normally again: no transaction left open, the new block lands
    section = ctx.store.current().nodes["n1"].section("blocks")
    assert isinstance(section, RecentBlocks) and section.blocks[-1].height == tip
    job.close()


def test_chain_poll_nan_difficulty_marks_node_down_kind_protocol_then_up(sim_factory,
                                                                         monkeypatch):  # fmt: skip
    sim = sim_factory(network="regtest", start_height=101, seed=2)
    store = SnapshotStore(["n1"])
    client = NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))
    assert poll_node(client, store, 1.0) is not None
    with monkeypatch.context() as m:
        _corrupt(m, "getblockchaininfo", lambda a: a.__setitem__("difficulty", math.nan))
        with pytest.raises(NodeProtocolError):
            poll_node(client, store, 2.0)
        node = store.current().nodes["n1"]
        assert not node.up and node.last_error_kind == "protocol"
    poll_node(client, store, 3.0)
    assert store.current().nodes["n1"].up
