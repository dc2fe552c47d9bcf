"""What every collector job gets handed: config, node clients, the snapshot store, the clock.

Why: feature modules (``collect/<feature>.py``) must not wire themselves; the daemon builds one
:class:`DaemonContext` and asks each feature's ``make_jobs(ctx)`` for its :class:`JobSpec` list.
Tests build a context by hand against a simulator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..node.rpc import NodeClient
from ..snapshot.store import SnapshotStore


@dataclass(frozen=True)
class JobSpec:
    """One periodic job. ``run`` raises on failure (the scheduler logs and counts it).

    ``start``/``stop`` are for long-lived helpers next to the job (e.g. a ZMQ listener thread).
    ``name`` is a small fixed word (``chain``, ``headers``, ``mempool``, ``blocks``, ``price``,
    ``economics``, ``pools``); it becomes a metric label and the key for :meth:`trigger`.
    """

    name: str
    node: str | None
    interval: float
    run: Callable[[], None]
    start: Callable[[], None] | None = None
    stop: Callable[[], None] | None = None


def _no_trigger(job: str, node: str | None = None) -> None:
    return None


@dataclass
class DaemonContext:
    config: Config
    clients: dict[str, NodeClient]
    store: SnapshotStore
    state_dir: Path
    clock: Callable[[], float] = time.time
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("hashwatch"))
    # ``trigger("headers", "node1")`` runs that job now (e.g. on a ZMQ hashblock); set by daemon.
    trigger: Callable[[str, str | None], None] = _no_trigger
