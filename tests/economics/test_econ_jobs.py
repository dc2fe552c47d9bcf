"""Economics and pools jobs end to end over the snapshot: config -> jobs -> metrics -> status."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from hashwatch.collect import economics as econ_job
from hashwatch.collect import pools as pools_job
from hashwatch.collect import price as price_job
from hashwatch.collect.context import DaemonContext
from hashwatch.indicators.economics import PriceQuote
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics import economics as econ_metrics
from hashwatch.metrics import pools as pools_metrics
from hashwatch.status import economics as econ_status
from hashwatch.status import pools as pools_status

from .econ_helpers import FakeClock, block, config, store_with_node

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCENARIOS = [
    {"name": "texas-0.045", "efficiency_j_per_th": 17.5, "power_price_usd_per_kwh": 0.045,
     "pool_fee_ratio": 0.02},
    {"name": "tariff-2025", "efficiency_j_per_th": 17.5, "power_price_usd_per_kwh": 0.045,
     "hardware_usd_per_th": 16, "hardware_tariff_ratio": 0.25, "pool_fee_ratio": 0.02},
]


def _ctx(store, clock, **sections) -> DaemonContext:
    cfg = config(economics={"scenarios": SCENARIOS, "price": {"static_usd": 80500}}, **sections)
    return DaemonContext(config=cfg, clients={}, store=store, state_dir=Path("."), clock=clock)


def _registry(store, now: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store.current, [
        ("economics", lambda s: econ_metrics.render(s, now=now)), ("pools", pools_metrics.render),
    ]))
    return registry


def test_make_jobs_one_price_job_and_one_economics_job_per_node() -> None:
    clock = FakeClock()
    ctx = _ctx(store_with_node(), clock)
    assert [(j.name, j.node) for j in price_job.make_jobs(ctx)] == [("price", None)]
    assert [(j.name, j.node) for j in econ_job.make_jobs(ctx)] == [("economics", "n1")]
    assert [(j.name, j.node) for j in pools_job.make_jobs(ctx)] == [("pools", "n1")]


def test_make_jobs_no_price_configured_no_price_job() -> None:
    ctx = DaemonContext(config=config(), clients={}, store=store_with_node(), state_dir=Path("."))
    assert price_job.make_jobs(ctx) == []


def test_economics_job_seed_figures_exported_per_node_and_scenario() -> None:
    clock = FakeClock()
    store = store_with_node(blocks=[block(925_257 + i, fee_sat=2_500_000) for i in range(144)],
                            clock=clock)
    ctx = _ctx(store, clock)
    for job in price_job.make_jobs(ctx) + econ_job.make_jobs(ctx):
        job.run()
    r = _registry(store, clock())
    hp = r.get_sample_value("hashwatch_hashprice_usd_per_phs_day", {"node": "n1"})
    assert hp == pytest.approx(34.17, abs=0.01)
    assert r.get_sample_value("hashwatch_hashprice_usd_per_ths_day", {"node": "n1"}) == (
        pytest.approx(hp / 1000))
    assert r.get_sample_value("hashwatch_btc_price_usd", {"source": "static"}) == 80500
    # texas: 17.5 x 24 = 420 kWh x 0.045 = 18.90; revenue 34.17 x 0.98
    texas = {"node": "n1", "scenario": "texas-0.045"}
    assert r.get_sample_value("hashwatch_hashcost_usd_per_phs_day", texas) == pytest.approx(18.9)
    assert r.get_sample_value("hashwatch_margin_usd_per_phs_day", texas) == pytest.approx(
        hp * 0.98 - 18.9)
    # tariff: + 16 x 1.25 x 1000 / 1095 = 18.26 of hardware per day
    tariff = {"node": "n1", "scenario": "tariff-2025"}
    assert r.get_sample_value("hashwatch_hashcost_usd_per_phs_day", tariff) == pytest.approx(
        18.9 + 20_000 / 1095)
    assert r.get_sample_value("hashwatch_breakeven_hashprice_usd_per_phs_day", tariff) == (
        pytest.approx((18.9 + 20_000 / 1095) / 0.98))
    assert r.get_sample_value("hashwatch_breakeven_power_price_usd_per_kwh", texas) == (
        pytest.approx(hp * 0.98 / 420))


def test_economics_job_stale_price_usd_absent_btc_intact() -> None:
    clock = FakeClock()
    store = store_with_node(blocks=[block(925_300 + i) for i in range(10)], clock=clock)
    ctx = _ctx(store, clock)
    store.set_global("price", PriceQuote(80500, clock(), "http", max_age_seconds=300))
    econ_job.make_jobs(ctx)[0].run()
    r = _registry(store, clock())
    assert r.get_sample_value("hashwatch_hashprice_usd_per_phs_day", {"node": "n1"}) is not None

    clock.advance(301)  # the scrape comes before the next job run: USD must already be gone
    r = _registry(store, clock())
    assert r.get_sample_value("hashwatch_hashprice_usd_per_phs_day", {"node": "n1"}) is None
    assert r.get_sample_value("hashwatch_margin_usd_per_phs_day",
                              {"node": "n1", "scenario": "texas-0.045"}) is None
    assert r.get_sample_value("hashwatch_hashprice_btc_per_phs_day", {"node": "n1"}) > 0
    assert r.get_sample_value("hashwatch_hashcost_usd_per_phs_day",
                              {"node": "n1", "scenario": "texas-0.045"}) == pytest.approx(18.9)

    econ_job.make_jobs(ctx)[0].run()  # the job run after that leaves USD out of the section
    section = store.current().nodes["n1"].section("economics")
    assert section.btc_price_usd is None
    assert "margin_usd_per_phs_day" not in {v.name for v in section.values()}


def test_economics_job_no_blocks_section_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hashwatch.collect.economics")
    clock = FakeClock()
    store = store_with_node(blocks=None, clock=clock)
    job = econ_job.make_jobs(_ctx(store, clock))[0]
    job.run()
    job.run()
    assert store.current().nodes["n1"].section("economics") is None
    assert [r.getMessage() for r in caplog.records] == [
        "event=economics_skipped node=n1 reason=no_blocks"]


def test_economics_job_node_down_metrics_absent() -> None:
    clock = FakeClock()
    store = store_with_node(blocks=[block(925_300)], clock=clock)
    ctx = _ctx(store, clock)
    econ_job.make_jobs(ctx)[0].run()
    store.update_node("n1", up=False)
    r = _registry(store, clock())
    assert r.get_sample_value("hashwatch_hashprice_btc_per_phs_day", {"node": "n1"}) is None
    econ_job.make_jobs(ctx)[0].run()
    assert store.current().nodes["n1"].section("economics") is None


def test_pools_job_shares_from_blocks_section_exported() -> None:
    clock = FakeClock()
    tags = ["/Foundry USA Pool #dropgold/"] * 3 + ["/AntPool/"] * 2 + ["x"]
    store = store_with_node(blocks=[block(900_000 + i, text=tags[i % 6]) for i in range(1008)],
                            clock=clock)
    ctx = _ctx(store, clock)
    pools_job.make_jobs(ctx)[0].run()
    r = _registry(store, clock())
    for window in ("144", "1008"):
        foundry = {"node": "n1", "pool": "Foundry USA", "window": window}
        assert r.get_sample_value("hashwatch_pools_share_ratio", foundry) == pytest.approx(0.5)
        w = {"node": "n1", "window": window}
        assert r.get_sample_value("hashwatch_pools_nakamoto_coefficient", w) == 2.0
        assert r.get_sample_value("hashwatch_pools_unknown_share_ratio", w) == pytest.approx(1 / 6)
        assert r.get_sample_value("hashwatch_pools_hhi", w) == pytest.approx(
            0.25 + 1 / 9 + 24 * (1 / 144) ** 2 if window == "144" else 0.25 + 1 / 9 + 168 / 1008**2)
    rows = dict(pools_status.rows(store.current().nodes["n1"], store.current()))
    assert rows["pools last 144"].startswith("Foundry USA 50.0%, AntPool 33.3%")
    assert "Nakamoto coefficient 2" in rows["concentration last 1008"]


def test_status_rows_margin_per_scenario_with_units() -> None:
    clock = FakeClock()
    store = store_with_node(blocks=[block(925_300 + i) for i in range(144)], clock=clock)
    ctx = _ctx(store, clock)
    for job in price_job.make_jobs(ctx) + econ_job.make_jobs(ctx):
        job.run()
    snap = store.current()
    rows = dict(econ_status.rows(snap.nodes["n1"], snap, now=clock()))
    assert rows["BTC price"].startswith("$80,500.00 (static")
    assert "= $34.17/PH/s/day" in rows["hashprice"]
    # 34.166 x 0.98 - 18.90 = 14.58; tariff adds 20,000 / 1095 = 18.26 of hardware: -3.68
    assert rows["margin texas-0.045"].startswith("+$14.58/PH/s/day (cost $18.90")
    assert rows["margin tariff-2025"].startswith("-$3.68/PH/s/day")
    assert "$/kWh" in rows["margin tariff-2025"]


def test_status_rows_without_price_says_margin_unknown() -> None:
    clock = FakeClock()
    store = store_with_node(blocks=[block(925_300)], clock=clock)
    ctx = _ctx(store, clock)
    econ_job.make_jobs(ctx)[0].run()
    snap = store.current()
    rows = dict(econ_status.rows(snap.nodes["n1"], snap, now=clock()))
    assert rows["margin texas-0.045"].startswith("unknown without a BTC price (cost $18.90")


@pytest.mark.parametrize(
    ("economics", "message"),
    [({"scenarios": [SCENARIOS[0], SCENARIOS[0]]}, "duplicate scenario name 'texas-0.045'"),
     ({"price": {"static_usd": 1, "url": "https://x/p", "field": "a"}}, "exactly one of"),
     ({"price": {"url": "https://x/p"}}, "url needs field"),
     ({"price": {"url": "ftp://x/p", "field": "a"}}, "expected a URL"),
     ({"scenarios": [{**SCENARIOS[0], "hardware_tariff_ratio": 0.25}]},
      "needs hardware_usd_per_th"),
     ({"scenarios": [{**SCENARIOS[0], "curtailment_ratio": 1}]}, "less than 1"),
     ({"scenarios": [{**SCENARIOS[0], "name": "has space"}]}, "should match pattern")],
)
def test_economics_config_invalid_clear_message(economics: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(economics=economics)


def test_pools_config_missing_file_and_bad_windows_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="pool definitions file .* not found"):
        config(pools={"definitions_file": str(tmp_path / "nope.json")})
    with pytest.raises(ValidationError, match="must not repeat"):
        config(pools={"windows": [144, 144]})
    assert config(pools={"windows": [1008, 144]}).pools.windows == [144, 1008]


def test_docs_config_fragment_validates() -> None:
    path = DOCS / "config-economics.yaml"
    if not path.exists():
        pytest.skip("docs/config-economics.yaml not written")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg = config(**data)
    assert [s.name for s in cfg.economics.scenarios] == ["texas-0.045", "tariff-2025"]
    assert cfg.economics.scenarios[1].power_tariff_ratio == 0.25


@pytest.mark.prometheus
def test_render_full_exposition_passes_promtool(tmp_path: Path) -> None:
    import shutil
    import subprocess

    from prometheus_client import generate_latest

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    clock = FakeClock()
    tags = ["/Foundry USA Pool #dropgold/", "/AntPool/", "x"]
    store = store_with_node(blocks=[block(925_000 + i, text=tags[i % 3]) for i in range(1008)],
                            clock=clock)
    ctx = _ctx(store, clock)
    for job in price_job.make_jobs(ctx) + econ_job.make_jobs(ctx) + pools_job.make_jobs(ctx):
        job.run()
    text = generate_latest(_registry(store, clock()))
    assert b"hashwatch_margin_usd_per_phs_day" in text and b"hashwatch_pools_hhi" in text
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
