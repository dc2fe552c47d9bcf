"""The shared ``blocks`` job: recent blocks' fee stats and coinbases, once per block.

Why shared: fee share of reward (fees), mean fees per block (economics) and pool attribution
(pools) all read the same recent blocks. Each block is fetched once: batched
``getblockstats(height, fields)``, then the coinbase (batched ``getblock(hash, 1)`` for its txid
and batched ``getrawtransaction(txid, true, hash)``, which needs no txindex when the block hash is
given; nodes without that method get ``getblock(hash, 2)``). Rows live in SQLite under the state
dir, so a restart only fetches the blocks found while the daemon was away.

Reorgs: the stored hashes are compared with the active chain each run by the shared fork search
(:mod:`hashwatch.state.reorg`, the one the headers job uses); from the fork point up rows are
dropped and fetched again.

Bad answers: every field goes through :mod:`hashwatch.collect.validate`; an answer that cannot
be true (wrong type, fee above the money supply, NaN percentile, a stats answer for another
height than asked) fails the run as a protocol error, marks the node down with
``kind=protocol``, drops the ``blocks`` section (nothing stale exported as live) and stores
nothing; the next normal answer restores everything. The published ``blocks`` section is the
contiguous run of stored blocks ending at the tip (holes, e.g. pruned blocks, cut it short).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..node.errors import RPC_METHOD_NOT_FOUND, NodeError, NodeProtocolError
from ..node.rpc import NodeClient
from ..snapshot.blocks import BlockRecord, RecentBlocks
from ..state import reorg
from ..state.blocks import BlockStore
from ..state.sqlite import db_path
from .context import DaemonContext, JobSpec
from .validate import (
    MAX_BLOCK_WEIGHT,
    MAX_FEE_RATE_SAT_VB,
    MAX_SUBSIDY_SAT,
    MAX_TXS_PER_BLOCK,
    check_float,
    check_hash,
    check_height,
    check_int,
    check_list,
    check_mapping,
    check_percentiles,
    check_sat,
    check_str,
    check_time,
)

log = logging.getLogger("hashwatch.collect.blocks")

STATS_FIELDS = (
    "height", "blockhash", "time", "totalfee", "subsidy", "txs", "total_weight",
    "feerate_percentiles", "avgfeerate",
)  # fmt: skip
BLOCKS_PER_RUN = 144  # a first start fills 1,008 blocks over a few runs, newest first
CHUNK = 24  # blocks per HTTP batch (getblock verbosity 1 is ~270 kB per mainnet block)
REORG_MAX_STEP = 64  # at most this many stored hashes compared per round (state.reorg)
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
    for vout in check_list(tx.get("vout"), "coinbase vout", 10_000):
        spk = check_mapping(vout, "coinbase vout").get("scriptPubKey") or {}
        spk = check_mapping(spk, "scriptPubKey")
        addr = spk.get("address") or next(iter(spk.get("addresses", ()) or ()), None)
        if addr:
            out.append(check_str(addr, "coinbase address", 128))
    return tuple(out)


def make_record(stats: Mapping[str, Any], coinbase_tx: Mapping[str, Any] | None) -> BlockRecord:
    """A :class:`BlockRecord` from ``getblockstats`` and the decoded coinbase (pure).

    A coinbase-only block has no fee rate: Core answers zeros for its percentiles and average,
    which are stored and exported as absent (``None``), not as a rate of 0. Raises
    :class:`~hashwatch.collect.validate.AnswerInvalid` for an impossible answer.
    """
    stats = check_mapping(stats, "getblockstats")
    txs = check_int(stats.get("txs"), "txs", 1, MAX_TXS_PER_BLOCK)
    pct: tuple[float, float, float, float, float] | None = None
    avg: float | None = None
    if txs > 1:
        pct = check_percentiles(stats.get("feerate_percentiles"))  # type: ignore[assignment]
        avg = check_float(stats.get("avgfeerate"), "avgfeerate", 0.0, MAX_FEE_RATE_SAT_VB)
    cb = check_mapping(coinbase_tx, "coinbase") if coinbase_tx is not None else {}
    vin = check_list(cb.get("vin"), "coinbase vin", 1) or [{}]
    script = check_mapping(vin[0], "coinbase vin").get("coinbase", "")
    return BlockRecord(
        height=check_height(stats.get("height")),
        hash=check_hash(stats.get("blockhash"), "blockhash"),
        time=check_time(stats.get("time")),
        total_fee_sat=check_sat(stats.get("totalfee"), "totalfee"),
        subsidy_sat=check_int(stats.get("subsidy"), "subsidy", 0, MAX_SUBSIDY_SAT),
        tx_count=txs,
        total_weight=check_int(stats.get("total_weight"), "total_weight", 0, MAX_BLOCK_WEIGHT),
        feerate_percentiles_sat_per_vb=pct,
        avg_feerate_sat_per_vb=avg,
        coinbase_text=coinbase_text(check_str(script, "coinbase script", 400)),
        payout_addresses=payout_addresses(cb),
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
            self._store = BlockStore(db_path(self.ctx.state_dir, "blocks", self.node))
        return self._store

    def run(self) -> None:
        with self._lock:
            try:
                self._run()
            except NodeProtocolError as exc:
                exc.node = self.node
                self.ctx.store.set_section(self.node, "blocks", None)
                self.ctx.store.update_node(
                    self.node, up=False, last_error_kind=exc.kind, last_error=str(exc)
                )
                raise

    def _run(self) -> None:
        best = self._best()
        if best is not None and best == self._done_at:
            return  # same tip, window complete: the published section still holds
        if best is None:
            tip, prev = check_height(self.client.call("getblockcount"), "getblockcount"), None
        else:
            header = check_mapping(self.client.call("getblockheader", best, True), "getblockheader")
            tip = check_height(header.get("height"), "getblockheader.height")
            prev = header.get("previousblockhash")
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

    def _node_hashes(self, heights: Sequence[int]) -> list[str]:
        answers = self.client.batch([("getblockhash", (h,)) for h in heights])
        return [check_hash(a, "getblockhash") for a in answers]

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
        top = min(max(have), tip)
        low = min(have)
        fork = low - 1
        if top >= low:
            fork = reorg.find_fork(
                self._node_hashes,
                lambda lo, hi: {h: x for h, x in have.items() if lo <= h <= hi},
                top,
                low,
                max_step=REORG_MAX_STEP,
            )
        drop_from = fork + 1
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
                stats.append(check_mapping(a, "getblockstats"))
        coinbases = self._coinbases([check_hash(s.get("blockhash"), "blockhash") for s in stats])
        records = [make_record(s, cb) for s, cb in zip(stats, coinbases, strict=True)]
        asked = [h for h in heights if h not in self._unavailable]
        if [r.height for r in records] != asked:  # a rotated or mixed-up batch answer
            raise NodeProtocolError("getblockstats answered other heights than asked")
        return records

    def _coinbases(self, hashes: list[str]) -> list[dict | None]:
        if not hashes:
            return []
        if self._use_getrawtransaction:
            blocks = self.client.batch([("getblock", (h, 1)) for h in hashes])
            calls = [
                ("getrawtransaction", (_first_txid(b), True, h))
                for b, h in zip(blocks, hashes, strict=True)
            ]
            answers = self.client.batch(calls, raise_errors=False)
            if not any(
                isinstance(a, NodeError) and a.code == RPC_METHOD_NOT_FOUND for a in answers
            ):
                return [
                    None if isinstance(a, NodeError) else dict(check_mapping(a, "coinbase"))
                    for a in answers
                ]
            log.info(
                "event=getrawtransaction_missing node=%s fallback=getblock_verbosity_2", self.node
            )
            self._use_getrawtransaction = False
        # one block per request: a full block at verbosity 2 is ~10-30 MB, and a batch of them
        # would pass the answer cap (rpc_max_answer_bytes)
        out: list[dict[str, Any] | None] = []
        for h in hashes:
            block = check_mapping(self.client.call("getblock", h, 2), "getblock")
            txs = check_list(block.get("tx"), "getblock tx")
            out.append(dict(check_mapping(txs[0], "coinbase")) if txs else None)
        return out

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _first_txid(block: Any) -> str:
    txs = check_list(check_mapping(block, "getblock").get("tx"), "getblock tx")
    if not txs:
        raise NodeProtocolError("getblock answered a block without transactions")
    return check_hash(txs[0], "coinbase txid")


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
