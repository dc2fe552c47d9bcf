"""The BTC/USD price job: a static value or an HTTP JSON endpoint, stored as the global ``price``.

Why this shape: USD hashprice and margins are only as good as the price behind them. A price
endpoint that is down, slow or returns garbage must never break BTC metrics, must never turn into
a fake number, and must say clearly what is wrong, once per change rather than every minute.
So: fetch (I/O, bounded by a total deadline and a size cap) and parse (pure) are apart; every
failure has a reason from a fixed set; the last good quote is kept and readers drop it once it is
older than ``max_age_seconds`` (``PriceQuote.is_fresh``), while its age stays visible.

The URL may carry an API key in its query, so logs name only the host.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from ..config.economics import PriceConfig
from .context import DaemonContext, JobSpec
from ..indicators.economics import PriceFailure, PriceQuote

log = logging.getLogger("hashwatch.collect.price")

MAX_BODY_BYTES = 1_000_000
REASONS = (
    "timeout", "unreachable", "bad_http", "http_status", "too_large", "bad_json",
    "missing_field", "not_a_number", "negative", "zero",
)


class PriceFetchError(Exception):
    def __init__(self, reason: str, detail: str = ""):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _index_ok(part: str, length: int) -> bool:
    return part.isdigit() and int(part) < length


def parse_price(body: bytes, field: str) -> float:
    """The positive finite number at dotted ``field`` in a JSON body (``data.0.price``).

    Numeric strings are accepted (several exchanges quote prices as strings); booleans are not.
    """
    try:
        doc: Any = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise PriceFetchError("bad_json", f"{len(body)} bytes are not JSON") from None
    node = doc
    for part in field.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and _index_ok(part, len(node)):
            node = node[int(part)]
        else:
            raise PriceFetchError("missing_field", f"no {part!r} on the path {field!r}")
    if isinstance(node, bool) or not isinstance(node, (int, Decimal, str)):
        raise PriceFetchError("not_a_number", f"{field} is a {type(node).__name__}")
    try:
        value = Decimal(node.strip()) if isinstance(node, str) else Decimal(node)
    except InvalidOperation:
        raise PriceFetchError("not_a_number", f"{field} is not numeric") from None
    if not value.is_finite() or not math.isfinite(float(value)):
        raise PriceFetchError("not_a_number", f"{field} is not a finite number")
    if value < 0:
        raise PriceFetchError("negative", f"{field} is below zero")
    if value == 0:
        raise PriceFetchError("zero", f"{field} is zero")
    return float(value)


def fetch_body(url: str, timeout: float, user_agent: str, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """GET ``url``; the whole exchange must finish within ``timeout`` seconds (a server that
    trickles bytes would otherwise keep a per-read timeout alive forever)."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        url, headers={"User-Agent": user_agent, "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise PriceFetchError("timeout", f"answer not complete within {timeout:g} s")
                chunk = response.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise PriceFetchError("too_large", f"answer over {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise PriceFetchError("http_status", f"HTTP {exc.code}") from None
    except TimeoutError:
        raise PriceFetchError("timeout", f"no answer within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise PriceFetchError("timeout", f"no answer within {timeout:g} s") from None
        raise PriceFetchError("unreachable", type(exc.reason).__name__) from None
    except http.client.HTTPException as exc:  # not HTTP at all, truncated body
        raise PriceFetchError("bad_http", type(exc).__name__) from None
    except (OSError, ValueError) as exc:  # connection reset mid-answer
        raise PriceFetchError("unreachable", type(exc).__name__) from None


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class PriceJob:
    """Runs one fetch per call and keeps the store's ``price``/``price_error`` globals current.

    Logs one line per state change: first price, failure (with reason), reason change, recovery,
    and the moment the kept price goes stale.
    """

    def __init__(
        self,
        config: PriceConfig,
        store: Any,
        clock: Callable[[], float] = time.time,
        fetch: Callable[[str, float, str], bytes] = fetch_body,
    ):
        self.config = config
        self.store = store
        self.clock = clock
        self.fetch = fetch
        self.source = "static" if config.static_usd is not None else "http"
        self.last_good: PriceQuote | None = None
        self._state = "init"  # init | ok | failed:<reason>
        self._stale_logged = False

    def run(self) -> None:
        now = self.clock()
        if self.config.static_usd is not None:
            self._good(PriceQuote(self.config.static_usd, now, "static", math.inf), now)
            return
        assert self.config.url is not None and self.config.field is not None
        try:
            body = self.fetch(self.config.url, self.config.timeout_seconds, self.config.user_agent)
            usd = parse_price(body, self.config.field)
        except PriceFetchError as exc:
            self._failed(exc, now)
            return
        self._good(PriceQuote(usd, now, "http", self.config.max_age_seconds), now)

    def _good(self, quote: PriceQuote, now: float) -> None:
        if self._state != "ok":
            event = "price_fetch_recovered" if self._state.startswith("failed") else "price_fetched"
            log.info("event=%s source=%s usd=%.2f", event, self._where(), quote.usd)
        self._state = "ok"
        self._stale_logged = False
        self.last_good = quote
        self.store.set_global("price", quote)
        self.store.set_global("price_error", None)

    def _failed(self, exc: PriceFetchError, now: float) -> None:
        state = f"failed:{exc.reason}"
        kept = self.last_good
        if state != self._state:
            if kept is not None and kept.is_fresh(now):
                keeps = f"keeping_last_price_age_seconds={kept.age_seconds(now):.0f}"
            else:
                keeps = "usd_series=absent"
            log.warning(
                "event=price_fetch_failed reason=%s source=%s detail=%r %s",
                exc.reason, self._where(), exc.detail, keeps,
            )
            self._state = state
        if kept is not None and not kept.is_fresh(now) and not self._stale_logged:
            log.warning(
                "event=price_stale source=%s age_seconds=%.0f max_age_seconds=%g usd_series=absent",
                self._where(), kept.age_seconds(now), kept.max_age_seconds,
            )
            self._stale_logged = True
        self.store.set_global("price_error", PriceFailure(exc.reason, now, self.source))

    def _where(self) -> str:
        return "static" if self.config.url is None else _host(self.config.url)


def make_jobs(ctx: DaemonContext) -> list[JobSpec]:
    """One global ``price`` job when a price source is configured, none otherwise."""
    config = ctx.config.economics.price
    if config is None:
        return []
    job = PriceJob(config, ctx.store, clock=ctx.clock)
    return [JobSpec("price", None, ctx.config.polling.price_seconds, job.run)]
