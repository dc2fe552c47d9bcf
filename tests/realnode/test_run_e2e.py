"""``hashwatch run`` end to end (a real process, its own config file) with /metrics compared
value by value with the node's own answers (RPC, and bitcoin-cli on a real node).

One node per backend for the module: blocks with payments at assorted fee rates, then a few
hundred payments left waiting, then ``hashwatch run``. Each test waits (with a deadline) until
the exported value equals the node's, so a value that is wrong or never exported fails.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from hashwatch.indicators.mempool_projection import FEE_BANDS

from ..harness.bitcoind import free_port
from .helpers import NODE, rates, sat, scrape, ulps_apart, value, wait_for

MINED_BLOCKS = 6  # blocks that carry payments (fee windows; Core estimates fees after ~4)
WAITING = 300  # payments left in the mempool


class Run:
    def __init__(self, backend: Any, port: int, proc: subprocess.Popen, log: Path):
        self.backend, self.port, self.proc, self.log = backend, port, proc, log

    def get(self, name: str, **labels: str) -> float | None:
        labels.setdefault("node", NODE)
        return value(scrape(self.port), name, **labels)

    def converge(self, name: str, expected, tol: float = 0.0, **labels: str) -> float:
        """Wait until the metric equals ``expected()`` (within ``tol``); return the value."""
        last: list[Any] = [None, None]

        def ok() -> bool:
            got, want = self.get(name, **labels), float(expected())
            last[:] = [got, want]
            return got is not None and abs(got - want) <= tol

        try:
            wait_for(ok, 30, name)
        except AssertionError:
            raise AssertionError(f"{name}{labels}: exported {last[0]!r}, node says {last[1]!r}"
                                 ) from None
        return float(last[0])


@pytest.fixture(scope="module")
def run(backend, tmp_path_factory) -> Iterator[Run]:
    b = backend
    b.fan_out(MINED_BLOCKS * 40 + WAITING + 50)
    for i in range(MINED_BLOCKS):
        b.pay_many(rates(40, seed=100 + i))
        b.mine(1)
    b.mine(1)  # a coinbase-only block at the tip of the 6-block window's history
    b.pay_many(rates(30, seed=7))
    b.mine(1)  # the tip block carries payments: window 1 has percentiles
    b.pay_many(rates(WAITING, seed=11))
    tmp = tmp_path_factory.mktemp("run")
    port = free_port()
    cfg = tmp / "hashwatch.yaml"
    cfg.write_text(yaml.safe_dump({
        "nodes": [{"name": NODE, "url": b.rpc_url, "network": "regtest",
                   "cookie_file": str(b.cookie_path), "timeout_seconds": 5,
                   "zmq_sequence": b.zmq_url, "zmq_hashblock": b.zmq_url}],
        "polling": {"chain_seconds": 0.5, "mempool_seconds": 0.5, "headers_seconds": 1,
                    "blocks_seconds": 1, "jitter_seconds": 0},
        "fees": {"estimate_seconds": 1},
        "pools": {"windows": [6, 100]},
        "metrics": {"port": port},
        "state_dir": str(tmp / "state"),
    }))
    log = tmp / "hashwatch.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "hashwatch", "run", "-c", str(cfg)],
                                stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ))
    r = Run(b, port, proc, log)
    try:
        def up() -> bool:
            try:
                return r.get("hashwatch_node_up") == 1
            except OSError:
                assert proc.poll() is None, log.read_text()[-2000:]
                return False

        wait_for(up, 30, "hashwatch run: node_up 1")
        yield r
    finally:
        proc.terminate()
        proc.wait(10)


def _info(b, key):
    return lambda: b.rpc("getblockchaininfo")[key]


def _mempool(b, key, scale=1.0):
    return lambda: Decimal(str(b.rpc("getmempoolinfo")[key])) * Decimal(scale)


BASE = {  # metric -> (what Core says, tolerance)
    "hashwatch_node_blocks": (lambda b: b.rpc("getblockcount"), 0),
    "hashwatch_node_headers": (lambda b: _info(b, "headers")(), 0),
    "hashwatch_node_best_block_time_seconds":
        (lambda b: b.rpc("getblockheader", b.rpc("getbestblockhash"))["time"], 0),
    "hashwatch_node_verification_progress_ratio":
        (lambda b: _info(b, "verificationprogress")(), 1e-12),
    "hashwatch_node_initial_block_download":
        (lambda b: int(_info(b, "initialblockdownload")()), 0),
    "hashwatch_node_peers": (lambda b: b.rpc("getconnectioncount"), 0),
    "hashwatch_mempool_transactions": (lambda b: _mempool(b, "size")(), 0),
    "hashwatch_mempool_vsize_bytes": (lambda b: _mempool(b, "bytes")(), 0),
    "hashwatch_mempool_usage_bytes": (lambda b: _mempool(b, "usage")(), 0),
    "hashwatch_mempool_max_bytes": (lambda b: _mempool(b, "maxmempool")(), 0),
    "hashwatch_mempool_min_fee_sat_per_vbyte":
        (lambda b: _mempool(b, "mempoolminfee", 100_000)(), 1e-9),
    "hashwatch_mempool_total_fee_sat": (lambda b: sat(b.rpc("getmempoolinfo")["total_fee"]), 0),
    "hashwatch_mempool_blocks_to_clear": (lambda b: 1, 0),
}


@pytest.mark.parametrize("name", list(BASE))
def test_metric_equals_node(run, name):
    expected, tol = BASE[name]
    run.converge(name, lambda: expected(run.backend), tol)


@pytest.mark.parametrize("name", ["hashwatch_node_difficulty", "hashwatch_difficulty_current"])
def test_difficulty_within_one_ulp_of_getdifficulty(run, name):
    """Core prints 16 significant digits: the exported double may be 1 ULP from the text."""
    got = run.converge(name, lambda: run.backend.rpc("getdifficulty"), 1e-20)
    want = float(run.backend.rpc("getdifficulty"))
    assert ulps_apart(got, want) <= 1, (got, want)
    if getattr(run.backend, "cli_path", None):
        assert ulps_apart(got, float(run.backend.cli("getdifficulty"))) <= 1


def test_node_info_names_chain_version_and_subversion(run):
    net = run.backend.rpc("getnetworkinfo")
    assert run.get("hashwatch_node_info", chain="regtest", version=str(net["version"]),
                   subversion=net["subversion"]) == 1


def test_cli_and_metrics_agree_on_height_and_mempool(run):
    """bitcoin-cli's own text (real node) against /metrics."""
    b = run.backend
    if getattr(b, "cli_path", None) is None:
        pytest.skip("the simulator has no bitcoin-cli; RPC comparisons cover it")
    run.converge("hashwatch_node_blocks", lambda: int(b.cli("getblockcount")))
    info = yaml.safe_load(b.cli("getmempoolinfo"))
    run.converge("hashwatch_mempool_transactions", lambda: info["size"])
    run.converge("hashwatch_mempool_vsize_bytes", lambda: info["bytes"])


