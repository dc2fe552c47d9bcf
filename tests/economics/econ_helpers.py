"""Plain builders shared by the economics/pools tests (not fixtures: no magic, easy to read)."""

from __future__ import annotations

from typing import Any

from hashwatch.snapshot.blocks import BlockRecord, RecentBlocks
from hashwatch.config import Config
from hashwatch.snapshot.store import NodeStatus, SnapshotStore

from ..support import clock

CLOCK_T0 = 1_764_300_000.0  # the best block time of status() below
SEED_DIFFICULTY = 149_301_205_959_699.9  # bits 1701e2a0, height 925344 (the seed's 149.30 T)


def status(height: int = 925_400, difficulty: float = SEED_DIFFICULTY) -> NodeStatus:
    return NodeStatus(
        chain="main", blocks=height, headers=height, best_block_hash="00" * 32,
        best_block_time=1_764_300_000.0, median_time=1_764_299_000.0, verification_progress=1.0,
        initial_block_download=False, difficulty=difficulty, size_on_disk_bytes=1,
        pruned=False, version=300000, subversion="/Satoshi:30.0.0/", protocol_version=70016,
        connections=10, connections_in=0, connections_out=10, uptime_seconds=100.0,
        mempool_tx_count=0, mempool_vsize_bytes=0, mempool_usage_bytes=0,
        mempool_max_bytes=300_000_000, mempool_min_fee_sat_per_vb=1.0,
        mempool_total_fee_sat=0, network_received_bytes=0, network_sent_bytes=0,
    )


def block(height: int, fee_sat: int = 2_500_000, text: str = "", addrs: tuple[str, ...] = ()
          ) -> BlockRecord:
    return BlockRecord(
        height=height, hash=f"{height:064x}", time=1_764_000_000 + 600 * height,
        total_fee_sat=fee_sat, subsidy_sat=312_500_000, tx_count=3000, total_weight=3_990_000,
        feerate_percentiles_sat_per_vb=(1.0, 1.5, 2.0, 3.0, 5.0), avg_feerate_sat_per_vb=2.0,
        coinbase_text=text, payout_addresses=addrs,
    )


def recent(blocks: list[BlockRecord]) -> RecentBlocks:
    return RecentBlocks(tuple(blocks))


def config(**sections: Any) -> Config:
    data: dict[str, Any] = {"nodes": [{"name": "n1", "user": "u", "password": "p"}]}
    data.update(sections)
    return Config.model_validate(data)


def store_with_node(height: int = 925_400, blocks: list[BlockRecord] | None = None,
                    clock: Any = None) -> SnapshotStore:
    store = SnapshotStore(["n1"], clock=clock) if clock else SnapshotStore(["n1"])
    store.update_node("n1", up=True, status=status(height), status_time=0.0)
    if blocks is not None:
        store.set_section("n1", "blocks", recent(blocks))
    return store


class FakeClock(clock.FakeClock):
    """The hand-moved test clock, starting at the best block time of :func:`status`."""

    def __init__(self, t: float = CLOCK_T0):
        super().__init__(t)
