"""Shared pieces of the benchmark harness: result rows, sizes, the table, small measuring helpers.

Why ratios: absolute times on shared 2-core machines are noisy, so every figure is measured side
by side with its baseline in the same run, and the target is stated on the ratio where the issue
states it so (an absolute target, like P5's 1 s or P6's 200 MB, is checked on the value).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# How a ratio is computed and shown: "fraction" (hashwatch / baseline, as %), "ratio"
# (hashwatch / baseline, as x) or "times" (baseline / hashwatch: x-fold faster or smaller).
RATIO_STYLES = ("fraction", "ratio", "times")


@dataclass
class Row:
    """One figure: hashwatch's value, the baseline's, their ratio and the target verdict.

    ``target_on`` says what the target is checked against: ``ratio`` or ``value`` (hashwatch's
    own figure, for absolute targets). ``threshold`` None means informational (no target set by
    the issue); ``met`` is then None. ``note`` carries the reason for a miss or a caveat.
    """

    id: str
    what: str
    unit: str
    hashwatch: float | None = None
    baseline: float | None = None
    baseline_what: str = ""
    ratio_style: str = "fraction"
    target_on: str = "ratio"
    op: str = "<="
    threshold: float | None = None
    target_text: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        h, b = self.hashwatch, self.baseline
        if h is None or b is None:
            return None
        if self.ratio_style == "times":  # speed-up: baseline / hashwatch
            return b / h if h > 0 else math.inf
        return h / b if b > 0 else math.inf

    @property
    def met(self) -> bool | None:
        if self.threshold is None:
            return None
        subject = self.ratio if self.target_on == "ratio" else self.hashwatch
        if subject is None:
            return None
        return subject <= self.threshold if self.op == "<=" else subject >= self.threshold

    @property
    def measured(self) -> bool:
        return self.hashwatch is not None and self.baseline is not None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["met"] = self.met
        return d


def not_measured(id: str, what: str, reason: str) -> Row:
    """A row for a piece that is missing or failed: listed, never silently dropped."""
    return Row(id=id, what=what, unit="", note=f"not measured: {reason}")


@dataclass(frozen=True)
class Sizes:
    """Everything that scales between the full run and ``--quick``."""

    poll_mempools: tuple[int, ...]  # P1 mempool sizes
    poll_rounds: Callable[[int], int]  # steady-state polls measured at a size
    churn: float  # fraction of the mempool replaced between polls
    scrape_small: int  # P2 small mempool
    scrape_large: int  # P2/P3/P6 large mempool
    scrapes: int  # hashwatch scrapes per measurement (median taken)
    naive_scrapes: Callable[[int], int]  # naive exporter scrapes at a size
    backfill_blocks: int  # P4
    backfill_rounds: int  # P4 repetitions of each way (median taken)
    latency_samples: int  # P5 blocks per mode
    latency_mempool: int  # P5 mempool size (a block also triggers the mempool job)
    poll_interval: float  # P5 polling-only: the chain job interval (daemon default 15 s)


FULL = Sizes(
    poll_mempools=(10_000, 100_000, 300_000),
    poll_rounds=lambda n: 5 if n <= 10_000 else 4 if n <= 100_000 else 3,
    churn=0.01,
    scrape_small=1_000,
    scrape_large=300_000,
    scrapes=40,
    naive_scrapes=lambda n: 10 if n <= 10_000 else 2,
    backfill_blocks=2016,
    backfill_rounds=3,
    latency_samples=3,
    latency_mempool=10_000,
    poll_interval=15.0,
)

QUICK = Sizes(
    poll_mempools=(2_000,),
    poll_rounds=lambda n: 2,
    churn=0.01,
    scrape_small=200,
    scrape_large=3_000,
    scrapes=10,
    naive_scrapes=lambda n: 3,
    backfill_blocks=500,
    backfill_rounds=1,
    latency_samples=1,
    latency_mempool=1_000,
    poll_interval=2.0,
)


def human(value: float | None, unit: str) -> str:
    """A value with its unit, scaled for reading (bytes -> kB/MB, seconds -> ms/us)."""
    if value is None:
        return "-"
    if unit == "bytes":
        for div, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if abs(value) >= div:
                return f"{value / div:,.2f} {name}"
        return f"{value:,.0f} B"
    if unit == "seconds":
        if abs(value) >= 1:
            return f"{value:,.2f} s"
        if abs(value) >= 1e-3:
            return f"{value * 1e3:,.2f} ms"
        return f"{value * 1e6:,.0f} us"
    if unit == "calls":
        return f"{value:,.0f} calls"
    return f"{value:,.4g} {unit}".strip()


def ratio_text(row: Row) -> str:
    r = row.ratio
    if r is None:
        return "-"
    if row.ratio_style == "times":
        return f"{r:,.1f}x faster" if row.unit == "seconds" else f"{r:,.1f}x less"
    if row.ratio_style == "ratio":
        return f"{r:,.2f}x"
    return f"{r * 100:.2f}%"


def met_text(row: Row) -> str:
    if not row.measured:
        return "NOT MEASURED"
    m = row.met
    return "n/a" if m is None else "yes" if m else "NO"


COLUMNS = ("id", "what", "hashwatch", "baseline", "ratio", "target", "met?")


def table_cells(rows: Sequence[Row]) -> list[tuple[str, ...]]:
    out = []
    for r in rows:
        base = human(r.baseline, r.unit)
        if r.baseline_what and r.baseline is not None:
            base = f"{base} ({r.baseline_what})"
        out.append((r.id, r.what, human(r.hashwatch, r.unit), base, ratio_text(r),
                    r.target_text or "-", met_text(r)))
    return out


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table for the terminal, then one line per note."""
    cells = [COLUMNS, *table_cells(rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, c in enumerate(cells):
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"{r.id}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def format_markdown(rows: Sequence[Row]) -> str:
    """The same table as Markdown (for RESULTS.md)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for c in table_cells(rows):
        lines.append("| " + " | ".join(v.replace("|", "/") for v in c) + " |")
    notes = [f"- **{r.id}**: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def die_with_parent() -> None:
    """``preexec_fn`` for child processes: SIGTERM them when the benchmark process dies.

    A killed benchmark (a CI timeout, Ctrl-C) must not leave daemons and simulators running.
    Linux only (prctl PR_SET_PDEATHSIG); elsewhere a no-op.
    """
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass


def cpu_now() -> float:
    """CPU seconds of this whole process (all threads, including ZMQ's I/O thread)."""
    return time.process_time()
