"""``hashwatch status`` on a frozen node answers within about one timeout, saying what it skipped.

Before: every job waited its own full timeout (four sequential timeouts, 40.8 s at 10 s each).
"""

from __future__ import annotations

import io
import time

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
