"""The BTC price source: parsing, a real local HTTP endpoint that misbehaves, state and logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from hashwatch.collect.economics import economics_from_snapshot
from hashwatch.collect.price import (
    PriceFetchError,
    PriceJob,
    fetch_body,
    parse_price,
    parse_quote,
)
from hashwatch.config.economics import PriceConfig
from hashwatch.indicators.economics import PriceFailure, PriceQuote
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics import economics as econ_metrics
from hashwatch.snapshot.store import SnapshotStore

from ..support.httpsink import HANG, RecordingServer, Step
from ..support.ports import free_port
from .econ_helpers import FakeClock, block, recent, status


@pytest.mark.parametrize(
    ("body", "field", "usd"),
    [(b'{"bitcoin": {"usd": 80500}}', "bitcoin.usd", 80500.0),
     (b'{"data": [{"price": "80500.25"}]}', "data.0.price", 80500.25),
     (b'{"data": {"amount": " 91000.5 "}}', "data.amount", 91000.5),
     (b'[{"p": 1.5e4}]', "0.p", 15000.0)],
)
def test_parse_price_valid_paths_number(body: bytes, field: str, usd: float) -> None:
    assert parse_price(body, field) == usd


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [(b"<html>502 Bad Gateway</html>", "bitcoin.usd", "bad_json"),
     (b"\xff\xfe", "bitcoin.usd", "bad_json"),
     (b'{"bitcoin": {}}', "bitcoin.usd", "missing_field"),
     (b'{"data": []}', "data.0.price", "missing_field"),
     (b'{"data": [1]}', "data.x", "missing_field"),
     (b'{"bitcoin": {"usd": true}}', "bitcoin.usd", "not_a_number"),
     (b'{"bitcoin": {"usd": null}}', "bitcoin.usd", "not_a_number"),
     (b'{"bitcoin": {"usd": {"v": 1}}}', "bitcoin.usd", "not_a_number"),
     (b'{"bitcoin": {"usd": "n/a"}}', "bitcoin.usd", "not_a_number"),
     (b'{"bitcoin": {"usd": NaN}}', "bitcoin.usd", "not_a_number"),
     (b'{"bitcoin": {"usd": 1e400}}', "bitcoin.usd", "not_a_number"),
     (b'{"bitcoin": {"usd": -5}}', "bitcoin.usd", "negative"),
     (b'{"bitcoin": {"usd": 0}}', "bitcoin.usd", "zero")],
)
def test_parse_price_garbage_raises_reason(body: bytes, field: str, reason: str) -> None:
    with pytest.raises(PriceFetchError) as info:
        parse_price(body, field)
    assert info.value.reason == reason


class PriceServer(RecordingServer):
    """A real HTTP server on 127.0.0.1 whose behaviour the test switches between requests:
    ``mode`` (ok, slow, status, not_http, garbage), the ``usd`` it quotes, or a whole ``body``."""

    MODES: dict[str, Step] = {
        "slow": HANG,  # hold the answer until the test is done
        "status": (503, {}, b"busy"),
        "not_http": b"garbage\r\n\r\n",  # not HTTP at all
        "garbage": (200, {"Content-Type": "application/json"}, b"<html>oops"),
    }

    def __init__(self) -> None:
        super().__init__(responder=self._answer, path="/simple/price?key=SECRET123")
        self.mode = "ok"
        self.usd: object = 80500
        self.body: bytes | None = None  # a whole answer, when a test needs more than usd
        self.start()

    def _answer(self, payload: object, headers: dict[str, str]) -> Step:
        if self.mode in self.MODES:
            return self.MODES[self.mode]
        body = self.body or b'{"bitcoin": {"usd": %s}}' % str(self.usd).encode()
        return 200, {"Content-Type": "application/json"}, body

    close = RecordingServer.stop


@pytest.fixture
def server() -> Iterator[PriceServer]:
    s = PriceServer()
    yield s
    s.close()


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/price"


def _config(url: str, **kw: object) -> PriceConfig:
    return PriceConfig(url=url, field="bitcoin.usd", timeout_seconds=0.2, max_age_seconds=600, **kw)


def _store() -> SnapshotStore:
    store = SnapshotStore(["n1"])
    store.update_node("n1", up=True, status=status())
    return store


def test_fetch_body_ok_sends_user_agent(server: PriceServer) -> None:
    body = fetch_body(server.url, 2.0, "hashwatch-test/1")
    assert parse_price(body, "bitcoin.usd") == 80500
    assert server.received[-1].headers["user-agent"] == "hashwatch-test/1"


@pytest.mark.parametrize(("mode", "reason"), [("slow", "timeout"), ("status", "http_status"),
                                              ("not_http", "bad_http")])
def test_fetch_body_misbehaving_server_raises_reason(
    server: PriceServer, mode: str, reason: str
) -> None:
    server.mode = mode
    with pytest.raises(PriceFetchError) as info:
        fetch_body(server.url, 0.2, "t")
    assert info.value.reason == reason


def test_fetch_body_server_down_unreachable() -> None:
    with pytest.raises(PriceFetchError) as info:
        fetch_body(_closed_port_url(), 1.0, "t")
    assert info.value.reason == "unreachable"


def test_fetch_body_oversized_answer_too_large(server: PriceServer) -> None:
    with pytest.raises(PriceFetchError) as info:
        fetch_body(server.url, 2.0, "t", max_bytes=10)
    assert info.value.reason == "too_large"


def test_price_job_static_value_stored_fresh_forever() -> None:
    clock = FakeClock()
    store = _store()
    PriceJob(PriceConfig(static_usd=80500), store, clock=clock).run()
    quote = store.current().globals["price"]
    assert quote.usd == 80500 and quote.source == "static"
    assert quote.is_fresh(clock() + 10 * 365 * 86400)


def _families(store: SnapshotStore, now: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(
        store.current, [("economics", lambda snap: econ_metrics.render(snap, now=now))]
    ))
    return registry


@pytest.mark.parametrize("mode", ["slow", "garbage", "status", "down"])
def test_price_job_endpoint_fails_keeps_fresh_price_then_drops_usd(
    server: PriceServer, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    store = _store()
    url = _closed_port_url() if mode == "down" else server.url
    job = PriceJob(_config(server.url), store, clock=clock)
    job.run()
    assert store.current().globals["price"].usd == 80500

    job.config = _config(url)
    server.mode = mode
    caplog.set_level(logging.INFO, logger="hashwatch.collect.price")
    clock.advance(60)
    job.run()
    job.run()  # same failure again: no second log line
    messages = [r.getMessage() for r in caplog.records]
    failed = [m for m in messages if "event=price_fetch_failed" in m]
    assert len(failed) == 1
    assert "keeping_last_price" in failed[0]
    assert "SECRET123" not in caplog.text  # the API key in the URL is never logged
    assert isinstance(store.current().globals["price_error"], PriceFailure)
    registry = _families(store, clock())
    assert registry.get_sample_value("hashwatch_btc_price_usd", {"source": "http"}) == 80500

    clock.advance(600)  # past max age: the kept price is dropped, its age still shown
    job.run()
    assert any("event=price_stale" in r.getMessage() and "usd_series=absent" in r.getMessage()
               for r in caplog.records)
    registry = _families(store, clock())
    assert registry.get_sample_value("hashwatch_btc_price_usd", {"source": "http"}) is None
    assert registry.get_sample_value("hashwatch_price_up", {"source": "http"}) == 0.0
    assert registry.get_sample_value("hashwatch_price_age_seconds", {"source": "http"}) == 660.0


def test_price_job_reason_changes_and_recovery_each_logged_once(
    server: PriceServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hashwatch.collect.price")
    clock = FakeClock()
    store = _store()
    job = PriceJob(_config(server.url), store, clock=clock)
    for mode in ("garbage", "garbage", "status", "ok", "ok"):
        server.mode = mode
        job.run()
    events = [" ".join(r.getMessage().split()[:2]) for r in caplog.records]
    port = server.server.server_address[1]
    assert events == [
        "event=price_fetch_failed reason=bad_json",
        "event=price_fetch_failed reason=http_status",
        f"event=price_fetch_recovered source=127.0.0.1:{port}",
    ]
    assert store.current().globals.get("price_error") is None
    assert store.current().globals["price"].usd == 80500


def test_price_job_never_succeeded_no_price_up_zero(server: PriceServer) -> None:
    server.mode = "garbage"
    store = _store()
    clock = FakeClock()
    PriceJob(_config(server.url), store, clock=clock).run()
    assert "price" not in store.current().globals
    registry = _families(store, clock())
    assert registry.get_sample_value("hashwatch_price_up", {"source": "http"}) == 0.0
    assert registry.get_sample_value("hashwatch_price_age_seconds", {"source": "http"}) is None


def test_price_quote_age_never_negative() -> None:
    q = PriceQuote(1.0, fetched_at=100.0, source="http", max_age_seconds=10)
    assert q.age_seconds(50.0) == 0.0 and q.is_fresh(110.0) and not q.is_fresh(110.5)


# -- plausibility range and the source's own timestamp ------------------------------------------

NOW = 1_764_000_000.0


def _quote_cfg(**kw: object) -> PriceConfig:
    return PriceConfig(url="https://p.example/x", field="p", max_age_seconds=600, **kw)


@pytest.mark.parametrize("usd", ["0.5", "99.99", "10000000.01", "1e9", "3e15"])
def test_parse_quote_outside_plausible_range_is_implausible(usd: str) -> None:
    with pytest.raises(PriceFetchError) as info:
        parse_quote(b'{"p": %s}' % usd.encode(), _quote_cfg(), NOW)
    assert info.value.reason == "implausible"
    assert "min_usd/max_usd" in info.value.detail


def test_parse_quote_range_is_configurable() -> None:
    cfg = _quote_cfg(min_usd=1, max_usd=50)
    assert parse_quote(b'{"p": 2}', cfg, NOW) == (2.0, NOW)
    with pytest.raises(PriceFetchError):
        parse_quote(b'{"p": 80500}', cfg, NOW)


@pytest.mark.parametrize(
    ("stamp", "at"),
    [(str(NOW - 30), NOW - 30), (str(int((NOW - 30) * 1000)), NOW - 30),
     ('"2025-11-24T15:59:30Z"', NOW - 30), ('"2025-11-24T16:59:30+01:00"', NOW - 30),
     (str(NOW + 60), NOW)],  # a source clock a minute ahead counts as now
)
def test_parse_quote_source_timestamp_forms(stamp: str, at: float) -> None:
    body = b'{"p": 80500, "meta": {"t": %s}}' % stamp.encode()
    usd, when = parse_quote(body, _quote_cfg(timestamp_field="meta.t"), NOW)
    assert usd == 80500 and when == pytest.approx(at)


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [(str(NOW - 601), "stale"), ('"2020-01-01T00:00:00Z"', "stale"),
     (str(NOW + 3600), "bad_timestamp"), ('"yesterday"', "bad_timestamp"),
     ('"2025-11-24T15:59:30"', "bad_timestamp"), ("true", "bad_timestamp"),
     ("-5", "bad_timestamp")],
)
def test_parse_quote_bad_or_old_source_timestamp_refused(stamp: str, reason: str) -> None:
    body = b'{"p": 80500, "meta": {"t": %s}}' % stamp.encode()
    with pytest.raises(PriceFetchError) as info:
        parse_quote(body, _quote_cfg(timestamp_field="meta.t"), NOW)
    assert info.value.reason == reason


def test_parse_quote_missing_timestamp_field_refused() -> None:
    with pytest.raises(PriceFetchError) as info:
        parse_quote(b'{"p": 80500}', _quote_cfg(timestamp_field="meta.t"), NOW)
    assert info.value.reason == "missing_field"


@pytest.mark.parametrize("absurd", ["1", "0.0001", "99999999999"])
def test_price_job_absurd_quote_after_good_one_drops_usd_and_margin(
    server: PriceServer, absurd: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A source that starts lying is not trusted for anything: the USD series go absent at
    once (not after max_age), so no margin can be computed or alerted on from it."""
    caplog.set_level(logging.INFO, logger="hashwatch.collect.price")
    clock = FakeClock()
    store = _store()
    job = PriceJob(_config(server.url), store, clock=clock)
    job.run()
    assert store.current().globals["price"].usd == 80500
    server.usd = absurd
    clock.advance(60)
    job.run()
    failed = [r.getMessage() for r in caplog.records if "price_fetch_failed" in r.getMessage()]
    assert len(failed) == 1 and "reason=implausible" in failed[0]
    assert "usd_series=absent" in failed[0]
    registry = _families(store, clock())
    assert registry.get_sample_value("hashwatch_btc_price_usd", {"source": "http"}) is None
    assert registry.get_sample_value("hashwatch_price_up", {"source": "http"}) == 0.0
    store.update_node("n1", up=True, status=status(),
                      sections={"blocks": recent([block(925_400 - i) for i in range(10)])})
    econ = pytest.importorskip("hashwatch.config.economics")
    cfg = econ.EconomicsConfig(scenarios=[{"name": "home", "efficiency_j_per_th": 20,
                                           "power_price_usd_per_kwh": 0.05}])
    section, _ = economics_from_snapshot(store.current(), "n1", cfg, clock())
    assert section is not None and section.hashprice_usd_per_phs_day is None
    assert all(r.margin_usd_per_phs_day is None for r in section.scenarios)


