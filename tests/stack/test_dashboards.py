"""Provisioned Grafana dashboards: generated from grafana/dashgen.py, every panel has a unit,
thresholds and help, every query is valid PromQL over metric names from the contract."""

from __future__ import annotations

import json
import re
import sys

import pytest
import yaml

from .stackutil import REPO, known_metrics, load_yaml, metric_names_in, require_tool, run

DASH_DIR = REPO / "grafana" / "dashboards"
BOARDS = sorted(DASH_DIR.glob("*.json"))
EXPECTED = {"overview", "difficulty", "fees", "economics", "pools", "health", "fleet"}
VAR_VALUES = {"site": ".*", "node": "sim", "scenario": "texas_ppa", "window": "1008",
              "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}


def substitute(expr: str, values: dict[str, str] = VAR_VALUES) -> str:
    """Grafana's ``$var`` / ``${var}`` with concrete values, longest names first."""
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return expr


def panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p["type"] != "row"]


def all_targets() -> list[tuple[str, str, str]]:
    """(board file, panel title, expr) for every query of every board."""
    out = []
    for path in BOARDS:
        board = json.loads(path.read_text())
        for p in panels(board):
            for t in p["targets"]:
                out.append((path.name, p["title"], t["expr"]))
    return out


def test_dashgen_committed_json_is_up_to_date():
    result = run([sys.executable, str(REPO / "grafana" / "dashgen.py"), "--check"])
    assert result.returncode == 0, "run: python grafana/dashgen.py\n" + result.stdout


def test_dashboards_the_seven_boards_exist_with_unique_uids():
    assert {p.stem for p in BOARDS} == EXPECTED
    uids = [json.loads(p.read_text())["uid"] for p in BOARDS]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("path", BOARDS, ids=[p.stem for p in BOARDS])
def test_dashboard_panels_have_unit_thresholds_description(path):
    board = json.loads(path.read_text())
    for p in panels(board):
        defaults = p["fieldConfig"]["defaults"]
        assert defaults.get("unit"), p["title"]
        assert defaults["thresholds"]["steps"][0]["value"] is None, p["title"]
        assert p["description"], p["title"]
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["targets"], p["title"]


# Grafana unit ids the boards may use (from Grafana's unit catalogue); custom ones as "suffix:u".
GRAFANA_UNITS = {"none", "short", "percent", "percentunit", "s", "dtdurations", "dateTimeAsIso",
                 "decbytes", "Bps", "reqps", "ops", "currencyUSD", "currencyBTC", "Hs"}


def test_dashboard_units_are_grafana_unit_ids():
    bad = []
    for path in BOARDS:
        for p in panels(json.loads(path.read_text())):
            unit = p["fieldConfig"]["defaults"]["unit"]
            if unit not in GRAFANA_UNITS and not re.fullmatch(r"suffix:\S.*", unit):
                bad.append(f"{path.stem}/{p['title']}: {unit!r}")
    assert bad == []


@pytest.mark.parametrize("path", BOARDS, ids=[p.stem for p in BOARDS])
def test_dashboard_variables_node_and_scenario_defined_where_used(path):
    board = json.loads(path.read_text())
    defined = {v["name"] for v in board["templating"]["list"]}
    assert {"datasource", "site", "node"} <= defined
    used = set()
    for _, _, expr in [t for t in all_targets() if t[0] == path.name]:
        used |= set(re.findall(r"\$\{?([A-Za-z_]\w*)", expr))
    assert used - {"__rate_interval", "__interval", "__range"} <= defined


def test_dashboards_scenario_variable_on_economics_and_overview():
    for stem in ("economics", "overview"):
        board = json.loads((DASH_DIR / f"{stem}.json").read_text())
        assert "scenario" in {v["name"] for v in board["templating"]["list"]}


def test_dashboard_queries_scope_to_selected_node():
    global_metrics = {"hashwatch_btc_price_usd", "hashwatch_price_age_seconds",
                      "hashwatch_build_info", "hashwatch_renderer_success",
                      "hashwatch_alerts_firing", "hashwatch_alerts_notifications_sent_total",
                      "hashwatch_alerts_notifications_failed_total",
                      "hashwatch_alerts_notifications_dropped_total",
                      "hashwatch_alerts_outbox_notifications"}
    unscoped = []
    for board, title, expr in all_targets():
        for name in metric_names_in(expr) - global_metrics:
            if not re.search(re.escape(name) + r'\{site=~"\$site",node=~"\$node"', expr):
                unscoped.append(f"{board}/{title}: {name}")
    assert unscoped == []


def test_dashboard_queries_use_only_contract_metrics():
    known = known_metrics()
    unknown = sorted({f"{b}/{t}: {n}" for b, t, e in all_targets()
                      for n in metric_names_in(e) - known})
    assert unknown == []


def test_dashboard_queries_parse_as_promql(tmp_path):
    """promtool parses every query (as a recording rule) after variable substitution."""
    promtool = require_tool("promtool")
    targets = all_targets()
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard_query_{i}", "expr": substitute(expr)}
        for i, (_, _, expr) in enumerate(targets)]}]}
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run([promtool, "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(targets)} rules found" in result.stdout


def test_substitute_grafana_variables_replaced():
    expr = 'rate(x{node=~"$node",scenario=~"${scenario}"}[$__rate_interval])'
    assert substitute(expr) == 'rate(x{node=~"sim",scenario=~"texas_ppa"}[1m])'


def test_grafana_provisioning_datasource_uid_and_type():
    ds = load_yaml(REPO / "grafana/provisioning/datasources/prometheus.yml")["datasources"]
    assert len(ds) == 1 and ds[0]["type"] == "prometheus" and ds[0]["isDefault"] is True
    providers = load_yaml(REPO / "grafana/provisioning/dashboards/hashwatch.yml")["providers"]
    assert providers[0]["type"] == "file"


NETWORK_WIDE = ("hashwatch_difficulty_", "hashwatch_hashrate_", "hashwatch_fees_",
                "hashwatch_mempool_blocks_to_clear", "hashwatch_hashprice_", "hashwatch_pools_")


def test_fleet_board_network_wide_panels_aggregate_by_network_and_site_variable_is_all():
    board = json.loads((DASH_DIR / "fleet.json").read_text())
    exprs = [t["expr"] for p in panels(board) for t in p["targets"]]
    network_wide = [e for e in exprs if any(n.startswith(NETWORK_WIDE) for n in
                                             metric_names_in(e))]
    assert len(network_wide) >= 6
    for expr in network_wide:
        assert re.match(r"quantile by \(network\b", expr), expr
        assert "group_left (network)" in expr and "hashwatch_node_info" in expr, expr
    site = {v["name"]: v for v in board["templating"]["list"]}["site"]
    assert site["includeAll"] and site["allValue"] == ".*"  # single-site series have no site


def test_board_builder_is_a_package_without_path_edits():
    for path in (REPO / "grafana").rglob("*.py"):
        assert "sys.path" not in path.read_text(encoding="utf-8"), path
