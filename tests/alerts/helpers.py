"""Test helpers: synthetic snapshots, a fake clock, a recording HTTP server, config builders."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any

from hashwatch.config import Config
from hashwatch.snapshot.store import IndicatorValue, NodeSnapshot, NodeStatus, Snapshot

T0 = 1_764_200_000.0  # 2025-11-26


class FakeClock:
    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t


@dataclass(frozen=True)
class Section:
    """A snapshot section offering fixed values (shaped like docs/indicators.md)."""

    items: tuple[IndicatorValue, ...]

    def values(self) -> Iterator[IndicatorValue]:
        return iter(self.items)


def iv(name: str, value: float, **labels: str) -> IndicatorValue:
    return IndicatorValue(name, float(value), tuple(sorted(labels.items())))


def status(best_block_time: float, *, ibd: bool = False) -> NodeStatus:
    return NodeStatus(
        chain="main",
        blocks=925_400,
        headers=925_400,
        best_block_hash="00" * 32,
        best_block_time=best_block_time,
        median_time=best_block_time - 600,
        verification_progress=1.0,
        initial_block_download=ibd,
        difficulty=149.30e12,
        size_on_disk_bytes=1,
        pruned=False,
        version=300000,
        subversion="/Satoshi:30.0.0/",
        protocol_version=70016,
        connections=10,
        connections_in=0,
        connections_out=10,
        uptime_seconds=1000,
        mempool_tx_count=1000,
        mempool_vsize_bytes=1_000_000,
        mempool_usage_bytes=2_000_000,
        mempool_max_bytes=300_000_000,
        mempool_min_fee_sat_per_vb=1.0,
        mempool_total_fee_sat=10_000_000,
        network_received_bytes=0,
        network_sent_bytes=0,
    )


def snapshot(
    clock: FakeClock,
    *,
    node: str = "n1",
    up: bool = True,
    ibd: bool = False,
    block_age: float = 300.0,
    values: Iterable[IndicatorValue] = (),
) -> Snapshot:
    st = status(clock() - block_age, ibd=ibd) if up else None
    sections = {"test": Section(tuple(values))} if up else {}
    ns = NodeSnapshot(
        node=node, up=up, status=st, status_time=clock(), sections=MappingProxyType(sections)
    )
    return Snapshot(nodes=MappingProxyType({node: ns}), taken_at=clock())


def config(tmp_path, **alerts: Any) -> Config:
    data = {
        "nodes": [{"name": "n1", "cookie_file": str(tmp_path / "cookie")}],
        "state_dir": str(tmp_path / "state"),
        "alerts": alerts,
    }
    return Config.model_validate(data)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    """An HTTP server on 127.0.0.1 standing in for Slack or a webhook receiver.

    ``responses`` are (status, headers, body) answered in order; after they run out: 200 "ok".
    Only requests answered 2xx count as ``accepted``.
    """

    responses: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    events: queue.Queue = field(default_factory=queue.Queue)

    def start(self) -> RecordingServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                status, headers, text = (
                    owner.responses.pop(0) if owner.responses else (200, {}, b"ok")
                )
                owner.received.append(rec)
                if 200 <= status < 300:
                    owner.accepted.append(rec)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)
                owner.events.put(rec)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
