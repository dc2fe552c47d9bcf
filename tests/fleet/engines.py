"""Real engines on loopback for the fleet tests: Alertmanager peers, Prometheus, a webhook sink.

Why processes and not fakes: the point of the fleet story is that Alertmanager's own dedup,
grouping and cluster gossip (and Prometheus' federation) do the work; only the real binaries
prove it. Every process is started with free loopback ports and a temp dir, waited for with a
deadline on its readiness endpoint, and stopped (terminate, then kill) by the fixture that made
it. Nothing here sleeps to synchronise: callers wait on conditions.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..support.ports import free_port
from ..support.tools import require_tool
from ..support.waiting import wait_for as _wait_for

binary = require_tool  # the fleet tests call it by this name

PROCESS_STOP_SECONDS = 10.0


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """tests.support's wait_for, treating a server that is not listening yet as "not yet"."""
    return _wait_for(predicate, timeout, what, ignore=(OSError,))


def http_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
            return resp.status == 200
    except OSError:
        return False


class Proc:
    """One engine process with its log file; ``stop`` terminates then kills, bounded."""

    def __init__(
        self,
        cmd: list[str],
        log: Path,
        ready_url: str,
        what: str,
        env: dict[str, str] | None = None,
    ):
        self.cmd, self.log, self.ready_url, self.what = cmd, log, ready_url, what
        self.env = env
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Proc:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.log.parent
            )
        try:
            wait_for(self._ready, timeout, f"{self.what} ready")
        except AssertionError:
            self.stop()
            raise AssertionError(
                f"{self.what} did not start:\n{self.log.read_text()[-3000:]}"
            ) from None
        return self

    def _ready(self) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.what} exited:\n{self.log.read_text()[-3000:]}")
        return http_ok(self.ready_url)

    def kill(self) -> None:
        """Abrupt death (SIGKILL), as a crashed host."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(PROCESS_STOP_SECONDS)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(PROCESS_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()


def alertmanager_config(webhook_url: str, *, group_interval: str = "1s") -> str:
    """The shipped fleet routing (config/fleet/alertmanager.yml) with test timings."""
    return f"""
route:
  receiver: hook
  group_by: [alertname, network]
  group_wait: 1s
  group_interval: {group_interval}
  repeat_interval: 1h
  routes:
    - matchers: ['class="node"']
      group_by: [alertname, site, node]
receivers:
  - name: hook
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
"""


def start_alertmanagers(tmp: Path, n: int, config: str) -> list[tuple[Proc, str]]:
    """``n`` Alertmanager peers in one gossip cluster; returns (process, base URL) pairs."""
    exe = binary("alertmanager", "prometheus-alertmanager")
    cfg = tmp / "alertmanager.yml"
    cfg.write_text(config)
    cluster = [free_port() for _ in range(n)]
    out = []
    for i in range(n):
        port = free_port()
        data = tmp / f"am{i}"
        data.mkdir()
        peers = [f"--cluster.peer=127.0.0.1:{p}" for j, p in enumerate(cluster) if j != i]
        cmd = [
            exe,
            f"--config.file={cfg}",
            f"--storage.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--cluster.listen-address=127.0.0.1:{cluster[i]}",
            f"--cluster.advertise-address=127.0.0.1:{cluster[i]}",
            "--cluster.peer-timeout=3s",
            "--cluster.gossip-interval=50ms",
            "--cluster.pushpull-interval=2s",
            "--log.level=debug",
            *peers,
        ]
        base = f"http://127.0.0.1:{port}"
        proc = Proc(cmd, tmp / f"am{i}.log", base + "/-/ready", f"alertmanager {i}")
        out.append((proc.start(), base))
    return out


class WebhookSink:
    """Alertmanager's webhook receiver on loopback: records every notification body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                body = json.loads(self.rfile.read(length) or b"{}")
                with sink._lock:
                    sink.bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def notifications(self, status: str | None = None, **labels: str) -> list[dict[str, Any]]:
        """Bodies whose group has ``labels`` (and ``status``), in arrival order."""
        with self._lock:
            bodies = list(self.bodies)
        return [
            b
            for b in bodies
            if (status is None or b.get("status") == status)
            and all(b.get("groupLabels", {}).get(k) == v for k, v in labels.items())
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
