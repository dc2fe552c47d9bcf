"""``hashwatch status`` on a frozen node answers within about one timeout, saying what it skipped.

Before: every job waited its own full timeout (four sequential timeouts, 40.8 s at 10 s each).
"""

from __future__ import annotations

import io
import os
import signal
import time

import pytest

from hashwatch.config import Config
from hashwatch.status.report import run_status

TIMEOUT = 1.0


def config_for(sim, tmp_path, timeout: float = TIMEOUT) -> Config:
    return Config.model_validate({
        "nodes": [{"name": "frozen", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path),
                   "timeout_seconds": timeout}],
        "state_dir": str(tmp_path / "state"),
        "alerts": {"enabled": False},
    })


def test_status_on_hung_node_takes_one_timeout_and_names_skipped_jobs(sim_factory, tmp_path):
    sim = sim_factory(start_height=925_000)
    sim.set_hang(True)
    out = io.StringIO()
    try:
        started = time.monotonic()
        code = run_status(config_for(sim, tmp_path), out)
        elapsed = time.monotonic() - started
    finally:
        sim.set_hang(False)
    text = out.getvalue()
    assert code == 1
    assert elapsed < 2.5 * TIMEOUT, f"status took {elapsed:.1f} s on a frozen node"
    assert "DOWN (timeout)" in text
    skipped = next(line for line in text.splitlines() if line.strip().startswith("skipped"))
    for job in ("headers", "blocks", "mempool"):
        assert job in skipped
    assert "failed (timeout) during chain" in skipped


def test_status_on_healthy_node_skips_nothing(sim_factory, tmp_path):
    sim = sim_factory(start_height=925_000)
    out = io.StringIO()
    assert run_status(config_for(sim, tmp_path, timeout=10.0), out) == 0
    assert "skipped" not in out.getvalue()


@pytest.mark.realnode
@pytest.mark.timeout(180)
def test_status_on_a_stopped_bitcoind_process_takes_one_timeout(tmp_path):
    """A real frozen node: bitcoind under SIGSTOP accepts TCP connections (the kernel) and never
    answers, as on the node of issue 13 (40.8 s for status at the default 10 s)."""
    binary = os.environ.get("BITCOIND")
    if not binary:
        pytest.skip("real node: set BITCOIND=/path/to/bitcoind")
    from ..harness.bitcoind import BitcoindNode

    node = BitcoindNode(binary)
    node.start()
    try:
        config = Config.model_validate({
            "nodes": [{"name": "frozen", "url": node.rpc_url,
                       "cookie_file": str(node.cookie_path), "timeout_seconds": 2.0}],
            "state_dir": str(tmp_path / "state"),
            "alerts": {"enabled": False},
        })
        assert node.proc is not None
        node.proc.send_signal(signal.SIGSTOP)
        out = io.StringIO()
        try:
            started = time.monotonic()
            code = run_status(config, out)
            elapsed = time.monotonic() - started
        finally:
            node.proc.send_signal(signal.SIGCONT)
        assert code == 1
        assert elapsed < 5.0, f"status took {elapsed:.1f} s on a frozen bitcoind"
        assert "DOWN (timeout)" in out.getvalue()
        assert "skipped" in out.getvalue()
    finally:
        node.stop()
