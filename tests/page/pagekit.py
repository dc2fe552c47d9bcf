"""Helpers for the page tests: a daemon on the simulator, and Debian's headless chromium.

Why the chromium command line and not a driver: ``--dump-dom`` prints the DOM after the page
loaded (what a browser really parsed, not our string), and ``--screenshot`` renders it; both
with a fresh profile and the background-networking switches off (this network is closed).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from hashwatch.config import Config
from hashwatch.daemon import Daemon

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)
SCENARIOS = [
    {"name": "texas-0.045", "efficiency_j_per_th": 17.5, "power_price_usd_per_kwh": 0.045,
     "curtailment_ratio": 0.03, "pool_fee_ratio": 0.02, "other_opex_usd_per_phs_day": 1.5},
    {"name": "tariff-2025", "efficiency_j_per_th": 17.5, "power_price_usd_per_kwh": 0.045,
     "power_tariff_ratio": 0.25, "curtailment_ratio": 0.03, "pool_fee_ratio": 0.02,
     "other_opex_usd_per_phs_day": 1.5, "hardware_usd_per_th": 16,
     "hardware_tariff_ratio": 0.25},
]


def find_chromium() -> str:
    """The chromium binary, or a visible skip (``.ci/run`` installs Debian's package)."""
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser"):
        path = shutil.which(name) if name else None
        if path:
            return path
    pytest.skip("chromium not found: apt-get install chromium (or set CHROMIUM=/path)")


def chromium(binary: str, url: str, *extra: str, timeout: float = 60.0) -> str:
    with tempfile.TemporaryDirectory(prefix="hashwatch-chromium-") as profile:
        proc = subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    if proc.returncode != 0:
        raise AssertionError(f"chromium exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def dump_dom(binary: str, url: str) -> str:
    return chromium(binary, url, "--dump-dom")


def screenshot(binary: str, url: str, path: Path, width: int, height: int) -> Path:
    chromium(binary, url, f"--screenshot={path}", f"--window-size={width},{height}")
    assert path.exists() and path.stat().st_size > 10_000, f"no screenshot at {path}"
    return path


def get_page(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        return resp.read().decode()


def daemon_config(sim: Any, tmp_path: Path, **extra: Any) -> Config:
    data: dict[str, Any] = {
        "nodes": [{"name": "n1", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path),
                   "timeout_seconds": 5}],
        "polling": {"chain_seconds": 0.5, "mempool_seconds": 0.5, "headers_seconds": 0.5,
                    "blocks_seconds": 0.5, "price_seconds": 5, "jitter_seconds": 0},
        "metrics": {"port": 0},
        "state_dir": str(tmp_path / "state"),
        "fees": {"block_window": 144},
        "economics": {"price": {"static_usd": 80500}, "scenarios": SCENARIOS},
    }
    data.update(extra)
    return Config.model_validate(data)


def start_daemon(sim: Any, tmp_path: Path, **extra: Any) -> Daemon:
    daemon = Daemon(daemon_config(sim, tmp_path, **extra), clock=sim.clock.now)
    daemon.start()
    return daemon


def row_value(page: str, key: str) -> str:
    """The text of the value of the row ``data-key=key`` (first match), unescaped."""
    m = re.search(rf'data-key="{re.escape(key)}"><dt>.*?</dt><dd>(.*?)</dd>', page, re.S)
    assert m, f"no row {key!r} on the page"
    return html.unescape(m.group(1))


def table_rows(page: str, key: str) -> list[list[str]]:
    """Body rows of the table ``data-key=key`` as lists of unescaped cell texts."""
    m = re.search(rf'<table data-key="{re.escape(key)}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert m, f"no table {key!r} on the page"
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)]