def _score(e: dict) -> float:
    own = float(Decimal(str(e["fees"]["modified"])) * 100_000_000) / e["vsize"]
    anc_size = e.get("ancestorsize")
    if anc_size:
        return min(own, float(Decimal(str(e["fees"]["ancestor"])) * 100_000_000) / anc_size)
    return own


def test_fee_histogram_equals_node_mempool_band_by_band(run):
    b = run.backend

    def expected() -> list[tuple[str, int]]:
        raw = b.rpc("getrawmempool", True)
        out, bands = [], [*FEE_BANDS, math.inf]
        for le in bands:
            vs = sum(e["vsize"] for e in raw.values() if _score(e) <= le + 1e-9)
            out.append(("+Inf" if le == math.inf else f"{le:g}", vs))
        return out

    def exported() -> list[tuple[str, int]]:
        s = scrape(run.port)
        return [(le, value(s, "hashwatch_mempool_histogram_vsize_bytes", node=NODE, le=le))
                for le, _ in expected()]

    wait_for(lambda: exported() == expected(), 30, "histogram == getrawmempool bands")
    assert expected()[-1][1] == int(b.rpc("getmempoolinfo")["bytes"])


def test_next_block_total_fee_equals_getblocktemplate(run):
    """All waiting payments fit in one block: projected block 1 is the template exactly."""
    b = run.backend

    def template_fees() -> int:
        t = b.rpc("getblocktemplate", {"rules": ["segwit"]})
        return sum(int(tx["fee"]) for tx in t["transactions"])

    run.converge("hashwatch_fees_next_block_total_fee_sat", template_fees, block="1")


def _stats(b, n: int) -> list[dict]:
    tip = b.rpc("getblockcount")
    return [b.rpc("getblockstats", h) for h in range(tip - n + 1, tip + 1)]


@pytest.mark.parametrize("window", ["1", "6"])
def test_block_total_fee_window_equals_getblockstats(run, window):
    """The metric is the mean per block over the window (its HELP says so)."""
    run.converge("hashwatch_fees_block_total_fee_sat",
                 lambda: sum(s["totalfee"] for s in _stats(run.backend, int(window)))
                 / int(window), 1e-9, window=window)


