"""Helpers for the fault suite: a daemon on the simulator read through real /metrics scrapes.

Why here: every fault case follows the same script (healthy -> fault visible -> fault cleared
-> recovered), read through the same real HTTP scrape an operator's Prometheus would do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hashwatch.config import Config
from hashwatch.daemon import Daemon

from ..support.scrape import Samples, scrape, value
from ..support.waiting import wait_for

__all__ = ["Samples", "value", "wait_for"]

RPC_USER = "hashwatch"
RPC_PASSWORD = "rpc-Pa55word-f0r-faults"


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
