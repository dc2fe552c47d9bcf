"""The BTC price source: parsing, a real local HTTP endpoint that misbehaves, state and logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from hashwatch.collect.price import PriceFetchError, PriceJob, fetch_body, parse_price
from hashwatch.config.economics import PriceConfig
from hashwatch.indicators.economics import PriceFailure, PriceQuote
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics import economics as econ_metrics
from hashwatch.snapshot.store import SnapshotStore

from ..support.httpsink import HANG, RecordingServer, Step
from ..support.ports import free_port
from .econ_helpers import FakeClock, status


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
