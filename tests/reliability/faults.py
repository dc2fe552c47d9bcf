"""Helpers for the fault suite: a daemon on the simulator, real /metrics scrapes, deadlines.

Why here: every fault case follows the same script (healthy -> fault visible -> fault cleared
-> recovered), read through the same real HTTP scrape an operator's Prometheus would do.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hashwatch.config import Config
from hashwatch.daemon import Daemon

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
RPC_USER = "hashwatch"
RPC_PASSWORD = "rpc-Pa55word-f0r-faults"


def scrape(port: int, outputs: Any = None) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    if outputs is not None:
        outputs.add("metrics", text)
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition"):
    """Poll until ``predicate`` is truthy; the deadline, not a sleep, decides."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def node_config(sim: Any, *, cookie: bool = False, password: str = RPC_PASSWORD,
                **extra: Any) -> dict:
    node = {"name": "sim", "url": sim.rpc_url, "timeout_seconds": 1.0, **extra}
    if cookie:
        node["cookie_file"] = str(sim.cookie_path)
    else:
        node.update(user=RPC_USER, password=password)
    return node


def daemon_config(tmp_path: Path, node: dict, **sections: Any) -> Config:
    polling = {"chain_seconds": 0.2, "jitter_seconds": 0, "headers_seconds": 0.3,
               "blocks_seconds": 0.3, "mempool_seconds": 0.3, "price_seconds": 0.2}
    polling.update(sections.pop("polling", {}))
    return Config.model_validate({
        "nodes": [node], "polling": polling, "metrics": {"port": 0},
        "state_dir": str(tmp_path / "state"), **sections,
    })


class Running:
    """A started daemon plus shortcuts for the samples every case reads."""

    def __init__(self, daemon: Daemon, outputs: Any):
        self.daemon = daemon
        self.outputs = outputs
        self.port = daemon.server.port

    def samples(self) -> Samples:
        return scrape(self.port, self.outputs)

    def get(self, name: str, **labels: str) -> float | None:
        return value(self.samples(), name, **labels)

    def up(self) -> float | None:
        return self.get("hashwatch_node_up", node="sim")

    def errors(self, kind: str) -> float:
        return self.get("hashwatch_rpc_errors_total", node="sim", kind=kind) or 0.0

    def last_error(self, kind: str) -> float | None:
        return self.get("hashwatch_node_last_error_info", node="sim", kind=kind)

    def wait_up(self, what: str = "node up") -> None:
        wait_for(lambda: self.up() == 1, what=what)

    def wait_blocks(self, height: int, what: str = "new height in metrics") -> None:
        wait_for(lambda: self.get("hashwatch_node_blocks", node="sim") == height, what=what)


class JSONServer:
    """A loopback HTTP server answering GETs with ``body`` (JSON) or ``status`` when failing."""

    def __init__(self, body: Any):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.body = body
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                data = json.dumps(owner.body).encode() if owner.status == 200 else b"oops"
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/price?api_key=k3y-s3cret-99"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class IBDProxy:
    """Forwards JSON-RPC to the simulator; while ``ibd`` is set, answers look like a node in
    initial block download (the simulator itself is always synced)."""

    def __init__(self, target_port: int):
        import http.client
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.ibd = False
        owner = self

        def patch(element: Any) -> None:
            result = element.get("result") if isinstance(element, dict) else None
            if isinstance(result, dict) and "initialblockdownload" in result:
                result.update(initialblockdownload=True, verificationprogress=0.42,
                              headers=result["blocks"] + 100_000)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=10)
                conn.request("POST", self.path, body, {
                    "Authorization": self.headers.get("Authorization", ""),
                    "Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                if owner.ibd and resp.status == 200:
                    answer = json.loads(data)
                    for element in answer if isinstance(answer, list) else [answer]:
                        patch(element)
                    data = json.dumps(answer).encode()
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.getheader("Content-Type") or "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
