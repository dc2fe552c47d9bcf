"""SQLite store of recent :class:`BlockRecord` rows, one file per node.

Why: a block's stats and coinbase never change once it is buried, and fetching 1,008 blocks
costs minutes on a busy node (``getblock`` verbosity 1 lists every txid). Keeping them on disk
means a restart fetches only the blocks found while the daemon was away. Reorgs are handled by
the collector: rows from the fork point up are dropped and fetched again.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ..snapshot.blocks import BlockRecord
from .sqlite import CacheDB, transaction

_COLUMNS = (
    "height, hash, time, total_fee_sat, subsidy_sat, tx_count, total_weight, percentiles, "
    "avg_feerate, coinbase_text, payout_addresses"
)


class BlockStore:
    """Rows keyed by height; the collector keeps them to the active chain's last N blocks."""

    def __init__(self, path: Path):
        self.path = path
        self._cache = CacheDB(path, _init)

    def put(self, records: list[BlockRecord]) -> None:
        rows = [
            (
                r.height,
                r.hash,
                r.time,
                r.total_fee_sat,
                r.subsidy_sat,
                r.tx_count,
                r.total_weight,
                None if r.feerate_percentiles_sat_per_vb is None
                else json.dumps(list(r.feerate_percentiles_sat_per_vb)),
                r.avg_feerate_sat_per_vb,
                r.coinbase_text,
                json.dumps(list(r.payout_addresses)),
            )  # fmt: skip
            for r in records
        ]

        def write(db: sqlite3.Connection) -> None:
            with transaction(db):
                db.executemany(
                    f"INSERT OR REPLACE INTO blocks ({_COLUMNS}) VALUES ({','.join('?' * 11)})",
                    rows,
                )

        self._cache.run(write)

    def hashes(self) -> dict[int, str]:
        """height -> hash of every stored row."""
        return self._cache.run(
            lambda db: {h: x for h, x in db.execute("SELECT height, hash FROM blocks")}
        )

    def load(self, low: int, high: int) -> list[BlockRecord]:
        """Rows with ``low <= height <= high``, ascending."""
        rows = self._cache.run(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM blocks WHERE height BETWEEN ? AND ? ORDER BY height",
                (low, high),
            ).fetchall()
        )
        out = []
        for row in rows:
            pct = None if row[7] is None else tuple(float(x) for x in json.loads(row[7]))
            out.append(
                BlockRecord(
                    height=row[0],
                    hash=row[1],
                    time=row[2],
                    total_fee_sat=row[3],
                    subsidy_sat=row[4],
                    tx_count=row[5],
                    total_weight=row[6],
                    feerate_percentiles_sat_per_vb=pct,  # type: ignore[arg-type]
                    avg_feerate_sat_per_vb=row[8],
                    coinbase_text=row[9],
                    payout_addresses=tuple(json.loads(row[10])),
                )  # fmt: skip
            )
        return out

    def drop_from(self, height: int) -> int:
        """Delete rows at and above ``height`` (a reorg's fork point); return how many."""
        return self._cache.run(lambda db: _delete(db, "height >= ?", height))

    def prune_below(self, height: int) -> int:
        return self._cache.run(lambda db: _delete(db, "height < ?", height))

    def close(self) -> None:
        self._cache.close()


def _init(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, "
        "time INTEGER, total_fee_sat INTEGER, subsidy_sat INTEGER, tx_count INTEGER, "
        "total_weight INTEGER, percentiles TEXT, avg_feerate REAL, coinbase_text TEXT, "
        "payout_addresses TEXT)"
    )


def _delete(db: sqlite3.Connection, where: str, height: int) -> int:
    with transaction(db):
        return db.execute(f"DELETE FROM blocks WHERE {where}", (height,)).rowcount
