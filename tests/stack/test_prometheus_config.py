"""Prometheus side of the stack: config and rules pass promtool, rule unit tests pass, and the
rules only use metric names from the contract (a renamed metric must break this, not the pager)."""

from __future__ import annotations

import pytest

from .stackutil import REPO, known_metrics, load_yaml, metric_names_in, require_tool, run

PROM = REPO / "config" / "prometheus"
RULES = PROM / "rules" / "hashwatch.rules.yml"
RULE_TESTS = PROM / "tests" / "hashwatch.rules.test.yml"
ALL_RULE_TESTS = sorted((PROM / "tests").glob("*.test.yml"))

pytestmark = pytest.mark.prometheus


def _alert_rules() -> list[dict]:
    return [r for g in load_yaml(RULES)["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_check_config_compose_config_succeeds():
    promtool = require_tool("promtool")
    result = run([promtool, "check", "config", str(PROM / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    # the rule_files glob must actually pick up the rules file, not match nothing
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_check_rules_rules_file_succeeds():
    promtool = require_tool("promtool")
    result = run([promtool, "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tests_file", ALL_RULE_TESTS, ids=[p.stem for p in ALL_RULE_TESTS])
def test_promtool_test_rules_unit_tests_pass(tests_file):
    promtool = require_tool("promtool")
    result = run([promtool, "test", "rules", tests_file.name], cwd=tests_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_test_rules_broken_threshold_fails(tmp_path):
    """The unit tests have teeth: move the difficulty warning line and they must fail (the seed
    retarget's -1.95% would then no longer warn)."""
    promtool = require_tool("promtool")
    text = RULES.read_text(encoding="utf-8")
    assert ") <= -1.5\n" in text
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules" / RULES.name).write_text(
        text.replace(") <= -1.5\n", ") <= -2\n"),
        encoding="utf-8",
    )
    (tmp_path / "tests" / RULE_TESTS.name).write_text(
        RULE_TESTS.read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = run([promtool, "test", "rules", RULE_TESTS.name], cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "HashwatchDifficultyDrop" in result.stdout + result.stderr


def test_rule_tests_every_alert_fires_and_stays_quiet_somewhere():
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in ALL_RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {r["alert"] for r in _alert_rules()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested staying quiet"


def test_alert_rules_metric_names_are_in_contract():
    known = known_metrics()
    unknown = {
        r["alert"]: sorted(metric_names_in(r["expr"]) - known)
        for r in _alert_rules()
        if metric_names_in(r["expr"]) - known
    }
    assert unknown == {}


def test_alert_rules_every_rule_has_severity_and_summary():
    for rule in _alert_rules():
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
        # class drives Alertmanager's "node unhealthy pauses market alerts" inhibition
        assert rule["labels"]["class"] in ("market", "pools", "node"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_alert_rules_seed_situations_are_covered():
    """The built-in seed rules' situations each have a Prometheus counterpart."""
    exprs = " ".join(r["expr"] for r in _alert_rules())
    for metric in (
        "hashwatch_difficulty_last_retarget_change_percent",
        "hashwatch_difficulty_projected_change_percent",
        "hashwatch_hashrate_drawdown_ratio",
        "hashwatch_fees_spike_ratio",
        "hashwatch_fees_next_block_median_sat_per_vbyte",
        "hashwatch_mempool_blocks_to_clear",
        "hashwatch_margin_usd_per_phs_day",
        "hashwatch_pools_share_ratio",
        "hashwatch_pools_nakamoto_coefficient",
        "hashwatch_node_up",
        "hashwatch_node_best_block_age_seconds",
        "hashwatch_node_initial_block_download",
        "hashwatch_hashprice_usd_per_phs_day",
    ):
        assert metric in exprs, metric


def test_prometheus_config_targets_are_compose_services():
    compose = load_yaml(REPO / "docker-compose.yml")
    config = load_yaml(PROM / "prometheus.yml")
    hosts = {
        t.split(":")[0]
        for job in config["scrape_configs"]
        for sc in job["static_configs"]
        for t in sc["targets"]
    }
    hosts |= {
        t.split(":")[0]
        for am in config["alerting"]["alertmanagers"]
        for sc in am["static_configs"]
        for t in sc["targets"]
    }
    assert hosts - {"localhost"} <= set(compose["services"])
    assert "hashwatch" in hosts
