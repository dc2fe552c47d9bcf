"""Smoke test of the benchmark harness: ``--quick`` runs end to end and fills every row.

No timing is asserted (absolute times on shared machines are noise); what is checked is that
each benchmark still runs against the current code and produces numbers for hashwatch, the
baseline and their ratio, so a change that breaks a measured piece shows up here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.common import Row, format_markdown, format_table, not_measured

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_PREFIXES = ("P1 ", "P2 ", "P3 ", "P4 ", "P5 ", "P6 ")


def test_row_ratio_times_style_divides_baseline_by_hashwatch() -> None:
    row = Row("P4", "x", "seconds", hashwatch=0.5, baseline=10.0, ratio_style="times",
              op=">=", threshold=10)
    assert row.ratio == pytest.approx(20.0)
    assert row.met is True


def test_row_fraction_target_on_ratio_fails_above_threshold() -> None:
    row = Row("P1", "x", "bytes", hashwatch=6.0, baseline=100.0, threshold=0.05)
    assert row.ratio == pytest.approx(0.06)
    assert row.met is False


def test_row_value_target_checks_hashwatch_figure_not_ratio() -> None:
    row = Row("P6", "x", "bytes", hashwatch=150e6, baseline=10e6, ratio_style="ratio",
              target_on="value", threshold=200e6)
    assert row.met is True
    assert format_table([row]).count("yes") == 1


def test_format_table_not_measured_row_shows_reason() -> None:
    row = not_measured("P5", "latency", "ZMQ listener missing")
    text = format_table([row]) + format_markdown([row])
    assert "NOT MEASURED" in text
    assert "ZMQ listener missing" in text


@pytest.mark.timeout(600)
def test_run_quick_every_row_measured_with_numbers(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    env = dict(os.environ)
    env.pop("BITCOIND", None)  # the simulator rows only; a real node is optional
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=580,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) >= 8
    for prefix in EXPECTED_PREFIXES:
        assert any(r["id"].startswith(prefix) for r in rows), f"no {prefix.strip()} row"
    for r in rows:
        for key in ("hashwatch", "baseline", "ratio"):
            value = r[key]
            assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (
                f"{r['id']}: {key} = {value!r} ({r['note']})"
            )
    for r in rows:  # the printed table carries every row too
        assert r["id"] in proc.stdout


@pytest.mark.realnode
@pytest.mark.timeout(600)
def test_regtest_quick_rows_measured_on_a_real_bitcoind(tmp_path: Path) -> None:
    """The real rows (P1 and P5 on a regtest bitcoind) run and carry numbers; the ZMQ path's
    bytes stay a small fraction of a verbose poll and a block reaches /metrics over ZMQ."""
    from benchmarks.common import QUICK

    from benchmarks import regtest

    from ..conftest import bitcoind_binary

    binary = bitcoind_binary()
    if not binary:
        pytest.skip("real node: no bitcoind (set BITCOIND=/path/to/bitcoind)")
    rows = {r.id: r for r in regtest.run(binary, QUICK, tmp_path, ["P1", "P5"])}
    assert {"P1 regtest 2k zmq bytes", "P1 regtest 2k zmq cpu", "P1 regtest 2k poll bytes",
            "P5 regtest block latency"} <= set(rows), sorted(rows)
    for r in rows.values():
        assert r.measured and r.hashwatch > 0 and r.baseline > 0, (r.id, r.note)
    assert rows["P1 regtest 2k zmq bytes"].ratio < 0.05  # bytes are deterministic enough
    assert rows["P5 regtest block latency"].met, rows["P5 regtest block latency"].note
