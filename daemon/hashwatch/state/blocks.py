"""SQLite store of recent :class:`BlockRecord` rows, one file per node.

Why: a block's stats and coinbase never change once it is buried, and fetching 1,008 blocks
costs minutes on a busy node (``getblock`` verbosity 1 lists every txid). Keeping them on disk
means a restart fetches only the blocks found while the daemon was away. Reorgs are handled by
the collector: rows from the fork point up are dropped and fetched again.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ..snapshot.blocks import BlockRecord
from .sqlite import open_db

_COLUMNS = (
    "height, hash, time, total_fee_sat, subsidy_sat, tx_count, total_weight, percentiles, "
    "avg_feerate, coinbase_text, payout_addresses"
)


class BlockStore:
    """Rows keyed by height; the collector keeps them to the active chain's last N blocks."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._db = open_db(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash TEXT NOT NULL, "
            "time INTEGER, total_fee_sat INTEGER, subsidy_sat INTEGER, tx_count INTEGER, "
            "total_weight INTEGER, percentiles TEXT, avg_feerate REAL, coinbase_text TEXT, "
            "payout_addresses TEXT)"
        )

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
                json.dumps(list(r.feerate_percentiles_sat_per_vb)),
                r.avg_feerate_sat_per_vb,
                r.coinbase_text,
                json.dumps(list(r.payout_addresses)),
            )  # fmt: skip
            for r in records
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                f"INSERT OR REPLACE INTO blocks ({_COLUMNS}) VALUES ({','.join('?' * 11)})", rows
            )
            self._db.execute("COMMIT")

    def hashes(self) -> dict[int, str]:
        """height -> hash of every stored row."""
        with self._lock:
            return {h: x for h, x in self._db.execute("SELECT height, hash FROM blocks")}

    def load(self, low: int, high: int) -> list[BlockRecord]:
        """Rows with ``low <= height <= high``, ascending."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM blocks WHERE height BETWEEN ? AND ? ORDER BY height",
                (low, high),
            ).fetchall()
        out = []
        for row in rows:
            pct = tuple(float(x) for x in json.loads(row[7]))
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
        with self._lock:
            return self._db.execute("DELETE FROM blocks WHERE height >= ?", (height,)).rowcount

    def prune_below(self, height: int) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM blocks WHERE height < ?", (height,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
