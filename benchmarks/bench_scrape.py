"""P2, P3 and P6: scrape time and resident memory of the running daemon.

- P2: median ``/metrics`` scrape time with a small and a large mempool (the scrape renders the
  latest snapshot only, so it should not grow with the mempool).
- P3: the same scrape against ``naive_exporter.py``, which calls the node inside every scrape.
- P6: VmRSS (and peak VmHWM) of the daemon process at the large mempool, with the naive
  exporter's as the baseline.

The daemon runs as ``hashwatch run`` in a subprocess with its default polling intervals and ZMQ
configured, against the simulator in a third process; scrapes are wall-clock times of a GET on a
fresh loopback connection, taken once every collector job has succeeded.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from .bench_poll import size_label
from .common import Row, Sizes, median
from .daemonproc import Served, start_daemon, start_naive_exporter, wait_ready
from .simproc import SimProcess

READY_JOBS = ("chain", "headers", "blocks", "mempool")


def _alternate(a: Served, b: Served, count: int) -> tuple[float, float, int, int]:
    """Median scrape seconds of ``a`` and of ``b``, scraped in turn; and their body sizes.

    Alternating puts both under the same background load of a shared machine, so the ratio
    holds even when absolute times drift.
    """
    ta, tb, body_a, body_b = [], [], "", ""
    for _ in range(count):
        seconds, body_a = a.scrape()
        ta.append(seconds)
        seconds, body_b = b.scrape()
        tb.append(seconds)
    return median(ta), median(tb), len(body_a.encode()), len(body_b.encode())


def _memory(served: Served, prefix: str, out: dict[str, float]) -> None:
    mem = served.memory()
    out[f"{prefix}rss"], out[f"{prefix}hwm"] = mem["VmRSS"], mem["VmHWM"]


def _versus_naive(daemon: Served, sim: SimProcess, work: Path, label: str, scrapes: int,
                  out: dict[str, float]) -> None:
    """P3 at one size: the daemon and the naive exporter scraped in turn; their memory."""
    with start_naive_exporter(sim, work, f"naive-{label}") as naive:
        naive.scrape()
        out["hw_scrape"], out["naive_scrape"], _, _ = _alternate(daemon, naive, scrapes)
        _memory(naive, "naive_", out)
    _memory(daemon, "", out)


def measure(small_sim: SimProcess, large_sim: SimProcess, work: Path, sizes: Sizes
            ) -> tuple[dict[str, float], dict[str, float]]:
    """P2 with both daemons up; then P3 and P6 at the large size; the large daemon stopped,
    P3 at the small size (its naive scrapes are short and would suffer most from the large
    daemon's background polls on a 2-core machine)."""
    small: dict[str, float] = {}
    large: dict[str, float] = {}
    s, la = size_label(sizes.scrape_small), size_label(sizes.scrape_large)
    with start_daemon(small_sim, work, f"daemon-{s}") as d_small:
        with start_daemon(large_sim, work, f"daemon-{la}") as d_large:
            for d in (d_small, d_large):
                wait_ready(d, READY_JOBS, timeout=600)
                d.scrape()  # the first scrape imports renderers lazily: not representative
            small["idle"] = d_small.wait_idle()
            large["idle"] = d_large.wait_idle()
            small["scrape"], large["scrape"], small["scrape_bytes"], large["scrape_bytes"] = (
                _alternate(d_small, d_large, sizes.scrapes))
            _versus_naive(d_large, large_sim, work, la, sizes.naive_scrapes(sizes.scrape_large),
                          large)
        d_small.wait_idle()
        _versus_naive(d_small, small_sim, work, s, sizes.naive_scrapes(sizes.scrape_small),
                      small)
    return small, large


def run(sizes: Sizes, log_dir: Path) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        work = Path(tmp)
        try:
            with SimProcess(mempool=sizes.scrape_small, zmq=True, log_dir=log_dir) as a, \
                    SimProcess(mempool=sizes.scrape_large, zmq=True, log_dir=log_dir) as b:
                small, large = measure(a, b, work, sizes)
        finally:
            for log in work.glob("*.log"):
                (log_dir / log.name).write_bytes(log.read_bytes())
    return rows(sizes.scrape_small, sizes.scrape_large, small, large)


def rows(small_n: int, large_n: int, small: dict, large: dict) -> list[Row]:
    s, la = size_label(small_n), size_label(large_n)
    mb = 1e6
    return [
        Row("P2 scrape", f"/metrics scrape time, {la} vs {s} mempool tx", "seconds",
            large["scrape"], small["scrape"], f"at {s} tx", ratio_style="ratio",
            target_text="<= 1.5x", threshold=1.5, note=_p2_note(small, large, s, la)),
        Row(f"P3 scrape {s}", f"scrape time vs naive exporter, {s} tx", "seconds",
            small["hw_scrape"], small["naive_scrape"], "naive exporter", ratio_style="times",
            op=">=", threshold=20, target_text=">= 20x faster"),
        Row(f"P3 scrape {la}", f"scrape time vs naive exporter, {la} tx", "seconds",
            large["hw_scrape"], large["naive_scrape"], "naive exporter", ratio_style="times",
            op=">=", threshold=20, target_text=">= 20x faster"),
        Row(f"P6 rss {la}", f"daemon resident memory (VmRSS), {la} tx", "bytes", large["rss"],
            large["naive_rss"], "naive exporter", ratio_style="ratio", target_on="value",
            threshold=200 * mb,
            target_text="<= 200 MB"),
        Row(f"P6 peak {la}", f"daemon peak resident memory (VmHWM), {la} tx", "bytes",
            large["hwm"], large["naive_hwm"], "naive exporter", ratio_style="ratio",
            target_on="value",
            threshold=200 * mb, target_text="<= 200 MB"),
        Row(f"P6 rss {s}", f"daemon resident memory (VmRSS), {s} tx", "bytes", small["rss"],
            small["naive_rss"], "naive exporter", ratio_style="ratio", target_text="info"),
    ]


def _p2_note(small: dict, large: dict, s: str, la: str) -> str:
    note = (f"median of the scrapes; bodies {large['scrape_bytes']:,} B at {la}, "
            f"{small['scrape_bytes']:,} B at {s}")
    busy = [x for x, d in ((s, small), (la, large)) if not d["idle"]]
    if busy:
        note += f"; daemon never idle before scraping at {', '.join(busy)} (jobs running)"
    return note
