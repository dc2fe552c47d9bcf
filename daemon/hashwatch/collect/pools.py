"""The ``pools`` job: who mined the recent blocks, per node, from the ``blocks`` section.

Why: pool attribution needs each block's coinbase text and payout addresses, which the blocks
collector already keeps; this job reads them from the snapshot (no RPC) and hands them to the
pure functions in ``indicators/pools.py``. Definitions are loaded once at start-up: the
operator's file (if configured) first, then the small built-in list as a fallback.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

from ..snapshot.blocks import RecentBlocks
from .context import DaemonContext, JobSpec
from ..indicators.pools import (
    PoolDef,
    PoolDefinitionError,
    PoolIdentifier,
    PoolsSection,
    compute_pools,
    parse_pool_definitions,
)
from ..snapshot.store import Snapshot

log = logging.getLogger("hashwatch.collect.pools")


def builtin_definitions() -> list[PoolDef]:
    """The ~20 biggest pools shipped in ``hashwatch/data/pools.json``."""
    text = resources.files("hashwatch").joinpath("data/pools.json").read_text(encoding="utf-8")
    return parse_pool_definitions(json.loads(text))


def load_definitions_file(path: Path) -> list[PoolDef]:
    """Read a pool list file; raise ValueError naming the file and what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read pool definitions: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: pool definitions are not valid JSON: {exc}") from None
    try:
        return parse_pool_definitions(data)
    except PoolDefinitionError as exc:
        raise ValueError(f"{path}: {exc}") from None


def make_identifier(definitions_file: Path | None) -> PoolIdentifier:
    """The operator's file first; the built-in list only for blocks the file does not match."""
    builtin = PoolIdentifier(builtin_definitions())
    if definitions_file is None:
        return builtin
    defs = load_definitions_file(definitions_file)
    log.info("event=pools_loaded file=%s pools=%d", definitions_file, len(defs))
    return PoolIdentifier(defs, fallback=builtin)


def pools_from_snapshot(
    snapshot: Snapshot, node: str, identifier: PoolIdentifier, windows: list[int]
) -> PoolsSection | None:
    """The node's ``pools`` section, or None while it has no ``blocks`` section yet."""
    ns = snapshot.nodes.get(node)
    if ns is None:
        return None
    blocks = ns.section("blocks")
    if not isinstance(blocks, RecentBlocks):
        return None
    rows = [(b.height, b.coinbase_text, b.payout_addresses) for b in blocks.blocks]
    return compute_pools(identifier, rows, windows)


class PoolsJob:
    """Recomputes one node's section; cheap (dictionary look-ups over at most a few k blocks)."""

    def __init__(self, ctx: DaemonContext, node: str, identifier: PoolIdentifier):
        self.ctx = ctx
        self.node = node
        self.identifier = identifier
        self.windows = list(ctx.config.pools.windows)
        self._state = "init"

    def run(self) -> None:
        section = pools_from_snapshot(
            self.ctx.store.current(), self.node, self.identifier, self.windows
        )
        state = "skipped" if section is None else "ok"
        if state != self._state:
            self._state = state
            if section is None:
                log.info("event=pools_skipped node=%s reason=no_blocks", self.node)
            else:
                sizes = ",".join(str(c.window) for c in section.windows) or "none"
                log.info("event=pools_computed node=%s windows=%s", self.node, sizes)
        self.ctx.store.set_section(self.node, "pools", section)


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    """One ``pools`` job per node at the blocks poll interval; raises ValueError on a bad file."""
    identifier = make_identifier(ctx.config.pools.definitions_file)
    interval = ctx.config.polling.blocks_seconds
    return [
        JobSpec("pools", n.name, interval, PoolsJob(ctx, n.name, identifier).run)
        for n in ctx.config.nodes
    ]