@pytest.mark.parametrize("window", ["1", "6"])
def test_block_fee_share_window_equals_getblockstats(run, window):
    def share() -> float:
        st = _stats(run.backend, int(window))
        fees = sum(s["totalfee"] for s in st)
        return fees / (fees + sum(s["subsidy"] for s in st))

    assert share() > 0  # the fixture mined payments: a zero would not test anything
    run.converge("hashwatch_fees_block_fee_share_ratio", share, 1e-12, window=window)


@pytest.mark.parametrize("i,pct", list(enumerate(["10", "25", "50", "75", "90"])))
def test_tip_block_percentiles_equal_getblockstats(run, i, pct):
    run.converge("hashwatch_fees_block_percentile_sat_per_vbyte",
                 lambda: _stats(run.backend, 1)[0]["feerate_percentiles"][i], 0,
                 window="1", percentile=pct)


@pytest.mark.parametrize("window", ["6", "100"])
def test_pool_shares_from_coinbases_cover_the_window(run, window):
    """Real regtest coinbases carry no pool tag (height push and a zero byte) and pay to the
    wallet's own address: every block is "unknown", consistently. The simulator tags some
    blocks with simulated pools; there the shares and the unknown share add up to 1."""
    wait_for(lambda: run.get("hashwatch_pools_unknown_share_ratio", window=window) is not None,
             30, "pool shares")
    s = scrape(run.port)
    unknown = value(s, "hashwatch_pools_unknown_share_ratio", node=NODE, window=window)
    named = {dict(k[1])["pool"]: v for k, v in s.items()
             if k[0] == "hashwatch_pools_share_ratio" and dict(k[1]).get("window") == window}
    assert unknown + sum(named.values()) == pytest.approx(1.0)
    if run.backend.kind == "real":
        assert unknown == 1.0 and named == {}, named
        # every unknown block counts as its own producer: more than half needs > window/2
        assert value(s, "hashwatch_pools_nakamoto_coefficient", node=NODE,
                     window=window) == int(window) // 2 + 1


def test_estimates_match_estimatesmartfee_or_are_absent(run):
    """Each (target, mode) equals Core's ``estimatesmartfee`` (BTC/kvB -> sat/vB), or is absent
    where Core has no estimate. On the real node the fixture's paid blocks give Core enough
    data, so the comparison is exercised, not only the absence."""
    b = run.backend
    compared = 0
    for target in (1, 3, 6, 144):
        for mode in ("economical", "conservative"):
            def same(target: int = target, mode: str = mode) -> bool:
                answer = b.rpc("estimatesmartfee", target, mode)
                got = run.get("hashwatch_fees_estimate_sat_per_vbyte", target=str(target),
                              mode=mode)
                if "feerate" not in answer:  # "Insufficient data or no feerate found"
                    return got is None
                want = float(Decimal(str(answer["feerate"])) * 100_000)
                return got is not None and abs(got - want) <= 1e-9 * want

            wait_for(same, 30, f"estimate target={target} mode={mode} == estimatesmartfee")
            compared += "feerate" in b.rpc("estimatesmartfee", target, mode)
    if b.kind == "real":
        assert compared >= 4, "Core gave no estimates: the comparison did not run"


def test_rpc_traffic_counters_grow(run):
    before = run.get("hashwatch_rpc_received_bytes_total")
    run.backend.mine(1)
    height = run.backend.rpc("getblockcount")
    run.converge("hashwatch_node_blocks", lambda: height)
    wait_for(lambda: run.get("hashwatch_rpc_received_bytes_total") > before, 10, "more bytes")
    assert run.proc.poll() is None


def test_regtest_exports_no_economics_series(run):
    """Issue 13 #6: regtest hashprice (2.2e21 BTC/PH/day) means nothing and is not exported."""
    wait_for(lambda: run.get("hashwatch_section_age_seconds", section="fees") is not None)
    names = {n for n, _ in scrape(run.port) if n.startswith("hashwatch_hashprice")}
    assert names == set(), names


def test_coinbase_only_tip_has_no_block_percentiles(run):
    """Issue 13 #6: an empty block has no fee rates; no percentile may be exported for it.
    (Runs last: it mines an empty tip.)"""
    b = run.backend
    b.mine(1)  # the waiting payments confirm: this tip has them
    b.mine(1)  # and this one is coinbase-only
    assert b.rpc("getblockstats", b.rpc("getblockcount"))["txs"] == 1
    run.converge("hashwatch_node_blocks", lambda: b.rpc("getblockcount"))
    run.converge("hashwatch_fees_block_total_fee_sat", lambda: 0, window="1")
    for pct in ("10", "25", "50", "75", "90"):
        assert run.get("hashwatch_fees_block_percentile_sat_per_vbyte", window="1",
                       percentile=pct) is None, pct
