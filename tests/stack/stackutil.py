"""Shared helpers for the stack tests: repository paths, external tools, the metric contract.

Why one module: every stack test needs the same answer to "is promtool here, and may this test
skip without it?" (locally yes, with a reason; in CI, where .ci/run installs Debian's packages,
a missing binary is a failure), and the same list of metric names the boards may use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Base and daemon metrics (metrics/base.py, selfmetrics.py, alerts) as exposed, i.e. with
# the _total suffix of counters; indicator names come from docs/indicators.md.
BASE_METRICS = {
    "hashwatch_node_up", "hashwatch_node_info", "hashwatch_node_blocks", "hashwatch_node_headers",
    "hashwatch_node_verification_progress_ratio", "hashwatch_node_initial_block_download",
    "hashwatch_node_best_block_time_seconds", "hashwatch_node_best_block_age_seconds",
    "hashwatch_node_difficulty", "hashwatch_node_peers", "hashwatch_node_peers_inbound",
    "hashwatch_node_peers_outbound", "hashwatch_node_uptime_seconds",
    "hashwatch_node_size_on_disk_bytes", "hashwatch_node_last_status_time_seconds",
    "hashwatch_node_last_error_info", "hashwatch_mempool_transactions",
    "hashwatch_mempool_vsize_bytes", "hashwatch_mempool_usage_bytes", "hashwatch_mempool_max_bytes",
    "hashwatch_mempool_min_fee_sat_per_vbyte", "hashwatch_mempool_total_fee_sat",
    "hashwatch_node_network_received_bytes_total", "hashwatch_node_network_sent_bytes_total",
    "hashwatch_rpc_duration_seconds", "hashwatch_rpc_errors_total",
    "hashwatch_rpc_received_bytes_total", "hashwatch_rpc_sent_bytes_total",
    "hashwatch_job_runs_total", "hashwatch_job_failures_total", "hashwatch_job_duration_seconds",
    "hashwatch_last_success_time_seconds", "hashwatch_section_age_seconds",
    "hashwatch_build_info", "hashwatch_renderer_success",
    # alerts/metrics_collector.py (the brief's hashwatch_notifications_* / alert_outbox_depth
    # names were not what the alerts feature exports; these are)
    "hashwatch_alerts_firing", "hashwatch_alerts_pending", "hashwatch_alerts_store_errors_total",
    "hashwatch_alerts_notifications_sent_total", "hashwatch_alerts_notifications_failed_total",
    "hashwatch_alerts_notifications_dropped_total", "hashwatch_alerts_outbox_notifications",
    "hashwatch_alerts_outbox_oldest_age_seconds",
}
HISTOGRAMS = {"hashwatch_rpc_duration_seconds", "hashwatch_job_duration_seconds"}


def require_tool(name: str) -> str:
    """Path of ``name``; skip locally (with the reason), fail in CI where it must be installed."""
    path = shutil.which(name)
    if path:
        return path
    msg = f"{name} not found: install Debian's prometheus / prometheus-alertmanager packages"
    if IN_CI:
        pytest.fail(msg + " (CI=true: .ci/run installs them, so this is a broken setup)")
    pytest.skip(msg)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    """Run a command with a timeout, capturing text output (never raises on exit status)."""
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def indicator_names(doc: Path = REPO / "docs" / "indicators.md") -> set[str]:
    """Metric names (with the ``hashwatch_`` prefix) listed in the indicator contract."""
    names: set[str] = set()
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        line = re.sub(r"\{[^}]*\}", "", line)
        names.update(re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", line))
    return {"hashwatch_" + n for n in names}


def known_metrics() -> set[str]:
    """Every series name a query may use: contract names, base metrics, histogram series."""
    names = indicator_names() | BASE_METRICS
    for h in HISTOGRAMS:
        names |= {h + "_bucket", h + "_count", h + "_sum"}
    return names


def metric_names_in(expr: str) -> set[str]:
    """``hashwatch_*`` series names a PromQL expression refers to."""
    return set(re.findall(r"\bhashwatch_[a-z0-9_]+\b", expr))


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))
