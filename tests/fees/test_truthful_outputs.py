"""Values that do not exist are not exported (issue 13, defect 6).

- a coinbase-only block has no fee rate: its window exports no percentile and ``status``
  does not print "median rate 0.0 sat/vB";
- ``alerts_firing``/``alerts_pending`` appear once per per-node rule (no node="" twin).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from hashwatch.alerts.metrics_collector import AlertsCollector
from hashwatch.alerts.service import AlertService
from hashwatch.indicators.fees import FeesSection, block_fee_windows
from hashwatch.snapshot.blocks import BlockRecord
from hashwatch.snapshot.store import SnapshotStore
from hashwatch.status import fees as fees_status

from ..support.alertkit import config
from ..support.clock import FakeClock


def _empty_block(height: int) -> BlockRecord:
    return BlockRecord(height, f"{height:064x}", 1_700_000_000 + 600 * height, 0,
                       5_000_000_000, 1, 800, None, None, "", ())  # fmt: skip


def test_coinbase_only_blocks_export_no_fee_rate_and_status_says_so():
    blocks = [_empty_block(h) for h in range(100, 106)]
    windows = block_fee_windows(blocks, (1, 6))
    assert [w.window for w in windows] == [1, 6]
    assert all(w.percentiles_sat_per_vb is None for w in windows)
    section = FeesSection(0, 0, 0, 0, ((float("inf"), 0),), (), block_windows=windows)
    names = {v.name for v in section.values()}
    assert "fees_block_percentile_sat_per_vbyte" not in names
    assert "fees_block_fee_share_ratio" in names  # 0 fees of the reward: a true 0
    store = SnapshotStore(["n1"])
    store.set_section("n1", "fees", section)
    node = store.current().nodes["n1"]
    text = "\n".join(v for _, v in fees_status.rows(node, store.current()))
    assert "median rate 0.0" not in text and "no fee rate (coinbase-only blocks)" in text


def test_one_block_with_transactions_in_the_window_gives_its_rates():
    full = BlockRecord(106, "ab" * 32, 1_700_100_000, 10_000, 5_000_000_000, 5, 4000,
                       (2.0, 3.0, 4.0, 5.0, 6.0), 4.0, "", ())  # fmt: skip
    (w,) = block_fee_windows([*(_empty_block(h) for h in range(100, 106)), full], (6,))
    assert w.percentiles_sat_per_vb == (2.0, 3.0, 4.0, 5.0, 6.0)


def test_alerts_firing_and_pending_once_per_node_rule(tmp_path):
    svc = AlertService(config(tmp_path), tmp_path / "state", FakeClock())
    registry = CollectorRegistry()
    registry.register(AlertsCollector(svc))
    try:
        for family in registry.collect():
            if family.name not in ("hashwatch_alerts_firing", "hashwatch_alerts_pending"):
                continue
            # one series per rule: node="" for a network-wide rule, node="n1" for a node rule,
            # never a zero twin of the other identity
            want = {r.name: ("" if r.scope == "network" else "n1") for r in svc.rules}
            got = [(s.labels["rule"], s.labels["node"]) for s in family.samples]
            assert sorted(got) == sorted(want.items()), family.name
    finally:
        svc.close()
