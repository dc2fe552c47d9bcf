"""Alertmanager side of the stack: the template rendered from the environment (as the compose
entrypoint does) passes amtool, receivers follow the variables, secrets survive quoting."""

from __future__ import annotations

import shutil

import pytest
import yaml

from .stackutil import REPO, require_tool, run

TEMPLATE = REPO / "config" / "alertmanager" / "alertmanager.yml.tmpl"
RENDER = REPO / "docker" / "render-alertmanager.sh"


def _sh() -> str:
    sh = shutil.which("dash") or shutil.which("sh")
    assert sh, "no POSIX sh"
    return sh


def render(tmp_path, env: dict[str, str]):
    out = tmp_path / "alertmanager.yml"
    env = {"PATH": "/usr/bin:/bin", **env}
    result = run([_sh(), str(RENDER), str(TEMPLATE), str(out)], env=env)
    return result, out


def test_render_defaults_amtool_check_config_succeeds(tmp_path):
    amtool = require_tool("amtool")
    result, out = render(tmp_path, {})
    assert result.returncode == 0, result.stderr
    check = run([amtool, "check-config", str(out)])
    assert check.returncode == 0, check.stdout + check.stderr
    config = yaml.safe_load(out.read_text())
    assert config["global"]["smtp_smarthost"] == "mailpit:1025"
    receivers = {r["name"]: r for r in config["receivers"]}
    assert "slack_configs" not in receivers["team"]
    assert "smtp_auth_username" not in config["global"]


def test_render_with_slack_and_smtp_auth_amtool_check_config_succeeds(tmp_path):
    amtool = require_tool("amtool")
    webhook = "https://hooks.slack.com/services/T000/B000/a&b|c'd\\e"
    password = "p&ss|w'rd\\x"
    result, out = render(tmp_path, {
        "ALERTMANAGER_SLACK_WEBHOOK_URL": webhook,
        "ALERTMANAGER_SLACK_CHANNEL": "#ops",
        "ALERTMANAGER_SMTP_SMARTHOST": "smtp.example.org:587",
        "ALERTMANAGER_SMTP_REQUIRE_TLS": "true",
        "ALERTMANAGER_SMTP_USERNAME": "alerts",
        "ALERTMANAGER_SMTP_PASSWORD": password,
        "ALERTMANAGER_EMAIL_TO": "miners@example.org",
    })
    assert result.returncode == 0, result.stderr
    check = run([amtool, "check-config", str(out)])
    assert check.returncode == 0, check.stdout + check.stderr
    config = yaml.safe_load(out.read_text())
    assert config["global"]["slack_api_url"] == webhook
    assert config["global"]["smtp_auth_password"] == password
    assert config["global"]["smtp_require_tls"] is True
    team = {r["name"]: r for r in config["receivers"]}["team"]
    assert team["slack_configs"][0]["channel"] == "#ops"
    assert team["email_configs"][0]["to"] == "miners@example.org"
    # the secrets are in the rendered file only, never in the render log line
    assert webhook not in result.stdout + result.stderr
    assert password not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [(["severity=critical", "alertname=HashwatchNodeDown"], "team"),
     (["severity=warning", "alertname=HashwatchFeeSpike"], "team"),
     (["severity=info", "alertname=HashwatchProjectedDifficultyDrop"], "email-only")],
)
def test_amtool_routes_severity_goes_to_expected_receiver(tmp_path, labels, receiver):
    amtool = require_tool("amtool")
    result, out = render(tmp_path, {})
    assert result.returncode == 0, result.stderr
    routed = run([amtool, "config", "routes", "test", f"--config.file={out}", *labels])
    assert routed.returncode == 0, routed.stdout + routed.stderr
    assert routed.stdout.strip() == receiver


def test_render_newline_in_value_fails_without_output(tmp_path):
    result, out = render(tmp_path, {"ALERTMANAGER_EMAIL_TO": "a@example.org\nroute: {}"})
    assert result.returncode == 2
    assert "newline_in_value" in result.stderr
    assert not out.exists()


def test_render_require_tls_not_boolean_fails(tmp_path):
    result, out = render(tmp_path, {"ALERTMANAGER_SMTP_REQUIRE_TLS": "yes please"})
    assert result.returncode == 2
    assert not out.exists()


def test_render_unknown_placeholder_fails(tmp_path):
    template = tmp_path / "t.yml"
    template.write_text("global:\n  smtp_from: '${ALERTMANAGER_TYPO}'\n")
    out = tmp_path / "out.yml"
    result = run([_sh(), str(RENDER), str(template), str(out)], env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "unknown_placeholder" in result.stderr
    assert not out.exists()


def test_inhibit_rules_name_alerts_that_exist():
    rules = yaml.safe_load((REPO / "config/prometheus/rules/hashwatch.rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    text = TEMPLATE.read_text()
    for name in ("HashwatchNodeDown", "HashwatchInitialBlockDownload", "HashwatchNoBlock",
                 "HashwatchStaleSection"):
        assert name in text and name in alerts
    classes = {r["labels"]["class"] for g in rules["groups"] for r in g["rules"]}
    assert {"market", "pools"} <= classes