def test_price_job_stale_by_source_timestamp_never_fresh(server: PriceServer) -> None:
    clock = FakeClock()
    store = _store()
    server.body = b'{"bitcoin": {"usd": 80500, "ts": %d}}' % int(clock() - 3600)
    cfg = PriceConfig(url=server.url, field="bitcoin.usd", timestamp_field="bitcoin.ts",
                      timeout_seconds=0.5, max_age_seconds=600)
    PriceJob(cfg, store, clock=clock).run()
    assert "price" not in store.current().globals or store.current().globals["price"] is None
    assert store.current().globals["price_error"].reason == "stale"


def test_price_job_quote_age_counts_from_source_timestamp(server: PriceServer) -> None:
    clock = FakeClock()
    store = _store()
    server.body = b'{"bitcoin": {"usd": 80500, "ts": %d}}' % int(clock() - 500)
    cfg = PriceConfig(url=server.url, field="bitcoin.usd", timestamp_field="bitcoin.ts",
                      timeout_seconds=0.5, max_age_seconds=600)
    PriceJob(cfg, store, clock=clock).run()
    quote = store.current().globals["price"]
    assert quote.age_seconds(clock()) == pytest.approx(500, abs=1)
    assert not quote.is_fresh(clock() + 101)  # 100 s after fetching, 601 s after the quote
