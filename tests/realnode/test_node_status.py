"""Node status and node_up: an idle period longer than the RPC idle timeout, stop/start with a
new cookie, warm-up -28, and ``hashwatch status`` — on the simulator and a real bitcoind."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from hashwatch.node.auth import NodeAuth
from hashwatch.node.errors import NodeError
from hashwatch.node.rpc import NodeClient

from .helpers import NODE, RPC_IDLE_TIMEOUT, metric, running_daemon, scrape, wait_for

SHORT_IDLE = True  # real nodes here close idle RPC connections after RPC_IDLE_TIMEOUT seconds
IDLE_POLL = RPC_IDLE_TIMEOUT * 1.5  # every call finds its keep-alive connection idle > timeout
INDICATORS = ("hashwatch_node_blocks", "hashwatch_mempool_transactions",
              "hashwatch_difficulty_current")


def test_client_call_after_idle_longer_than_rpc_timeout_succeeds(backend):
    client = NodeClient(NODE, backend.rpc_url, NodeAuth(cookie_file=backend.cookie_path),
                        timeout=5)
    try:
        first = client.call("getblockcount")
        # The idle period is the subject of the test: the node closes the connection meanwhile.
        time.sleep(RPC_IDLE_TIMEOUT + 1.5)
        assert client.call("getblockcount") >= first
        time.sleep(RPC_IDLE_TIMEOUT + 1.5)
        assert len(client.batch([("getblockcount", ()), ("getbestblockhash", ())])) == 2
    finally:
        client.close()


def test_node_up_never_drops_while_node_idle_past_rpc_timeout(backend, tmp_path):
    """Issue 13 #1: a healthy node idle past -rpcservertimeout must never read as down."""
    with running_daemon(backend, tmp_path, zmq=False, alerts=True, job_modules=("chain",),
                        chain_seconds=IDLE_POLL) as daemon:
        samples = []
        end = time.monotonic() + 3 * IDLE_POLL + 1
        while time.monotonic() < end:  # sample node_up 4x a second over three idle polls
            samples.append(metric(daemon, "hashwatch_node_up"))
            time.sleep(0.25)
        assert samples and all(s == 1 for s in samples), samples
        assert (metric(daemon, "hashwatch_rpc_errors_total", kind="unavailable") or 0) == 0
        assert metric(daemon, "hashwatch_alerts_firing", rule="node_down",
                      severity="critical") == 0


def test_pending_market_alert_keeps_its_pending_time_while_node_idle(backend, tmp_path):
    """Issue 13 #1: every job polls less often than the node's idle timeout; a market alert
    inhibited by node health (mempool_congestion, tuned to be pending with one transaction and
    a 1 h ``for``) must stay pending with the same ``pending_since`` over three idle polls."""
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"rules": [{"name": "mempool_congestion", "threshold": 1,
                                                "resolve_threshold": 0.5, "for": "1h"}]}))
    backend.send_at_feerate(5)
    slow = {k: IDLE_POLL for k in ("chain_seconds", "mempool_seconds")}
    with running_daemon(backend, tmp_path / "state", zmq=False, alerts=True,
                        job_modules=("chain", "mempool"),
                        extra={"alerts": {"rule_files": [str(rules)]}}, **slow) as daemon:
        def pending():
            return next((a for a in daemon.alerts.active() if a.rule == "mempool_congestion"
                         and a.state == "pending"), None)

        first = wait_for(pending, 30, "mempool_congestion pending")
        end = time.monotonic() + 3 * IDLE_POLL + 1
        while time.monotonic() < end:  # sampled 4x a second over three idle polls
            now = pending()
            assert now is not None, "the pending alert was reset"
            assert now.pending_since == first.pending_since
            time.sleep(0.25)


def test_stopped_node_gives_node_up_0_and_no_indicator_series(fresh_backend, tmp_path):
    b = fresh_backend
    with running_daemon(b, tmp_path, zmq=False,
                        job_modules=("chain", "headers", "mempool")) as daemon:
        for name in INDICATORS:
            wait_for(lambda name=name: metric(daemon, name) is not None, 20, name)
        b.shutdown()
        wait_for(lambda: metric(daemon, "hashwatch_node_up") == 0, 20, "node_up 0")
        for name in INDICATORS:
            assert metric(daemon, name) is None, f"{name} exported for a stopped node"
        b.start()


