"""The shared ``blocks`` job: recent blocks' fee stats and coinbases, once per block.

Why shared: fee share of reward (fees), mean fees per block (economics) and pool attribution
(pools) all read the same recent blocks. Each block is fetched once: batched
``getblockstats(height, fields)``, then the coinbase (batched ``getblock(hash, 1)`` for its txid
and batched ``getrawtransaction(txid, true, hash)``, which needs no txindex when the block hash is
given; nodes without that method get ``getblock(hash, 2)``). Rows live in SQLite under the state
dir, so a restart only fetches the blocks found while the daemon was away.

Reorgs: the stored hashes near the top are compared with the active chain each run; from the
fork point up rows are dropped and fetched again. The published ``blocks`` section is the
contiguous run of stored blocks ending at the tip (holes, e.g. pruned blocks, cut it short).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..node.errors import RPC_METHOD_NOT_FOUND, NodeError
from ..node.rpc import NodeClient
from ..snapshot.blocks import BlockRecord, RecentBlocks
from ..state.blocks import BlockStore
from .context import DaemonContext, JobSpec

log = logging.getLogger("hashwatch.collect.blocks")

STATS_FIELDS = (
    "height", "blockhash", "time", "totalfee", "subsidy", "txs", "total_weight",
    "feerate_percentiles", "avgfeerate",
)  # fmt: skip
BLOCKS_PER_RUN = 144  # a first start fills 1,008 blocks over a few runs, newest first
CHUNK = 24  # blocks per HTTP batch (getblock verbosity 1 is ~270 kB per mainnet block)
REORG_STEP = 16  # stored hashes compared per round when looking for the fork point
MIN_RUN = 2  # shorter printable runs in a coinbase are mostly bytes of pushed numbers


def coinbase_text(script_hex: str) -> str:
    """Printable runs of a coinbase scriptSig, joined by single spaces (pool tags live here).

    Decoded as UTF-8 so tags such as F2Pool's "七彩神仙鱼" survive; bytes that are not valid
    UTF-8 or not printable (pushed numbers, extranonce) split the runs.
    """
    try:
        raw = bytes.fromhex(script_hex)
    except ValueError:
        return ""
    text = raw.decode("utf-8", errors="replace")
    runs, current = [], []
    for ch in text:
        if ch.isprintable() and ch != "\ufffd":
            current.append(ch)
        else:
            if len(current) >= MIN_RUN:
                runs.append("".join(current))
            current = []
    if len(current) >= MIN_RUN:
        runs.append("".join(current))
    return " ".join(r.strip() for r in runs if r.strip())


def payout_addresses(tx: Mapping[str, Any]) -> tuple[str, ...]:
    """Addresses of the coinbase outputs, in output order (OP_RETURN outputs have none)."""
    out = []
    for vout in tx.get("vout", ()):
        spk = vout.get("scriptPubKey", {})
        addr = spk.get("address") or next(iter(spk.get("addresses", ()) or ()), None)
        if addr:
            out.append(str(addr))
    return tuple(out)


def make_record(stats: Mapping[str, Any], coinbase_tx: Mapping[str, Any] | None) -> BlockRecord:
    """A :class:`BlockRecord` from ``getblockstats`` and the decoded coinbase (pure)."""
    pct = tuple(float(x) for x in stats.get("feerate_percentiles") or (0, 0, 0, 0, 0))
    vin = (coinbase_tx or {}).get("vin") or [{}]
    return BlockRecord(
        height=int(stats["height"]),
        hash=str(stats["blockhash"]),
        time=int(stats["time"]),
        total_fee_sat=int(stats["totalfee"]),
        subsidy_sat=int(stats["subsidy"]),
        tx_count=int(stats["txs"]),
        total_weight=int(stats["total_weight"]),
        feerate_percentiles_sat_per_vb=pct,  # type: ignore[arg-type]
        avg_feerate_sat_per_vb=float(stats["avgfeerate"]),
        coinbase_text=coinbase_text(str(vin[0].get("coinbase", ""))),
        payout_addresses=payout_addresses(coinbase_tx or {}),
    )


def contiguous_tail(records: Sequence[BlockRecord], tip: int) -> tuple[BlockRecord, ...]:
    """The run of consecutive heights ending at ``tip`` (empty if the tip itself is missing)."""
    out: list[BlockRecord] = []
    want = tip
    for r in reversed(records):
        if r.height != want:
            break
        out.append(r)
        want -= 1
    return tuple(reversed(out))


class BlocksJob:
    """One node's ``blocks`` job."""

    def __init__(self, ctx: DaemonContext, node: str):
        self.ctx = ctx
        self.node = node
        self.client: NodeClient = ctx.clients[node]
        self.window = ctx.config.fees.block_window
        self._store: BlockStore | None = None
        self._lock = threading.Lock()
        self._use_getrawtransaction = True
        self._unavailable: set[int] = set()  # heights the node cannot serve (pruned)
        # the best block hash when the window was last complete: an idle node costs one
        # ``getbestblockhash`` per run instead of a tip query and a batch of 16 getblockhash
        self._done_at: str | None = None

    @property
    def store(self) -> BlockStore:
        if self._store is None:
            self._store = BlockStore(self.ctx.state_dir / f"blocks-{self.node}.sqlite3")
        return self._store

    def run(self) -> None:
        with self._lock:
            best = self._best()
            if best is not None and best == self._done_at:
                return  # same tip, window complete: the published section still holds
            if best is None:
                tip, prev = int(self.client.call("getblockcount")), None
            else:
                header = self.client.call("getblockheader", best, True)
                tip, prev = int(header["height"]), header.get("previousblockhash")
            low = max(0, tip - self.window + 1)
            if best is None or not self._extends_stored(tip, best, prev):
                self._drop_reorged(tip)
            self.store.prune_below(low)
            have = self.store.hashes()
            missing = [
                h for h in range(tip, low - 1, -1) if h not in have and h not in self._unavailable
            ]
            todo = missing[:BLOCKS_PER_RUN]
            for i in range(0, len(todo), CHUNK):
                self.store.put(self._fetch(todo[i : i + CHUNK]))
            if todo:
                log.info("event=blocks_fetched node=%s count=%d tip=%d", self.node, len(todo), tip)
            records = contiguous_tail(self.store.load(low, tip), tip)
            self.ctx.store.set_section(self.node, "blocks", RecentBlocks(records))
            complete = len(missing) <= len(todo) and self.store.hashes().get(tip) == best
            self._done_at = best if complete else None

    def _best(self) -> str | None:
        """The node's best block hash; None for a node without ``getbestblockhash`` (then
        every run asks for the height and checks for reorgs)."""
        try:
            return str(self.client.call("getbestblockhash"))
        except NodeError as exc:
            if exc.code != RPC_METHOD_NOT_FOUND:
                raise
            return None

    def _extends_stored(self, tip: int, best: str, prev: Any) -> bool:
        """True when the stored rows are on the chain ending at ``best`` without asking more.

        The tip itself stored, or the stored top one below it being the tip's parent (a new
        block), with nothing stored above the tip: a block hash commits to all its ancestors.
        """
        have = self.store.hashes()
        if not have or max(have) > tip:
            return not have
        return have.get(tip) == best or (max(have) == tip - 1 and have[tip - 1] == prev)

    def _drop_reorged(self, tip: int) -> None:
        have = self.store.hashes()
        if not have:
            return
        heights = sorted((h for h in have if h <= tip), reverse=True)
        fork = None  # highest height whose stored hash is still on the active chain
        for i in range(0, len(heights), REORG_STEP):
            step = heights[i : i + REORG_STEP]
            chain = self.client.batch([("getblockhash", (h,)) for h in step])
            for h, block_hash in zip(step, chain, strict=False):
                if have[h] == block_hash:
                    fork = h
                    break
            if fork is not None:
                break
        drop_from = (fork + 1) if fork is not None else min(have)
        if drop_from <= max(have):
            n = self.store.drop_from(drop_from)
            if n:
                log.info("event=blocks_reorg node=%s fork_height=%s dropped=%d", self.node, fork, n)

    def _fetch(self, heights: list[int]) -> list[BlockRecord]:
        answers = self.client.batch(
            [("getblockstats", (h, list(STATS_FIELDS))) for h in heights], raise_errors=False
        )
        stats = []
        for h, a in zip(heights, answers, strict=False):
            if isinstance(a, NodeError):
                if a.kind != "rpc":
                    a.node = self.node
                    raise a
                self._unavailable.add(h)
                log.warning(
                    "event=block_unavailable node=%s height=%d code=%s", self.node, h, a.code
                )
            else:
                stats.append(a)
        coinbases = self._coinbases([str(s["blockhash"]) for s in stats])
        return [make_record(s, cb) for s, cb in zip(stats, coinbases, strict=False)]

    def _coinbases(self, hashes: list[str]) -> list[dict | None]:
        if not hashes:
            return []
        if self._use_getrawtransaction:
            blocks = self.client.batch([("getblock", (h, 1)) for h in hashes])
            calls = [
                ("getrawtransaction", (b["tx"][0], True, h))
                for b, h in zip(blocks, hashes, strict=False)
            ]
            answers = self.client.batch(calls, raise_errors=False)
            if not any(
                isinstance(a, NodeError) and a.code == RPC_METHOD_NOT_FOUND for a in answers
            ):
                return [None if isinstance(a, NodeError) else a for a in answers]
            log.info(
                "event=getrawtransaction_missing node=%s fallback=getblock_verbosity_2", self.node
            )
            self._use_getrawtransaction = False
        # one block per request: a full block at verbosity 2 is ~10-30 MB, and a batch of them
        # would pass the answer cap (rpc_max_answer_bytes)
        return [self.client.call("getblock", h, 2)["tx"][0] for h in hashes]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    """One ``blocks`` job per node."""
    jobs = []
    for node_cfg in ctx.config.nodes:
        job = BlocksJob(ctx, node_cfg.name)
        jobs.append(
            JobSpec(
                name="blocks",
                node=node_cfg.name,
                interval=ctx.config.polling.blocks_seconds,
                run=job.run,
                stop=job.close,
            )
        )
    return jobs
