"""F1: what a fleet costs: series per daemon, a central Prometheus at N sites, Alertmanager intake.

    python -m benchmarks.bench_fleet [--quick]     # or: python -m benchmarks.run --only F1

Measured here (docs/fleet.md#capacity turns it into sizing):
- one real daemon (``hashwatch run --simulate --scenario demo``): series and bytes per scrape,
  beside a Prometheus server's own /metrics as a yardstick;
- a central Prometheus (Debian's binary) scraping N copies of that exposition, each with its own
  ``site`` label (what federation from N sites delivers), with the shipped rules loaded: head
  series, resident memory, CPU per scrape round and rule evaluation time, at a small and a
  large N (the ratio is the growth);
- Alertmanager (Debian's binary) taking alerts the way hashwatch posts them (one alert per POST,
  each to every peer) against Prometheus' way (batches of 64): alerts accepted per second.
Waits are on conditions with deadlines; every process is stopped on the way out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .common import Row, format_table, not_measured, wait_for

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "config" / "prometheus" / "rules"


def scrape_seconds(n: int) -> float:
    """Fast scrapes so a minute holds many rounds, but slow enough for the one Python server
    standing in for ``n`` sites (about 20 sites per second on a shared 2-core machine)."""
    return max(2.0, n / 20)


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return resp.read()


def _prom_value(base: str, expr: str) -> float | None:
    from urllib.parse import urlencode

    body = json.loads(_get(f"{base}/api/v1/query?{urlencode({'query': expr})}"))
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _own(base: str, name: str) -> float:
    """Sum of a Prometheus server's own metric ``name`` (all label sets), from its /metrics."""
    total = 0.0
    for line in _get(base + "/metrics").decode().splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


class _Proc:
    def __init__(self, argv: list[str], log: Path):
        self.argv, self.log = argv, log
        self.popen: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Proc:
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                          cwd=self.log.parent)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def daemon_exposition(work: Path) -> str:
    """/metrics of a real daemon on the demo scenario once its sections are computed."""
    port = _port()
    argv = [sys.executable, "-m", "hashwatch", "run", "--simulate", "--scenario", "demo",
            "--metrics-listen", "127.0.0.1", "--metrics-port", str(port),
            "--state-dir", str(work / "state")]
    with _Proc(argv, work / "daemon.log"):
        def ready() -> str | None:
            try:
                text = _get(f"http://127.0.0.1:{port}/metrics").decode()
            except OSError:
                return None
            sections = ("hashwatch_fees_next_block_median", "hashwatch_difficulty_projected",
                        "hashwatch_hashprice_usd_per_phs_day", "hashwatch_pools_share_ratio")
            samples = [line for line in text.splitlines() if not line.startswith("#")]
            return text if all(any(x.startswith(s) for x in samples) for s in sections) else None

        text = wait_for(ready, 120, "demo daemon sections (samples, not only HELP)", step=0.5)
        # series still appear as jobs run for the first time (RPC methods, histograms): take
        # the exposition once two scrapes a job interval apart agree on the count
        last = [series_of(text)]

        def settled() -> str | None:
            nonlocal text
            text = _get(f"http://127.0.0.1:{port}/metrics").decode()
            last.append(series_of(text))
            return text if last[-1] == last[-2] else None

        return wait_for(settled, 120, "a stable series count", step=5.0)


def series_of(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


class StaticTargets:
    """N scrape targets serving one exposition at /s<i>/metrics (one loopback server)."""

    def __init__(self, text: str):
        body = text.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a scrape Prometheus gave up on (timeout) is not the benchmark's error

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _cpu_seconds(pid: int) -> float:
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_bytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) * 1024
    return 0.0


def central_prometheus(
    prom: str, targets: StaticTargets, n: int, series: int, work: Path
) -> dict[str, float]:
    """A Prometheus scraping ``n`` sites' worth of hashwatch series with the shipped rules."""
    import yaml

    d = work / f"central-{n}"
    d.mkdir()
    jobs = [{"job_name": f"site-{i}", "metrics_path": f"/s{i}/metrics",
             "static_configs": [{"targets": [targets.address], "labels": {"site": f"s{i}"}}],
             "relabel_configs": [{"target_label": "job", "replacement": "hashwatch"}]}
            for i in range(n)]
    interval = scrape_seconds(n)
    config = {"global": {"scrape_interval": f"{interval:g}s",
                         "evaluation_interval": f"{interval:g}s"},
              "rule_files": [str(RULES / "*.yml")], "scrape_configs": jobs}
    port = _port()
    (d / "prometheus.yml").write_text(yaml.safe_dump(config))
    argv = [prom, f"--config.file={d / 'prometheus.yml'}", f"--storage.tsdb.path={d / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}"]
    base = f"http://127.0.0.1:{port}"
    appended = "prometheus_tsdb_head_samples_appended_total"
    with _Proc(argv, d / "prometheus.log") as proc:
        assert proc.popen is not None
        pid = proc.popen.pid
        up = f'count(up{{job="hashwatch"}} == 1) >= {n}'
        wait_for(lambda: _try(lambda: _prom_value(base, up)), 90, f"{n} targets up", step=0.5)
        # measure over ten full scrape rounds: the condition is samples appended, not time
        rounds = 10
        samples0 = _own(base, appended)
        cpu0 = _cpu_seconds(pid)
        want = samples0 + rounds * n * series
        wait_for(lambda: (_try(lambda: _own(base, appended)) or 0) >= want,
                 rounds * interval * 4 + 60, "ten scrape rounds", step=0.5)
        cpu_per_round = (_cpu_seconds(pid) - cpu0) / rounds
        return {
            "head_series": _own(base, "prometheus_tsdb_head_series"),
            "rss_bytes": _rss_bytes(pid),
            "cpu_per_round": cpu_per_round,
            "rule_seconds": _own(base, "prometheus_rule_group_last_duration_seconds"),
            "scrape_seconds": _prom_value(base, 'avg(scrape_duration_seconds{job="hashwatch"})')
            or 0.0,
        }


