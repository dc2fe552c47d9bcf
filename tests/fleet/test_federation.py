"""A central Prometheus federating two site Prometheus servers answers the Fleet board.

Two sites, each ``hashwatch run --simulate`` (the compose stack's config) scraped by its own
Prometheus whose external label is ``site``; the central Prometheus pulls ``{job="hashwatch"}``
from both with ``honor_labels`` (config/fleet/prometheus-central.yml) and loads the shipped
rules. Expected: every Fleet board query returns data there, network-wide panels return ONE
series per network (the two sites merged), per-site panels keep the two sites apart, and every
shipped rule evaluates without error on federated data (the join on site, instance, node must not
collide although both sites call their daemon the same way).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse

import pytest
import yaml

from ..stack.stackutil import REPO
from ..stack.test_dashboards import DASH_DIR, metric_names_in, panels, substitute
from ..stack.test_live_prometheus import _need_simulate_cli, _stack_config
from .engines import Proc, binary, free_port, http_json, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.prometheus]

RULES = REPO / "config" / "prometheus" / "rules" / "hashwatch.rules.yml"
NETWORK_WIDE = ("hashwatch_difficulty_", "hashwatch_hashrate_", "hashwatch_fees_",
                "hashwatch_mempool_blocks_to_clear")
DATA_SECONDS = 150


def query(base: str, expr: str) -> list[dict]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    body = http_json(url)
    assert body["status"] == "success", body
    return body["data"]["result"]


def prometheus(tmp_path, name: str, config: dict) -> tuple[Proc, str]:
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [binary("prometheus"), f"--config.file={path}",
           f"--storage.tsdb.path={tmp_path / (name + '-tsdb')}",
           f"--web.listen-address=127.0.0.1:{port}"]
    return Proc(cmd, tmp_path / f"{name}.log", base + "/-/ready", name).start(), base


@pytest.fixture
def fleet_prometheus(tmp_path):
    _need_simulate_cli()
    procs: list[Proc] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHWATCH_")}
    try:
        sites = []
        for site in ("site-a", "site-b"):
            d = tmp_path / site
            d.mkdir()
            port = free_port()
            cmd = [sys.executable, "-m", "hashwatch", "run", "--simulate", "--scenario", "demo",
                   "--config", str(_stack_config(d)), "--metrics-listen", "127.0.0.1",
                   "--metrics-port", str(port), "--state-dir", str(d / "state")]
            daemon = Proc(cmd, d / "hashwatch.log", f"http://127.0.0.1:{port}/metrics",
                          f"{site} hashwatch", env=env)
            procs.append(daemon.start(timeout=90))
            proc, base = prometheus(d, "prometheus", {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                           "external_labels": {"site": site}},
                "scrape_configs": [{"job_name": "hashwatch", "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"]}]}],
            })
            procs.append(proc)
            sites.append(base.removeprefix("http://"))
        central, base = prometheus(tmp_path, "central", {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                       "external_labels": {"fleet": "test"}},
            "rule_files": [str(RULES)],
            "scrape_configs": [{
                "job_name": "federate-sites", "honor_labels": True,
                "metrics_path": "/federate", "params": {"match[]": ['{job="hashwatch"}']},
                "static_configs": [{"targets": sites}],
            }],
        })
        procs.append(central)
        yield base
    finally:
        for p in reversed(procs):
            p.stop()


def test_central_prometheus_answers_fleet_board_with_sites_apart_and_networks_merged(
    fleet_prometheus,
):
    base = fleet_prometheus
    wait_for(lambda: query(base, "count(count by (site) (hashwatch_node_up))") and
             query(base, "count(count by (site) (hashwatch_node_up))")[0]["value"][1] == "2",
             60, "both sites' series in the central Prometheus")
    board = json.loads((DASH_DIR / "fleet.json").read_text())
    exprs = [(p["title"], t["expr"]) for p in panels(board) for t in p["targets"]]
    values = {"site": ".*", "node": ".*", "__rate_interval": "1m"}

    def every_query_answers() -> bool:
        return all(query(base, substitute(e, values)) for _, e in exprs)

    wait_for(every_query_answers, DATA_SECONDS, "every Fleet board query answering with data")
    for title, expr in exprs:
        result = query(base, substitute(expr, values))
        if any(n.startswith(NETWORK_WIDE) for n in metric_names_in(expr)):
            networks = [r["metric"].get("network") for r in result if "window" not in r["metric"]]
            assert networks == sorted(set(networks)), (title, result)  # one per network
            assert all(set(r["metric"]) <= {"network", "window"} for r in result), title
    (sites,) = query(base, "count(count by (site) (hashwatch_node_up))")
    assert sites["value"][1] == "2"

    def rules() -> list[dict]:
        groups = http_json(base + "/api/v1/rules")["data"]["groups"]
        return [r for g in groups for r in g["rules"]]

    wait_for(lambda: all(r.get("health") != "unknown" for r in rules()), 30, "rules evaluated")
    bad = [(r["name"], r.get("lastError")) for r in rules() if r.get("health") != "ok"]
    assert bad == []
