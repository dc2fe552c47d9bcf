"""End to end against the simulator over real HTTP: backfill, restart, reorg, and a hashrate
drop and recovery driving the projection, the retarget and the recovery signal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hashwatch.collect.context import DaemonContext
from hashwatch.collect.headers import backfill, make_jobs
from hashwatch.config import Config
from hashwatch.indicators.difficulty_view import DifficultyView
from hashwatch.indicators.retarget import retarget_change_percent
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.sim.node import SimNode
from hashwatch.snapshot.store import SnapshotStore
from hashwatch.state.headers import HeadersStore
from hashwatch.state.sqlite import db_path
from hashwatch.status import difficulty as difficulty_status


def _client(sim: SimNode) -> NodeClient:
    return NodeClient("sim", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path))


@pytest.fixture
def sim() -> Iterator[SimNode]:
    with SimNode(network="main", start_height=925_350, seed=7) as node:
        yield node


class Daemon:
    """The headers job wired as the daemon does, with the simulator's clock."""

    def __init__(self, sim: SimNode, state_dir: Path, **difficulty: object):
        config = Config.model_validate({
            "nodes": [{"name": "sim", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}],
            "state_dir": str(state_dir),
            "difficulty": difficulty,
        })
        self.store = SnapshotStore(["sim"], clock=sim.clock.now)
        self.store.update_node("sim", up=True)
        ctx = DaemonContext(config=config, clients={"sim": _client(sim)}, store=self.store,
                            state_dir=state_dir, clock=sim.clock.now)
        [self.job] = make_jobs(ctx)
        assert self.job.name == "headers" and self.job.node == "sim"

    def poll(self) -> DifficultyView:
        self.job.run()
        view = self.store.current().nodes["sim"].section("difficulty")
        assert isinstance(view, DifficultyView)
        return view

    def close(self) -> None:
        assert self.job.stop is not None
        self.job.stop()


def test_backfill_restart_makes_no_requests_for_stored_headers(
    sim: SimNode, tmp_path: Path
) -> None:
    path = db_path(tmp_path, "headers", "sim")
    with HeadersStore(path) as store:
        first = backfill(_client(sim), store, blocks_needed=4032)
    assert first.fetched == 4032
    assert sim.stats.calls_by_method["getblockheader"] == 4032
    sim.mine(2)
    sim.restart()  # bitcoind restarts too: new cookie, connections dropped
    sim.stats.reset()
    with HeadersStore(path) as store:  # a new daemon process: fresh client, reopened store
        again = backfill(_client(sim), store, blocks_needed=4032)
        assert store.tip() is not None and store.tip().hash == sim.rpc("getbestblockhash")
    assert again.fetched == 2
    assert sim.stats.calls_by_method["getblockheader"] == 2  # only the two new blocks
    # the two new heights, plus one look at the stored tip's height to rule out a reorg
    assert sim.stats.calls_by_method["getblockhash"] == 3


def test_backfill_after_3_block_reorg_equals_fresh_backfill(sim: SimNode, tmp_path: Path) -> None:
    client = _client(sim)
    with HeadersStore(tmp_path / "a.sqlite3") as store:
        backfill(client, store, blocks_needed=4032)
        sim.mine(3)
        backfill(client, store, blocks_needed=4032)
        replaced = store.hashes(925_351, 925_353)
        sim.reorg(3)
        result = backfill(client, store, blocks_needed=4032)
        assert result.fork_height == 925_350 and result.rolled_back == 3
        with HeadersStore(tmp_path / "fresh.sqlite3") as fresh:
            backfill(client, fresh, blocks_needed=4032)
            assert store.all() == fresh.all()
        assert not set(replaced.values()) & set(store.hashes(925_351, 925_354).values())


def test_hashrate_drop_projection_retarget_and_recovery(sim: SimNode, tmp_path: Path) -> None:
    daemon = Daemon(sim, tmp_path, drawdown_window_blocks=288, peak_lookback_blocks=2016,
                    history_blocks=4400)
    try:
        sim.mine(700)  # steady hashrate, 706 blocks into the epoch starting 925,344
        steady = daemon.poll()
        assert steady.epoch_blocks == 706 and steady.projection is not None
        sim.set_hashrate_factor(0.8)  # a fifth of the hashrate switches off mid-epoch
        seen = []
        while sim.chain.height < 927_358:
            sim.mine(min(100, 927_358 - sim.chain.height))
            seen.append(daemon.poll())
        before = seen[-1]
        assert before.epoch_blocks == 2014 and before.projection is not None
        assert before.projection.change_percent < -10 < steady.projection.change_percent
        assert all(v.projection is not None and v.projection.change_percent < 0 for v in seen[5:])
        assert before.drawdown is not None and before.drawdown.ratio > 0.1

        sim.mine(1)  # 927,359: the epoch's last block fixes the retarget
        locked = daemon.poll().projection
        assert locked is not None and locked.locked
        sim.mine(1)  # 927,360 carries the new bits
        after = daemon.poll()
        header = sim.rpc("getblockheader", sim.rpc("getbestblockhash"))
        new_bits, old_bits = int(header["bits"], 16), before.bits
        assert locked.next_bits == new_bits
        assert after.last_retarget_height == 927_360
        assert after.last_retarget_change_percent == retarget_change_percent(old_bits, new_bits)
        assert after.last_retarget_change_percent == locked.change_percent
        assert after.difficulty == pytest.approx(header["difficulty"], rel=1e-15)

        sim.set_hashrate_factor(0.95)  # most of the capacity comes back
        recovering = []
        for _ in range(8):
            sim.mine(48)
            view = daemon.poll()
            assert view.drawdown is not None
            recovering.append(view.drawdown.recovering)
        assert any(recovering)
        assert view.drawdown.ratio < before.drawdown.ratio
    finally:
        daemon.close()


def test_regtest_has_no_projection_and_status_says_why(tmp_path: Path) -> None:
    with SimNode(network="regtest", seed=7) as sim:
        sim.mine(300)
        daemon = Daemon(sim, tmp_path, hashrate_windows=[144], history_blocks=4032,
                        drawdown_window_blocks=144, peak_lookback_blocks=1000)
        try:
            view = daemon.poll()
        finally:
            daemon.close()
        assert view.chain == "regtest" and view.projection is None
        names = {v.name for v in view.values()}
        assert "difficulty_projected_change_percent" not in names
        assert "difficulty_current" in names
        node = daemon.store.current().nodes["sim"]
        rows = dict(difficulty_status.rows(node, daemon.store.current()))
        assert "regtest has no difficulty retargets" in rows["next retarget"]
