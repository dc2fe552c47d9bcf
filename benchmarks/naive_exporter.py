"""A typical Bitcoin Core exporter, as the P3 baseline: it calls the node inside every scrape.

This is the common shape of community exporters: python-bitcoinrpc's ``AuthServiceProxy``, one
HTTP request per RPC, a prometheus_client collector that asks the node for everything while
Prometheus waits, and the stock ``start_http_server``. It makes the RPCs hashwatch makes in its
polls (status, fee estimates, the tip's block stats and the verbose mempool for a fee histogram)
and renders the same kind of metrics. It is deliberately ordinary, not a straw man: no sleeps,
no redundant calls, one connection per scrape.

Run on its own::

    python benchmarks/naive_exporter.py --rpc-url http://127.0.0.1:8332/ \
        --cookie-file ~/.bitcoin/.cookie --port 9333
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from bitcoinrpc.authproxy import AuthServiceProxy
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

FEE_BANDS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150, 175,
             200, 250, 300, 350, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 1800, 2000)
TARGETS = (1, 3, 6, 144)
MODES = ("economical", "conservative")
SAT = Decimal(100_000_000)


class NaiveCollector(Collector):
    """Asks the node for everything on every ``collect()`` (i.e. on every scrape)."""

    def __init__(self, url: str, user: str, password: str, timeout: float = 60.0):
        self.url, self.user, self.password, self.timeout = url, user, password, timeout
        self._lock = threading.Lock()  # AuthServiceProxy is not thread-safe

    def _proxy(self) -> AuthServiceProxy:
        # Credentials in the URL, as these exporters do (python-bitcoinrpc reads them there).
        parts = urlsplit(self.url)
        auth = f"{self.user}:{self.password}"  # fine for cookies; a typical exporter's limit
        return AuthServiceProxy(f"{parts.scheme}://{auth}@{parts.netloc}{parts.path}",
                                timeout=self.timeout)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            rpc = self._proxy()
            chain = rpc.getblockchaininfo()
            net = rpc.getnetworkinfo()
            mempool = rpc.getmempoolinfo()
            uptime = rpc.uptime()
            totals = rpc.getnettotals()
            estimates = {(t, m): rpc.estimatesmartfee(t, m) for t in TARGETS for m in MODES}
            stats = rpc.getblockstats(chain["blocks"])
            entries = rpc.getrawmempool(True)
        yield _g("bitcoin_blocks", "Block height.", chain["blocks"])
        yield _g("bitcoin_headers", "Header height.", chain["headers"])
        yield _g("bitcoin_difficulty", "Difficulty.", chain["difficulty"])
        yield _g("bitcoin_verification_progress", "Sync progress.", chain["verificationprogress"])
        yield _g("bitcoin_peers", "Connections.", net["connections"])
        yield _g("bitcoin_uptime_seconds", "Node uptime.", uptime)
        yield _g("bitcoin_net_received_bytes", "Bytes received.", totals["totalbytesrecv"])
        yield _g("bitcoin_net_sent_bytes", "Bytes sent.", totals["totalbytessent"])
        yield _g("bitcoin_mempool_transactions", "Mempool size.", mempool["size"])
        yield _g("bitcoin_mempool_vsize_bytes", "Mempool vsize.", mempool["bytes"])
        yield _g("bitcoin_mempool_usage_bytes", "Mempool memory.", mempool["usage"])
        yield _g("bitcoin_mempool_min_fee_btc_per_kvb", "Min fee.", mempool["mempoolminfee"])
        yield _g("bitcoin_block_total_fee_sat", "Tip block fees.", stats.get("totalfee", 0))
        yield _g("bitcoin_block_transactions", "Tip block txs.", stats.get("txs", 0))
        est = GaugeMetricFamily("bitcoin_fee_estimate_sat_per_vbyte", "estimatesmartfee.",
                                labels=["target", "mode"])
        for (t, m), answer in estimates.items():
            if "feerate" in answer:
                est.add_metric([str(t), m], float(answer["feerate"] * SAT / 1000))
        yield est
        yield _histogram(entries)


def _histogram(entries: dict) -> GaugeMetricFamily:
    """Mempool vsize at or below each fee band (cumulative), from the verbose listing."""
    per_band = [0] * (len(FEE_BANDS) + 1)
    total_fee = Decimal(0)
    for e in entries.values():
        fee = e["fees"]["base"]
        total_fee += fee
        rate = fee * SAT / e["vsize"]
        i = next((n for n, band in enumerate(FEE_BANDS) if rate <= band), len(FEE_BANDS))
        per_band[i] += e["vsize"]
    family = GaugeMetricFamily("bitcoin_mempool_histogram_vsize_bytes",
                               "Mempool vsize at or below each fee band.", labels=["le"])
    cum = 0
    for band, vsize in zip((*FEE_BANDS, "+Inf"), per_band, strict=True):
        cum += vsize
        family.add_metric([str(band)], float(cum))
    return family


def _g(name: str, doc: str, value: object) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=float(value))  # type: ignore[arg-type]


def credentials(
    cookie_file: Path | None, user: str | None, password: str | None
) -> tuple[str, str]:
    if cookie_file is not None:
        u, _, p = cookie_file.read_text().strip().partition(":")
        return u, p
    if user is None or password is None:
        raise SystemExit("naive_exporter: give --cookie-file or --rpc-user and --rpc-password")
    return user, password


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rpc-url", required=True)
    p.add_argument("--cookie-file", type=Path)
    p.add_argument("--rpc-user")
    p.add_argument("--rpc-password")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9333, help="0 picks a free port")
    args = p.parse_args(argv)
    parts = urlsplit(args.rpc_url)
    url = f"{parts.scheme}://{parts.hostname}:{parts.port or 8332}{parts.path or '/'}"
    user, password = credentials(args.cookie_file, args.rpc_user, args.rpc_password)
    registry = CollectorRegistry()
    registry.register(NaiveCollector(url, user, password))
    server, _thread = start_http_server(args.port, args.listen, registry)
    print(f"naive_exporter: listening on http://{args.listen}:{server.server_port}/metrics",
          file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
