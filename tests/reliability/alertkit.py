"""Helpers for alert-side faults: a scriptable Slack stand-in, snapshots, a service factory.

Why our own small Slack server rather than a mock: the notifier's real HTTP stack (the bounded
client) must meet real 429s, 500s and hangs; only 2xx answers count as delivered (``accepted``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hashwatch.alerts.service import AlertService
from hashwatch.config import Config
from hashwatch.snapshot.store import IndicatorValue, NodeSnapshot, Snapshot

SLACK_TOKEN_PATH = "/services/T0HASHW/B0FAULT/s3cretSlackT0ken42"
SMTP_PASSWORD = "smtp-Pa55-for-faults"
RULES = """rules:
  - name: probe_high
    indicator: probe_value
    op: ">"
    threshold: 1
    severity: critical
    summary: "probe is {value:g}"
"""


@dataclass(frozen=True)
class Probe:
    value: float

    def values(self) -> Iterator[IndicatorValue]:
        return iter((IndicatorValue("probe_value", self.value, ()),))


def snapshot(value: float, node: str = "sim") -> Snapshot:
    ns = NodeSnapshot(node=node, up=True, status=None, status_time=time.time(),
                      sections=MappingProxyType({"probe": Probe(value)}))
    return Snapshot(nodes=MappingProxyType({node: ns}), taken_at=time.time())


def alerts_config(tmp_path: Path, channels: list[dict], description: str = "",
                  **delivery: Any) -> Config:
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES + (f"    description: {description}\n" if description else ""))
    policy = {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2, **delivery}
    return Config.model_validate({
        "nodes": [{"name": "sim", "cookie_file": str(tmp_path / "cookie")}],
        "state_dir": str(tmp_path / "state"),
        "alerts": {"use_default_rules": False, "rule_files": [str(rules)], "channels": channels,
                   "delivery": policy},
    })


def make_service(config: Config) -> AlertService:
    return AlertService(config, Path(config.state_dir))


class SlackStandIn:
    """Answers from ``script`` in order ("ok", 429, 500, "hang"), then 200 "ok" forever."""

    def __init__(self, script: list[Any] | None = None):
        self.script = list(script or [])
        self.received: list[dict] = []
        self.accepted: list[dict] = []
        self.retry_after = "0"  # sent with every 429
        self.release = threading.Event()  # ends every "hang"
        self.hanging = threading.Event()  # set while a request is held
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with owner.lock:
                    step = owner.script.pop(0) if owner.script else "ok"
                    owner.received.append(body)
                if step == "hang":
                    owner.hanging.set()
                    owner.release.wait(30)
                    self.close_connection = True
                    return
                status, headers = (200, {}) if step == "ok" else (step, {})
                if status == 429:
                    headers = {"Retry-After": owner.retry_after}
                if status == 200:
                    with owner.lock:
                        owner.accepted.append(body)
                text = b"ok" if status == 200 else b"error"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{SLACK_TOKEN_PATH}"

    def texts(self) -> list[str]:
        with self.lock:
            return [b.get("text", "") for b in self.accepted]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
