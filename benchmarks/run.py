"""Run the benchmarks and print one table: id, what, hashwatch, baseline, ratio, target, met?

    python -m benchmarks.run            # full sizes (mempools up to 300k; a few minutes)
    python -m benchmarks.run --quick    # small sizes, about a minute (CI smoke)
    python -m benchmarks.run --only P1,P4 --json out.json --markdown

Every benchmark runs against the simulator over real loopback HTTP (and ZMQ), with the
simulator in its own process. With ``BITCOIND=/path/to/bitcoind`` set, P1, P4 and P5 also run on
a real regtest node. A benchmark that fails is listed as "not measured" with the reason; the
others still run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # ``python benchmarks/run.py``: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "benchmarks"  # noqa: A001

from benchmarks import (  # noqa: E402
    bench_backfill,
    bench_fleet,
    bench_latency,
    bench_poll,
    bench_scrape,
)
from benchmarks.common import (  # noqa: E402
    FULL,
    QUICK,
    Row,
    Sizes,
    format_markdown,
    format_table,
    not_measured,
)

Bench = Callable[[Sizes, Path], list[Row]]

BENCHMARKS: dict[str, tuple[str, Bench]] = {
    "P1": ("steady-state mempool poll vs getrawmempool true", bench_poll.run),
    "P2": ("scrape time at small vs large mempool (with P3, P6)", bench_scrape.run),
    "P4": ("backfill, batched vs one call per block", bench_backfill.run),
    "P5": ("new block -> metrics latency, ZMQ vs polling", bench_latency.run),
}
ALIASES = {"P3": "P2", "P6": "P2"}  # measured in the same daemon run as P2
# Opt-in (``--only F1``): needs Debian's prometheus and alertmanager, and its rows compare
# fleet sizes rather than hashwatch against a naive baseline.
OPTIONAL: dict[str, tuple[str, Bench]] = {
    "F1": ("fleet: series per daemon, central Prometheus at N sites, Alertmanager intake",
           bench_fleet.run),
}


def machine() -> dict[str, str]:
    """What the figures were measured on (RESULTS.md keeps it with every run)."""
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load average": load,
    }


def select(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    keys: list[str] = []
    for part in only.upper().split(","):
        key = ALIASES.get(part.strip(), part.strip())
        if key not in BENCHMARKS and key not in OPTIONAL:
            raise SystemExit(f"unknown benchmark {part!r}; choose from P1..P6, F1")
        if key not in keys:
            keys.append(key)
    return keys


def run_all(keys: list[str], sizes: Sizes, log_dir: Path, progress=None) -> list[Row]:
    rows: list[Row] = []
    for key in keys:
        what, bench = BENCHMARKS.get(key) or OPTIONAL[key]
        started = time.perf_counter()
        if progress:
            progress(f"{key}: {what} ...")
        try:
            rows += bench(sizes, log_dir)
        except Exception as exc:  # noqa: BLE001 - list it as not measured, run the rest
            logging.getLogger("benchmarks").exception("event=benchmark_failed id=%s", key)
            rows.append(not_measured(key, what, f"{type(exc).__name__}: {exc}"))
        if progress:
            progress(f"{key}: done in {time.perf_counter() - started:.0f} s")
    if os.environ.get("BITCOIND"):
        from benchmarks import regtest

        if progress:
            progress("regtest: P1, P4, P5 on a real bitcoind ...")
        try:
            rows += regtest.run(os.environ["BITCOIND"], sizes, log_dir, keys)
        except Exception as exc:  # noqa: BLE001
            logging.getLogger("benchmarks").exception("event=benchmark_failed id=regtest")
            reason = f"{type(exc).__name__}: {exc}"
            rows.append(not_measured("regtest", "P1/P4/P5 on bitcoind", reason))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    p.add_argument("--only", help="comma-separated ids, e.g. P1,P4 (P3 and P6 run with P2)")
    p.add_argument("--json", type=Path, help="also write the rows and machine info as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    p.add_argument("--log-dir", type=Path, help="keep simulator/daemon logs here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sizes = QUICK if args.quick else FULL
    keys = select(args.only)
    info = machine()
    started = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="hw-bench-logs-") as tmp:
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        rows = run_all(keys, sizes, log_dir, progress)
    info["duration"] = f"{time.perf_counter() - started:.0f} s"
    info["mode"] = "quick" if args.quick else "full"
    info["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(" | ".join(f"{k}: {v}" for k, v in info.items()))
    print(format_table(rows))
    if args.markdown:
        print()
        print(format_markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": [r.as_dict() for r in rows]},
                                        indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