def test_frozen_node_gives_node_up_0_fast_scrapes_then_recovers(fresh_backend, tmp_path):
    """A hung node (SIGSTOP): node_up 0 and no indicator series within the RPC timeout, while
    scrapes stay fast (never blocked behind the node); SIGCONT: back to 1 on its own."""
    b = fresh_backend
    with running_daemon(b, tmp_path, zmq=True, timeout=2.0,
                        job_modules=("chain", "headers", "mempool")) as daemon:
        for name in INDICATORS:
            wait_for(lambda name=name: metric(daemon, name) is not None, 20, name)
        b.freeze(True)
        try:
            wait_for(lambda: metric(daemon, "hashwatch_node_up") == 0, 20, "node_up 0")
            for name in INDICATORS:
                assert metric(daemon, name) is None, f"{name} exported for a hung node"
            for _ in range(5):
                started = time.monotonic()
                scrape(daemon.server.port)
                assert time.monotonic() - started < 1.0
        finally:
            b.freeze(False)
        wait_for(lambda: metric(daemon, "hashwatch_node_up") == 1, 30, "node_up 1 again")
        assert metric(daemon, "hashwatch_node_blocks") == b.rpc("getblockcount")


def test_restart_with_new_cookie_recovers_without_restarting_hashwatch(fresh_backend, tmp_path):
    b = fresh_backend
    with running_daemon(b, tmp_path, zmq=True, job_modules=("chain", "mempool")) as daemon:
        old_cookie = b.cookie_path.read_text()
        b.shutdown()
        wait_for(lambda: metric(daemon, "hashwatch_node_up") == 0, 20, "node_up 0")
        b.start()
        assert b.cookie_path.read_text() != old_cookie  # a new cookie, same port
        wait_for(lambda: metric(daemon, "hashwatch_node_up") == 1, 30, "node_up 1 again")
        b.mine(1)
        height = b.rpc("getblockcount")
        wait_for(lambda: metric(daemon, "hashwatch_node_blocks") == height, 20,
                 "new block after restart")
        assert (metric(daemon, "hashwatch_rpc_errors_total", kind="auth") or 0) == 0


def _warmup_seen_real(b) -> list[str]:
    """Launch bitcoind and poll as fast as possible until it answers; error kinds seen."""
    b.shutdown()
    b.launch()
    kinds: list[str] = []
    client = NodeClient(NODE, b.rpc_url, NodeAuth(cookie_file=b.cookie_path), timeout=5)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not b.cookie_path.exists():
                continue  # busy wait on purpose: the warm-up window is short on regtest
            try:
                client.call("getblockcount")
                return kinds
            except NodeError as exc:
                kinds.append(exc.kind)
    finally:
        client.close()
    raise AssertionError(f"node never answered; errors seen: {set(kinds)}")


def test_warmup_minus28_is_reported_as_warmup_then_clears(fresh_backend, tmp_path):
    b = fresh_backend
    if b.kind == "sim":
        b.node.set_warmup(True)
        with pytest.raises(NodeError) as exc:
            NodeClient(NODE, b.rpc_url, NodeAuth(cookie_file=b.cookie_path)).call("getblockcount")
        assert exc.value.kind == "warmup" and exc.value.code == -28
        b.node.set_warmup(False)
    else:
        kinds = _warmup_seen_real(b)
        assert "warmup" in kinds, f"no -28 seen during start-up (errors: {set(kinds)})"
        assert set(kinds) <= {"warmup", "unavailable", "auth"}, set(kinds)
    with running_daemon(b, tmp_path, zmq=False, job_modules=("chain",)) as daemon:
        assert metric(daemon, "hashwatch_node_blocks") == b.rpc("getblockcount")


def _write_config(backend, tmp_path):
    path = tmp_path / "hashwatch.yaml"
    path.write_text(yaml.safe_dump({
        "nodes": [{"name": NODE, "url": backend.rpc_url, "network": "regtest",
                   "cookie_file": str(backend.cookie_path), "timeout_seconds": 5}],
        "state_dir": str(tmp_path / "state"),
    }))
    return path


def test_status_command_prints_what_the_node_says(backend, tmp_path):
    cfg = _write_config(backend, tmp_path)
    out = subprocess.run([sys.executable, "-m", "hashwatch", "status", "-c", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = backend.rpc("getblockchaininfo")
    assert "regtest" in out.stdout
    assert f"{info['blocks']:,} / {info['headers']:,}" in out.stdout
    size = backend.rpc("getmempoolinfo")["size"]
    assert f"{size:,} tx" in out.stdout


def test_status_command_on_stopped_node_says_down_quickly(fresh_backend, tmp_path):
    b = fresh_backend
    cfg = _write_config(b, tmp_path)
    b.shutdown()
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "hashwatch", "status", "-c", str(cfg)],
                         capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    b.start()
    assert "DOWN" in out.stdout and out.returncode != 0, (out.returncode, out.stdout)
    assert elapsed < 15, f"status took {elapsed:.1f} s on a stopped node"
