"""The daemon end to end against the simulator over real HTTP: metrics, node down, new cookie."""

from __future__ import annotations

import pytest

from hashwatch.config import Config
from hashwatch.daemon import Daemon

from ..support.scrape import scrape, scrape_text, value
from ..support.waiting import wait_for


def config_for(sim, tmp_path, **polling) -> Config:
    return Config.model_validate(
        {
            "nodes": [
                {
                    "name": "sim",
                    "url": sim.rpc_url,
                    "cookie_file": str(sim.cookie_path),
                    "timeout_seconds": 1.0,
                }
            ],
            "polling": {
                "chain_seconds": 0.2,
                "jitter_seconds": 0,
                "headers_seconds": 0.5,
                "blocks_seconds": 0.5,
                "mempool_seconds": 0.5,
                **polling,
            },
            "metrics": {"port": 0},
            "state_dir": str(tmp_path / "state"),
        }
    )


@pytest.fixture
def daemon_on(tmp_path):
    daemons = []

    def start(sim, job_modules=("chain",), **polling):
        daemon = Daemon(config_for(sim, tmp_path, **polling), job_modules=job_modules, alerts=False)
        daemon.start()
        daemons.append(daemon)
        return daemon

    yield start
    for d in daemons:
        d.stop()


def node_up(port: int) -> float | None:
    return value(scrape(port), "hashwatch_node_up", node="sim")


def test_daemon_serves_base_metrics_with_help(datadir_sim, daemon_on):
    daemon = daemon_on(datadir_sim)
    port = daemon.server.port
    wait_for(lambda: node_up(port) == 1, what="node up")
    samples = scrape(port)
    height = datadir_sim.rpc("getblockcount")
    assert value(samples, "hashwatch_node_blocks", node="sim") == height
    assert value(samples, "hashwatch_node_difficulty", node="sim") == pytest.approx(
        float(datadir_sim.rpc("getdifficulty"))
    )
    text = scrape_text(port)
    for name in (
        "hashwatch_node_up",
        "hashwatch_node_blocks",
        "hashwatch_mempool_transactions",
        "hashwatch_rpc_duration_seconds",
        "hashwatch_job_duration_seconds",
    ):
        assert f"# HELP {name} " in text


def test_daemon_follows_new_blocks(datadir_sim, daemon_on):
    daemon = daemon_on(datadir_sim)
    port = daemon.server.port
    wait_for(lambda: node_up(port) == 1, what="node up")
    start = datadir_sim.rpc("getblockcount")
    datadir_sim.mine(3)
    wait_for(
        lambda: value(scrape(port), "hashwatch_node_blocks", node="sim") == start + 3,
        what="three new blocks in metrics",
    )
    tip = datadir_sim.rpc("getblockheader", datadir_sim.rpc("getbestblockhash"))
    assert value(scrape(port), "hashwatch_node_best_block_time_seconds", node="sim") == tip["time"]


def test_node_stopped_up_goes_zero_and_restart_with_new_cookie_recovers(datadir_sim, daemon_on):
    daemon = daemon_on(datadir_sim)
    port = daemon.server.port
    wait_for(lambda: node_up(port) == 1, what="node up")
    old_cookie = datadir_sim.cookie_path.read_text()
    datadir_sim.stop()
    wait_for(lambda: node_up(port) == 0, what="node down visible")
    samples = scrape(port)  # the daemon keeps serving while the node is gone
    assert value(samples, "hashwatch_node_blocks", node="sim") is None
    assert (value(samples, "hashwatch_rpc_errors_total", node="sim", kind="unavailable") or 0) > 0
    datadir_sim.restart(new_cookie=True)
    assert datadir_sim.cookie_path.read_text() != old_cookie
    wait_for(lambda: node_up(port) == 1, what="node up again with the new cookie")


def test_hung_node_times_out_and_scrape_still_answers(datadir_sim, daemon_on):
    daemon = daemon_on(datadir_sim)
    port = daemon.server.port
    wait_for(lambda: node_up(port) == 1, what="node up")
    datadir_sim.set_hang(True)
    try:
        wait_for(lambda: node_up(port) == 0, what="hung node marked down")
        samples = scrape(port)
        assert value(samples, "hashwatch_node_last_error_info", node="sim", kind="timeout") == 1
    finally:
        datadir_sim.set_hang(False)
    wait_for(lambda: node_up(port) == 1, what="recovery after the hang")


def test_warming_up_node_reports_warmup_then_recovers(datadir_sim, daemon_on):
    datadir_sim.set_warmup(3600)
    daemon = daemon_on(datadir_sim)
    port = daemon.server.port
    wait_for(
        lambda: value(scrape(port), "hashwatch_node_last_error_info", node="sim", kind="warmup"),
        what="warm-up visible",
    )
    # -28 arrives inside an answered batch; it still counts as an RPC error of its kind
    assert (value(scrape(port), "hashwatch_rpc_errors_total", node="sim", kind="warmup") or 0) > 0
    datadir_sim.set_warmup(False)
    wait_for(lambda: node_up(port) == 1, what="node up after warm-up")


def test_daemon_follows_blocks_on_simulator_and_real_node(rpc_backend, tmp_path):
    """The same check on the simulator and, with BITCOIND set, on a real regtest bitcoind."""
    config = Config.model_validate({
        "nodes": [{"name": "sim", "url": rpc_backend.rpc_url,
                   "cookie_file": str(rpc_backend.cookie_path)}],
        "polling": {"chain_seconds": 0.2, "jitter_seconds": 0},
        "metrics": {"port": 0},
        "state_dir": str(tmp_path / "state"),
    })
    daemon = Daemon(config, job_modules=("chain",), alerts=False)
    daemon.start()
    try:
        port = daemon.server.port
        wait_for(lambda: node_up(port) == 1, what="node up")
        assert value(scrape(port), "hashwatch_node_info", node="sim", chain="regtest",
                     version=str(rpc_backend.rpc("getnetworkinfo")["version"]),
                     subversion=rpc_backend.rpc("getnetworkinfo")["subversion"]) == 1
        rpc_backend.mine(2)
        height = rpc_backend.rpc("getblockcount")
        wait_for(lambda: value(scrape(port), "hashwatch_node_blocks", node="sim") == height,
                 what="new blocks in the metrics")
    finally:
        daemon.stop()


def test_protocol_error_in_a_job_drops_its_section_instead_of_exporting_it_stale(
    datadir_sim, daemon_on
):
    """A node answer that cannot be true (kind=protocol) in the mempool job: the fees section
    it published earlier is withdrawn, so no stale value is exported as live."""
    import dataclasses

    from hashwatch.node.errors import NodeProtocolError

    daemon = daemon_on(datadir_sim, job_modules=("chain", "mempool"))
    port = daemon.server.port
    wait_for(lambda: daemon.store.current().nodes["sim"].fees is not None, what="fees section")

    def bad_answer() -> None:
        raise NodeProtocolError("getmempoolinfo: size is not an integer")

    daemon.scheduler.pause()  # only the run below touches the fees section from here on

    daemon.jobs = [
        dataclasses.replace(spec, run=bad_answer) if spec.name == "mempool" else spec
        for spec in daemon.jobs
    ]
    daemon.run_job_now("mempool", "sim")
    assert daemon.store.current().nodes["sim"].fees is None
    assert value(scrape(port), "hashwatch_fees_next_block_median_sat_per_vbyte", node="sim") is None
