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

import json
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from .. import outbound
from ..config.economics import PriceConfig
from ..indicators.economics import PriceFailure, PriceQuote
from .context import DaemonContext, JobSpec

log = logging.getLogger("hashwatch.collect.price")

MAX_BODY_BYTES = 1_000_000
FUTURE_TOLERANCE_SECONDS = 300.0  # a source clock this far ahead is wrong, not early
REASONS = (
    "timeout", "unreachable", "bad_http", "http_status", "too_large", "bad_json",
    "missing_field", "not_a_number", "negative", "zero", "redirect", "implausible",
    "bad_timestamp", "stale",
)
# Reasons that say the source itself is wrong: the price kept from it is dropped too.
DISTRUSTED = ("implausible", "stale", "bad_timestamp")


class PriceFetchError(Exception):
    def __init__(self, reason: str, detail: str = ""):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _index_ok(part: str, length: int) -> bool:
    return part.isdigit() and int(part) < length


def _load(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PriceFetchError("bad_json", "the answer is not JSON") from None


def _at(doc: Any, field: str) -> Any:
    node = doc
    for part in field.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and _index_ok(part, len(node)):
            node = node[int(part)]
        else:
            raise PriceFetchError("missing_field", f"no {part[:40]!r} on the path {field!r}")
    return node


def _number(node: Any, field: str) -> Decimal:
    if isinstance(node, bool) or not isinstance(node, (int, Decimal, str)):
        raise PriceFetchError("not_a_number", f"{field} is a {type(node).__name__}")
    try:
        value = Decimal(node.strip()[:64]) if isinstance(node, str) else Decimal(node)
    except InvalidOperation:
        raise PriceFetchError("not_a_number", f"{field} is not numeric") from None
    if not value.is_finite() or not math.isfinite(float(value)):
        raise PriceFetchError("not_a_number", f"{field} is not a finite number")
    return value


def parse_price(body: bytes, field: str) -> float:
    """The positive finite number at dotted ``field`` in a JSON body (``data.0.price``).

    Numeric strings are accepted (several exchanges quote prices as strings); booleans are not.
    """
    return _price_at(_load(body), field)


def _price_at(doc: Any, field: str) -> float:
    value = _number(_at(doc, field), field)
    if value < 0:
        raise PriceFetchError("negative", f"{field} is below zero")
    if value == 0:
        raise PriceFetchError("zero", f"{field} is zero")
    return float(value)


def parse_timestamp(node: Any, field: str) -> float:
    """A source timestamp as Unix seconds: seconds or milliseconds since 1970, or ISO 8601."""
    if isinstance(node, str) and not node.strip().lstrip("-").replace(".", "", 1).isdigit():
        try:
            parsed = datetime.fromisoformat(node.strip()[:64].replace("Z", "+00:00"))
        except ValueError:
            raise PriceFetchError("bad_timestamp", f"{field} is not a time") from None
        if parsed.tzinfo is None:
            raise PriceFetchError("bad_timestamp", f"{field} has no time zone")
        return parsed.timestamp()
    try:
        value = float(_number(node, field))
    except PriceFetchError:
        raise PriceFetchError("bad_timestamp", f"{field} is not a time") from None
    if value > 1e11:  # milliseconds (seconds reach 1e11 only in the year 5138)
        value /= 1000.0
    if value <= 0:
        raise PriceFetchError("bad_timestamp", f"{field} is not a time")
    return value


def parse_quote(body: bytes, config: PriceConfig, now: float) -> tuple[float, float]:
    """(USD per BTC, time of the quote) from an answer, checked against the config's bounds.

    Refused: a price outside ``min_usd..max_usd`` (``implausible``), and with
    ``timestamp_field`` a quote the source itself dates older than ``max_age_seconds``
    (``stale``) or in the future (``bad_timestamp``).
    """
    assert config.field is not None
    doc = _load(body)
    usd = _price_at(doc, config.field)
    if not config.min_usd <= usd <= config.max_usd:
        raise PriceFetchError(
            "implausible",
            f"{usd:.6g} USD/BTC is outside the plausible range {config.min_usd:g}.."
            f"{config.max_usd:g} (economics.price.min_usd/max_usd)",
        )
    at = now
    if config.timestamp_field:
        at = parse_timestamp(_at(doc, config.timestamp_field), config.timestamp_field)
        if at > now + FUTURE_TOLERANCE_SECONDS:
            raise PriceFetchError("bad_timestamp", f"the quote is dated {at - now:.0f} s ahead")
        at = min(at, now)
        if now - at > config.max_age_seconds:
            raise PriceFetchError(
                "stale", f"the source dates its quote {now - at:.0f} s ago (max "
                f"{config.max_age_seconds:g} s)"
            )
    return usd, at


_KIND_REASON = {
    "timeout": "timeout", "redirect": "redirect", "too_large": "too_large",
    "bad_http": "bad_http", "bad_url": "unreachable", "connection": "unreachable",
    "tls": "unreachable", "tls_verify": "unreachable",
}


def fetch_body(url: str, timeout: float, user_agent: str, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """GET ``url`` through the bounded client: the whole exchange within ``timeout`` seconds,
    at most ``max_bytes`` of answer, and a redirect is a failure (never followed)."""
    try:
        resp = outbound.request(
            "GET", url, timeout=timeout, max_body=max_bytes,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )
    except outbound.OutboundError as exc:
        if exc.kind == "too_large" and exc.status is not None and not 200 <= exc.status < 300:
            raise PriceFetchError("http_status", f"HTTP {exc.status}") from None
        raise PriceFetchError(_KIND_REASON[exc.kind], str(exc)) from None
    if not 200 <= resp.status < 300:
        raise PriceFetchError("http_status", f"HTTP {resp.status}")
    return resp.body


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
            usd, at = parse_quote(body, self.config, now)
        except PriceFetchError as exc:
            self._failed(exc, now)
            return
        self._good(PriceQuote(usd, at, "http", self.config.max_age_seconds), now)

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
        if exc.reason in DISTRUSTED and self.last_good is not None:
            # the source is wrong now: nothing it said is exported until it answers sanely
            self.last_good = None
            self.store.set_global("price", None)
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
