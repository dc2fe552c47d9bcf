"""The fleet example files (config/fleet/) and the shipped Alertmanager routes: valid for the
real tools, and grouping network-wide alerts by network and node alerts by site and node."""

from __future__ import annotations

import subprocess
import sys

import yaml

from ..stack.stackutil import REPO, require_tool, run
from ..stack.test_alertmanager_config import render

FLEET = REPO / "config" / "fleet"


def test_fleet_alertmanager_config_passes_amtool_and_groups_by_identity():
    amtool = require_tool("amtool")
    path = FLEET / "alertmanager.yml"
    check = run([amtool, "check-config", str(path)])
    assert check.returncode == 0, check.stdout + check.stderr
    route = yaml.safe_load(path.read_text())["route"]
    assert route["group_by"] == ["alertname", "network"]
    (node,) = [r for r in route["routes"] if r["matchers"] == ['class="node"']]
    assert node["group_by"] == ["alertname", "site", "node"]


def test_shipped_alertmanager_template_groups_network_and_node_alerts_apart(tmp_path):
    amtool = require_tool("amtool")
    result, out = render(tmp_path, {})
    assert result.returncode == 0, result.stderr
    route = yaml.safe_load(out.read_text())["route"]
    assert route["group_by"] == ["alertname", "network"]
    node = route["routes"][0]
    assert node["matchers"] == ['class="node"']
    assert node["group_by"] == ["alertname", "site", "node"]
    for labels, receiver in (
        (["alertname=node_down", "class=node", "severity=critical", "site=a", "node=n1"], "team"),
        (["alertname=fee_spike", "class=market", "severity=warning", "network=main"], "team"),
        (["alertname=mempool_congestion", "class=market", "severity=info"], "email-only"),
    ):
        routed = run([amtool, "config", "routes", "test", f"--config.file={out}", *labels])
        assert routed.stdout.strip() == receiver, (labels, routed.stdout + routed.stderr)


def test_fleet_prometheus_configs_pass_promtool():
    promtool = require_tool("promtool")
    for name in ("prometheus-site.yml", "prometheus-central.yml"):
        path = FLEET / name
        text = path.read_text().replace("/etc/prometheus/rules/*.yml",
                                        str(REPO / "config/prometheus/rules/*.yml"))
        local = path.parent / f".check-{name}"
        try:
            local.write_text(text)
            result = run([promtool, "check", "config", "--syntax-only", str(local)])
        finally:
            local.unlink(missing_ok=True)
        assert result.returncode == 0, (name, result.stdout + result.stderr)
    site = yaml.safe_load((FLEET / "prometheus-site.yml").read_text())
    assert "site" in site["global"]["external_labels"]
    central = yaml.safe_load((FLEET / "prometheus-central.yml").read_text())
    assert "site" not in central["global"]["external_labels"]  # network alerts carry no site
    (federate,) = central["scrape_configs"]
    assert federate["honor_labels"] is True and federate["metrics_path"] == "/federate"


def test_fleet_hashwatch_site_config_passes_check_config():
    result = subprocess.run(
        [sys.executable, "-m", "hashwatch", "check-config", "--config",
         str(FLEET / "hashwatch-site.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in result.stdout


def test_fleet_compose_override_mounts_existing_files_and_clusters_two_peers():
    override = yaml.safe_load((REPO / "docker" / "compose.fleet.yml").read_text())
    services = override["services"]
    for service in services.values():
        for entry in service.get("volumes", []):
            source = entry.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), entry
    peers = {name: " ".join(s["entrypoint"]) for name, s in services.items()
             if name.startswith("alertmanager")}
    assert "--cluster.peer=alertmanager-2:9094" in peers["alertmanager"]
    assert "--cluster.peer=alertmanager:9094" in peers["alertmanager-2"]
    for port in services["alertmanager-2"]["ports"]:
        assert port.startswith("127.0.0.1:")  # loopback only, like the main file
    prom = yaml.safe_load((FLEET / "prometheus-compose.yml").read_text())
    (am,) = prom["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == ["alertmanager:9093", "alertmanager-2:9093"]


def test_fleet_compose_hashwatch_config_posts_to_both_peers(tmp_path):
    import os

    env = {**os.environ, "HASHWATCH_POOLS_FILE": str(REPO / "config/docker/regtest-pools.json")}
    result = subprocess.run(
        [sys.executable, "-m", "hashwatch", "check-config", "--config",
         str(FLEET / "hashwatch-compose.yaml")],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((FLEET / "hashwatch-compose.yaml").read_text())
    (channel,) = config["alerts"]["channels"]
    assert channel["urls"] == ["http://alertmanager:9093", "http://alertmanager-2:9093"]
