"""`hashwatch test-alert` and `hashwatch alerts` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hashwatch", *args], capture_output=True,
                          text=True, timeout=60)


def write_config(tmp_path, slack_url: str):
    path = tmp_path / "hashwatch.yaml"
    path.write_text(yaml.safe_dump({
        "nodes": [{"name": "n1", "cookie_file": str(tmp_path / ".cookie")}],
        "state_dir": str(tmp_path / "state"),
        "alerts": {"channels": [{"name": "ops-slack", "type": "slack",
                                 "webhook_url": slack_url}]},
    }))
    return path


def test_test_alert_command_sends_one_slack_message_without_leaking_url(tmp_path, http_server):
    secret_url = http_server.url + "/services/T000/B000/s3cr3t-t0ken"
    config = write_config(tmp_path, secret_url)
    result = run("test-alert", "--channel", "ops-slack", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert len(http_server.accepted) == 1
    assert http_server.accepted[0].path == "/services/T000/B000/s3cr3t-t0ken"
    assert "test" in json.loads(http_server.accepted[0].body)["text"].lower()
    assert "s3cr3t-t0ken" not in result.stdout + result.stderr


def test_test_alert_unknown_channel_exit_2(tmp_path, http_server):
    config = write_config(tmp_path, http_server.url + "/hook")
    result = run("test-alert", "--channel", "pager", "--config", str(config))
    assert result.returncode == 2
    assert "pager" in result.stderr
    assert http_server.received == []


def test_test_alert_failing_slack_exit_1_with_reason(tmp_path, http_server):
    http_server.responses.append((500, {}, b"oops"))
    config = write_config(tmp_path, http_server.url + "/hook")
    result = run("test-alert", "--channel", "ops-slack", "--config", str(config))
    assert result.returncode == 1
    assert "http_5xx" in result.stderr


def test_alerts_command_lists_no_active_alerts_on_fresh_state(tmp_path, http_server):
    config = write_config(tmp_path, http_server.url + "/hook")
    result = run("alerts", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "Active alerts: 0" in result.stdout
    assert "Outbox: 0 undelivered" in result.stdout
