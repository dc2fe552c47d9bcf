"""End to end: a real Prometheus server scrapes hashwatch running on the simulator, and every
query of every dashboard returns data through Prometheus's HTTP API.

The daemon runs as ``hashwatch run --simulate --scenario demo`` with the compose stack's own
hashwatch config (economics scenarios, static price; the simulated node replaces ``nodes``),
so the boards are checked against what ``docker compose up`` runs. Prometheus loads the
stack's alert rules too, and every rule must evaluate without error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ..support.ports import free_port
from ..support.waiting import wait_for, wait_until
from .stackutil import IN_CI, REPO, require_tool
from .test_dashboards import VAR_VALUES, all_targets, substitute

pytestmark = [pytest.mark.prometheus, pytest.mark.slow, pytest.mark.timeout(420)]

STARTUP_SECONDS = 90
DATA_SECONDS = 240
RULES = REPO / "config" / "prometheus" / "rules" / "hashwatch.rules.yml"


def _need_simulate_cli() -> None:
    """The daemon's ``run --simulate`` wiring lands at integration; skip before that locally."""
    from hashwatch.cli import build_parser

    try:
        import hashwatch.sim  # noqa: F401

        build_parser().parse_args(["run", "--simulate", "--scenario", "demo"])
    except (ImportError, SystemExit) as exc:
        msg = f"hashwatch run --simulate is not available yet ({exc!r})"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


STARTING = (OSError, urllib.error.URLError, ValueError, KeyError)  # not up yet


def http_get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return resp.read()


class PromAPI:
    def __init__(self, base: str):
        self.base = base

    def get(self, path: str, **params: str | list[str]) -> dict:
        query = urllib.parse.urlencode(params, doseq=True)
        body = json.loads(http_get(f"{self.base}{path}?{query}"))
        if body.get("status") != "success":
            raise ValueError(f"{path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list:
        return self.get("/api/v1/query", query=expr)["result"]

    def label_values(self, label: str, match: str) -> list[str]:
        return self.get(f"/api/v1/label/{label}/values", **{"match[]": match})


def _stack_config(tmp_path: Path) -> Path:
    """The compose hashwatch config, minus what only exists inside the compose network."""
    data = yaml.safe_load((REPO / "config/docker/hashwatch.yaml").read_text())
    data["pools"].pop("definitions_file", None)  # the simulator mines with mainnet pool tags
    data["alerts"] = {"channels": [], "routes": [{"channels": ["log"]}]}  # no Mailpit here
    data.pop("polling", None)  # the simulator's own fast polling
    # the spike ratio waits for an hour of baseline by default; a test has minutes
    data["fees"] = {"spike_min_history_seconds": 0, "spike_sample_seconds": 1}
    path = tmp_path / "hashwatch.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    handle = log.open("wb")
    try:
        return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                cwd=log.parent)
    finally:
        handle.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _alive(proc: subprocess.Popen, name: str, log: Path) -> Callable[[], None]:
    def check() -> None:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"{name} exited with {proc.returncode}:\n{tail}")

    return check


@pytest.fixture
def daemon(tmp_path):
    _need_simulate_cli()
    port = free_port()
    state = tmp_path / "state"
    log = tmp_path / "hashwatch.log"
    cmd = [sys.executable, "-m", "hashwatch", "run", "--simulate", "--scenario", "demo",
           "--config", str(_stack_config(tmp_path)), "--metrics-listen", "127.0.0.1",
           "--metrics-port", str(port), "--state-dir", str(state)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HASHWATCH_")}
    proc = _start(cmd, log, env)
    alive = _alive(proc, "hashwatch", log)
    try:
        wait_for(lambda: b"hashwatch_node_up" in http_get(f"http://127.0.0.1:{port}/metrics"),
                 STARTUP_SECONDS, "hashwatch /metrics", poll=0.5, ignore=STARTING, alive=alive)
        yield port, alive
    finally:
        _stop(proc)


@pytest.fixture
def prometheus(tmp_path, daemon):
    binary = require_tool("prometheus")
    port, daemon_alive = daemon
    web = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "hashwatch",
                            "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = tmp_path / "prometheus.log"
    proc = _start([binary, f"--config.file={config_path}",
                   f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                   f"--web.listen-address=127.0.0.1:{web}"], log)
    prom_alive = _alive(proc, "prometheus", log)

    def alive() -> None:
        daemon_alive()
        prom_alive()

    try:
        wait_for(lambda: http_get(f"http://127.0.0.1:{web}/-/ready"), STARTUP_SECONDS,
                 "prometheus ready", poll=0.5, ignore=STARTING, alive=alive)
        yield PromAPI(f"http://127.0.0.1:{web}"), alive
    finally:
        _stop(proc)


def test_live_prometheus_every_dashboard_query_returns_data(prometheus):
    api, alive = prometheus
    wait_for(lambda: api.query('up{job="hashwatch"} == 1'), STARTUP_SECONDS,
             "hashwatch target up", poll=0.5, ignore=STARTING, alive=alive)
    wait_for(lambda: api.query('count_over_time(hashwatch_node_up{job="hashwatch"}[1m]) >= 5'),
             STARTUP_SECONDS, "a few samples", poll=0.5, ignore=STARTING, alive=alive)

    values = dict(VAR_VALUES)
    values["node"] = wait_for(lambda: api.label_values("node", "hashwatch_node_up"),
                              STARTUP_SECONDS, "node label", poll=0.5, ignore=STARTING,
                              alive=alive)[0]
    targets = all_targets()
    empty: list[str] = []

    def all_have_data() -> bool:
        scenarios = api.label_values("scenario", "hashwatch_hashcost_usd_per_phs_day")
        if scenarios:
            values["scenario"] = scenarios[0]
        empty.clear()
        for board, title, expr in targets:
            if not api.query(substitute(expr, values)):
                empty.append(f"{board} / {title}: {substitute(expr, values)}")
        return not empty

    started = time.monotonic()
    wait_until(all_have_data, DATA_SECONDS, poll=2, alive=alive)
    print(f"{len(targets) - len(empty)}/{len(targets)} dashboard queries return data "
          f"({time.monotonic() - started:.0f} s)")
    for line in empty:
        print("EMPTY", line)
    assert empty == [], f"{len(empty)} dashboard queries return no data:\n" + "\n".join(empty)


def test_live_prometheus_alert_rules_evaluate_without_errors(prometheus):
    api, alive = prometheus
    wait_for(lambda: api.query('up{job="hashwatch"} == 1'), STARTUP_SECONDS,
             "hashwatch target up", poll=0.5, ignore=STARTING, alive=alive)

    def evaluated():
        rules = [r for g in api.get("/api/v1/rules")["groups"] for r in g["rules"]]
        return rules if rules and all(r["health"] != "unknown" for r in rules) else None

    rules = wait_for(evaluated, STARTUP_SECONDS, "rules evaluated", poll=0.5, ignore=STARTING,
                     alive=alive)
    bad = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert bad == {}
    assert len(rules) >= 15
