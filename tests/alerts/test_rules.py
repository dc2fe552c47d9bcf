"""Rule files: defaults, merging by name, disabling, and errors naming file:line, rule and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashwatch.alerts.rules import default_rules_path, load_rules, parse_duration
from hashwatch.config import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_default_rules_path_packaged_copy_equals_config_alerts_yml():
    assert default_rules_path().read_text() == (REPO / "config" / "alerts.yml").read_text()


def test_load_rules_defaults_cover_the_documented_rules():
    names = {r.name for r in load_rules([])}
    assert {
        "difficulty_drop",
        "difficulty_drop_critical",
        "difficulty_projected_drop",
        "hashrate_drawdown",
        "fee_spike",
        "mempool_congestion",
        "margin_negative",
        "hashprice_new_low",
        "pool_dominance",
        "nakamoto_coefficient_low",
        "node_down",
        "no_new_block",
        "node_initial_block_download",
    } <= names


def test_load_rules_user_key_overrides_one_default_key(tmp_path):
    p = write(tmp_path, "rules:\n  - {name: fee_spike, threshold: 4}\n")
    fee = {r.name: r for r in load_rules([p])}["fee_spike"]
    assert fee.threshold == 4 and fee.min_value == 20 and fee.indicator == "fees_spike_ratio"


def test_load_rules_enabled_false_disables_default(tmp_path):
    p = write(tmp_path, "rules:\n  - name: hashprice_new_low\n    enabled: false\n")
    assert "hashprice_new_low" not in {r.name for r in load_rules([p])}


def test_load_rules_without_defaults_only_user_rules(tmp_path):
    p = write(tmp_path, "rules:\n  - {name: peers, indicator: node_peers, op: '<', threshold: 3}\n")
    assert [r.name for r in load_rules([p], use_defaults=False)] == ["peers"]


def test_load_rules_bad_value_names_file_line_rule_and_key(tmp_path):
    p = write(tmp_path, "rules:\n  - name: fee_spike\n    threshold: lots\n")
    with pytest.raises(ConfigError) as exc:
        load_rules([p])
    assert str(exc.value) == (
        f"{p}:3: rule 'fee_spike': threshold: Input should be a valid number, unable to parse "
        "string as a number (got 'lots')"
    )


def test_load_rules_unknown_key_is_an_error(tmp_path):
    p = write(
        tmp_path,
        "rules:\n  - name: r\n    indicator: x\n    op: '>'\n    threshold: 1\n    sumary: hi\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_rules([p], use_defaults=False)
    assert (
        str(exc.value)
        == f"{p}:6: rule 'r': sumary: unknown key; see README.md#alerts for the rule keys"
    )


def test_load_rules_hysteresis_on_wrong_side_names_key(tmp_path):
    p = write(
        tmp_path,
        "rules:\n  - name: r\n    indicator: x\n    op: '<'\n    threshold: 3\n"
        "    resolve_threshold: 1\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_rules([p], use_defaults=False)
    assert str(exc.value) == (
        f"{p}:6: rule 'r': resolve_threshold: 1 must be >= threshold 3 for op < "
        "(hysteresis resolves further away)"
    )


def test_load_rules_unknown_template_field_is_an_error(tmp_path):
    p = write(
        tmp_path,
        "rules:\n  - name: r\n    indicator: x\n    op: '>'\n    threshold: 1\n"
        "    summary: 'x is {valu}'\n",
    )
    with pytest.raises(ConfigError) as exc:
        load_rules([p], use_defaults=False)
    assert str(exc.value).startswith(f"{p}:6: rule 'r': summary: unknown template field 'valu'")


def test_load_rules_template_attribute_access_rejected(tmp_path):
    p = write(
        tmp_path,
        "rules:\n  - name: r\n    indicator: x\n    op: '>'\n    threshold: 1\n"
        "    summary: '{labels.__class__}'\n",
    )
    with pytest.raises(ConfigError, match="attribute access is not allowed"):
        load_rules([p], use_defaults=False)


def test_load_rules_unknown_channel_is_an_error(tmp_path):
    p = write(tmp_path, "rules:\n  - {name: fee_spike, channels: [pager]}\n")
    with pytest.raises(ConfigError) as exc:
        load_rules([p], channels=["ops"])
    assert str(exc.value) == (
        f"{p}:2: rule 'fee_spike': channels: unknown channel 'pager' (known: log, ops)"
    )


def test_load_rules_yaml_syntax_error_names_line(tmp_path):
    p = write(tmp_path, "rules:\n  - name: r\n    op: [\n")
    with pytest.raises(ConfigError, match=rf"^{p}:4: YAML syntax error"):
        load_rules([p])


def test_load_rules_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="rules file not found"):
        load_rules([tmp_path / "nope.yml"])


@pytest.mark.parametrize(
    "text,seconds",
    [(90, 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("30d", 2_592_000), ("1.5h", 5400)],
)
def test_parse_duration_units_to_seconds(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_duration_garbage_rejected():
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration("soon")


def test_alerts_config_docs_fragment_validates():
    import yaml

    from hashwatch.config.alerts import AlertsConfig

    data = yaml.safe_load((REPO / "docs" / "config-alerts.yaml").read_text())
    assert AlertsConfig.model_validate(data["alerts"]).use_default_rules is True


def test_alerts_config_route_to_unknown_channel_rejected(tmp_path):
    from pydantic import ValidationError

    from hashwatch.config.alerts import AlertsConfig

    with pytest.raises(ValidationError, match="routes\\[0\\] names channel 'pager'"):
        AlertsConfig.model_validate({"routes": [{"channels": ["pager"]}]})


def test_alerts_config_webhook_url_file_read_and_never_shown(tmp_path):
    from hashwatch.config.alerts import AlertsConfig

    secret = tmp_path / "hook"
    secret.write_text("https://hooks.slack.com/services/T/B/s3cr3t\n")
    cfg = AlertsConfig.model_validate(
        {"channels": [{"name": "s", "type": "slack", "webhook_url_file": str(secret)}]}
    )
    assert cfg.channels[0].webhook_url.get_secret_value().endswith("/s3cr3t")
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(cfg)


def test_load_rules_default_scope_network_for_market_node_for_node_health():
    scopes = {r.name: r.scope for r in load_rules([])}
    network = {"difficulty_drop", "difficulty_drop_critical", "difficulty_projected_drop",
               "hashrate_drawdown", "fee_spike", "mempool_congestion", "margin_negative",
               "hashprice_new_low", "pool_dominance", "nakamoto_coefficient_low"}
    node = {"node_down", "node_initial_block_download", "no_new_block"}
    assert {n for n, s in scopes.items() if s == "network"} == network
    assert {n for n, s in scopes.items() if s == "node"} == node


def test_load_rules_user_sets_scope_and_bad_scope_names_file_line(tmp_path):
    ok = write(tmp_path, "rules:\n  - {name: mempool_congestion, scope: node}\n")
    (rule,) = [r for r in load_rules([ok]) if r.name == "mempool_congestion"]
    assert rule.scope == "node"
    bad = write(tmp_path, "rules:\n  - name: fee_spike\n    scope: planet\n", "bad.yml")
    with pytest.raises(ConfigError) as exc:
        load_rules([bad])
    assert f"{bad}:3: rule 'fee_spike': scope:" in str(exc.value)
