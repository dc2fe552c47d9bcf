"""Run the real daemon (``hashwatch run``) or the naive exporter as a subprocess, and scrape it.

Why subprocesses: scrape time must include the HTTP server and the collector exactly as
deployed, memory must be the daemon's own resident set (``/proc/<pid>/status``), and neither
may share the benchmark's interpreter (its GIL or its heap).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import die_with_parent, wait_for
from .simproc import SimProcess

ROOT = Path(__file__).resolve().parent.parent
_LISTEN = re.compile(r"http://([0-9.]+):(\d+)/metrics")


def daemon_config(sim: SimProcess, state_dir: Path, zmq: bool,
                  polling: dict[str, float] | None = None) -> dict[str, Any]:
    """A config for one simulated node; the daemon's own defaults unless ``polling`` says."""
    node: dict[str, Any] = {"name": "sim", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}
    if zmq and sim.zmq_url:
        node["zmq_sequence"] = sim.zmq_url
        node["zmq_hashblock"] = sim.zmq_url
    return {
        "nodes": [node],
        "polling": polling or {},
        "metrics": {"listen": "127.0.0.1", "port": 0},
        "logging": {"level": "warning"},
        "state_dir": str(state_dir),
    }


class Served:
    """A process serving ``/metrics`` on loopback: the daemon or the naive exporter."""

    def __init__(self, argv: list[str], log_path: Path):
        self.argv = argv
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout: float = 60.0) -> Served:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     cwd=ROOT, preexec_fn=die_with_parent)
        log.close()

        def port() -> int:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[2]} exited: {self.log_path.read_text()[-800:]}")
            m = _LISTEN.search(self.log_path.read_text(errors="replace"))
            return int(m.group(2)) if m else 0

        self.port = wait_for(port, timeout, f"{self.log_path.name}: the metrics port")
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def scrape(self, timeout: float = 300.0) -> tuple[float, str]:
        """One GET /metrics on a new connection: (seconds, body)."""
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"/metrics answered HTTP {resp.status}")
        finally:
            conn.close()
        return time.perf_counter() - t0, body.decode("utf-8", "replace")

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak) of the process in bytes."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout: float = 90.0, window: float = 1.0, busy: float = 0.05) -> bool:
        """Wait until the process used under ``busy`` CPU seconds in ``window``; False on timeout.

        Used before timing scrapes so that a collector job running in the background (a first
        blocks backfill, say) does not compete with the scrape for the interpreter.
        """
        deadline = time.monotonic() + timeout
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(window)
            now = self.cpu_seconds()
            if now - last < busy:
                return True
            last = now
        return False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> Served:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_daemon(sim: SimProcess, work: Path, name: str, zmq: bool = True,
                 polling: dict[str, float] | None = None, state: str | None = None) -> Served:
    """``hashwatch run`` for the simulated node; daemons given the same ``state`` share their
    SQLite stores (a restart then fetches only new headers and blocks, as in production)."""
    state_dir = work / f"state-{state or name}"
    state_dir.mkdir(parents=True, exist_ok=True)
    config = work / f"{name}.yaml"
    config.write_text(json.dumps(daemon_config(sim, state_dir, zmq, polling), indent=2))
    argv = [sys.executable, "-m", "hashwatch", "run", "--config", str(config)]
    return Served(argv, work / f"{name}.log").start()


def start_naive_exporter(sim: SimProcess, work: Path, name: str = "naive") -> Served:
    argv = [sys.executable, str(ROOT / "benchmarks" / "naive_exporter.py"),
            "--rpc-url", sim.rpc_url, "--cookie-file", str(sim.cookie_path), "--port", "0"]
    return Served(argv, work / f"{name}.log").start()


def sample_value(body: str, name: str, **labels: str) -> float | None:
    """The value of the first sample ``name{labels...}`` in an exposition text, or None."""
    for line in body.splitlines():
        if not line.startswith(name) or line[len(name):len(name) + 1] not in ("{", " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_ready(served: Served, jobs: tuple[str, ...], timeout: float, after: float = 0.0) -> str:
    """Scrape until every job in ``jobs`` has succeeded (after ``after``, unix seconds)."""

    def ready() -> str | None:
        _, body = served.scrape()
        for job in jobs:
            t = sample_value(body, "hashwatch_last_success_time_seconds", job=job)
            if t is None or t < after:
                return None
        return body

    return wait_for(ready, timeout, f"jobs {','.join(jobs)} to succeed", step=0.2)
