"""A fixed simulator scenario rendered to Prometheus text, for the golden exposition test.

Why: as node_exporter's e2e fixture does, the whole /metrics text of a known state is kept in
the repository (tests/fixtures/golden/metrics.prom), so a renamed, dropped or relabelled metric
shows up as a diff in review. The simulator runs the ``demo`` scenario's node with its clock
frozen at a fixed time and seed; each job runs once, in registry order, with the daemon on the
same frozen clock. Values that legitimately vary between runs (durations, the simulator's
real-time uptime and traffic counters) are masked.

Regenerate after an intended change: ``HASHWATCH_UPDATE_GOLDEN=1 pytest tests/architecture``.
"""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest

from hashwatch.config import Config
from hashwatch.daemon import Daemon
from hashwatch.sim import SimNode

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "metrics.prom"
START_TIME = 1764180567  # the seed tip's real time (mainnet block 925,300)
MASK = "NaN"  # still valid exposition, so promtool can lint the file
# Families whose sample values depend on wall-clock time, not on the scenario.
_VARYING = re.compile(
    r"^(hashwatch_(rpc_duration_seconds|job_duration_seconds)_(bucket|sum)"
    r"|hashwatch_node_uptime_seconds|hashwatch_node_network_(sent|received)_bytes_total"
    r"|hashwatch_rpc_(sent|received)_bytes_total)\b"
)


def _config(sim: SimNode, state: Path) -> Config:
    return Config.model_validate(
        {
            "nodes": [{"name": "sim", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}],
            "state_dir": str(state),
            "fees": {"block_window": 144},
            "economics": {
                "price": {"static_usd": 80500},
                "scenarios": [
                    {"name": "texas", "efficiency_j_per_th": 17.5,
                     "power_price_usd_per_kwh": 0.045, "pool_fee_ratio": 0.02},
                ],
            },
        }
    )  # fmt: skip


HEADER = (
    "# Golden exposition: tests/architecture/golden.py renders it; values that vary between\n"
    "# runs are NaN. Regenerate: HASHWATCH_UPDATE_GOLDEN=1 pytest tests/architecture\n"
)


def mask(text: str) -> str:
    out = [HEADER.rstrip("\n")]
    for line in text.splitlines():
        if not line.startswith("#") and _VARYING.match(line):
            line = line.rsplit(" ", 1)[0] + " " + MASK
        out.append(line)
    return "\n".join(out) + "\n"


def render(tmp: Path) -> str:
    """The masked exposition of the fixed scenario (snapshot part, then live part)."""
    return mask(render_raw(tmp))


def render_raw(tmp: Path) -> str:
    """The exposition of the fixed scenario as a scrape would return it."""
    sim = SimNode(scenario="demo", start_time=START_TIME, datadir=tmp / "sim").start()
    daemon = None
    try:
        daemon = Daemon(_config(sim, tmp / "state"), clock=sim.clock.now, serve_metrics=False)
        for spec in daemon.jobs:
            daemon.run_job_now(spec.name, spec.node)
        text = generate_latest(daemon.snapshot_registry) + generate_latest(daemon.registry)
        return text.decode()
    finally:
        if daemon is not None:
            daemon.stop()
        sim.stop()