def _try(fn: Any) -> Any:
    try:
        return fn()
    except (OSError, ValueError, KeyError):
        return None


def alertmanager_intake(am: str, work: Path, alerts: int) -> tuple[float, float]:
    """Alerts accepted per second: one per POST (hashwatch) vs batches of 64 (Prometheus)."""
    d = work / "am"
    d.mkdir()
    (d / "am.yml").write_text("route: {receiver: none}\nreceivers: [{name: none}]\n")
    port = _port()
    argv = [am, f"--config.file={d / 'am.yml'}", f"--storage.path={d}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]
    base = f"http://127.0.0.1:{port}"
    ends = (datetime.now(timezone.utc) + timedelta(minutes=4)).isoformat()

    def post(batch: list[dict[str, Any]]) -> None:
        req = urllib.request.Request(base + "/api/v2/alerts", json.dumps(batch).encode(),
                                     {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
            resp.read()

    def alert(i: int, run: str) -> dict[str, Any]:
        return {"labels": {"alertname": "bench", "node": f"n{i}", "site": f"s{i % 50}",
                           "run": run},
                "annotations": {"summary": "x" * 80}, "endsAt": ends,
                "generatorURL": "http://hashwatch.example:9332/"}

    with _Proc(argv, d / "am.log"):
        wait_for(lambda: _try(lambda: _get(base + "/-/ready")), 30, "alertmanager ready")
        t = time.perf_counter()
        for i in range(alerts):
            post([alert(i, "single")])
        single = alerts / (time.perf_counter() - t)
        t = time.perf_counter()
        for start in range(0, alerts, 64):
            post([alert(i, "batch") for i in range(start, min(alerts, start + 64))])
        batched = alerts / (time.perf_counter() - t)
    return single, batched


def run(sizes: Any, log_dir: Path, quick: bool | None = None) -> list[Row]:
    """Rows for benchmarks.run; ``quick`` follows the run's sizes when not given."""
    quick = quick if quick is not None else sizes.scrapes < 20
    prom = shutil.which("prometheus")
    am = shutil.which("alertmanager") or shutil.which("prometheus-alertmanager")
    work = Path(tempfile.mkdtemp(prefix="fleet-", dir=log_dir))
    rows: list[Row] = []
    text = daemon_exposition(work)
    per_daemon = series_of(text)
    if not prom:
        return [not_measured("F1", "fleet", "prometheus binary not found")]
    targets = StaticTargets(text)
    try:
        small_n, large_n = (5, 50) if quick else (20, 200)
        small = central_prometheus(prom, targets, small_n, per_daemon, work)
        large = central_prometheus(prom, targets, large_n, per_daemon, work)
    finally:
        targets.close()
    rows += [
        Row("F1 series", "series per daemon (demo: 1 node, 3 scenarios)", "count",
            hashwatch=per_daemon, baseline=float(large["head_series"]) / large_n,
            baseline_what=f"central head series / {large_n} sites", ratio_style="ratio",
            note="ratio ~1: federation adds nothing per site but `up` and scrape series"),
        Row("F1 bytes", "exposition bytes per scrape", "bytes", hashwatch=len(text.encode()),
            baseline=float(len(text.encode())) * large_n, baseline_what=f"{large_n} sites",
            ratio_style="fraction"),
        Row("F1 head", f"central head series at {large_n} vs {small_n} sites", "count",
            hashwatch=large["head_series"], baseline=small["head_series"], ratio_style="ratio"),
        Row("F1 rss", f"central Prometheus RSS at {large_n} vs {small_n} sites", "bytes",
            hashwatch=large["rss_bytes"], baseline=small["rss_bytes"], ratio_style="ratio"),
        Row("F1 cpu", f"central CPU per scrape round at {large_n} vs {small_n} sites", "seconds",
            hashwatch=large["cpu_per_round"], baseline=small["cpu_per_round"],
            ratio_style="ratio"),
        Row("F1 rules", f"rule evaluation (all groups) at {large_n} vs {small_n} sites",
            "seconds", hashwatch=large["rule_seconds"], baseline=small["rule_seconds"],
            ratio_style="ratio"),
    ]
    if am:
        single, batched = alertmanager_intake(am, work, 300 if quick else 2000)
        rows.append(Row("F1 am", "Alertmanager alerts accepted/s: one per POST vs 64 per POST",
                        "count", hashwatch=single, baseline=batched, ratio_style="ratio"))
    else:
        rows.append(not_measured("F1 am", "Alertmanager intake", "binary not found"))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="5/50 sites and 300 alerts")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hw-fleet-") as tmp:
        rows = run(None, Path(tmp), quick=args.quick)
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
