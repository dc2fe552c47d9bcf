"""Every outbound HTTP reader against a hostile peer: redirects, oversized bodies, trickles.

The readers are the Slack and webhook notifiers, the price source and the bounded client
itself. Each class of attack is run against each reader (not one example): every redirect code
to another origin, to the same origin and from http to https; bodies announced huge, endless,
endless in chunks; answers trickled a byte per tick in the headers and in the body; a TLS peer
that never finishes its handshake. What must hold: no redirect is followed and no credential
reaches another origin, reading stops at the cap, and each call ends by its total deadline.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator

import pytest

from hashwatch import outbound
from hashwatch.alerts.notify import NotifyError
from hashwatch.alerts.notify.slack import SlackNotifier
from hashwatch.alerts.notify.webhook import WebhookNotifier
from hashwatch.collect.price import PriceFetchError, fetch_body
from hashwatch.config.alerts import SlackChannel, WebhookChannel

from ..support.tls import make_tls_files
from .hostile_http import Behaviour, HostilePeer

TOKEN = "Bearer-T0ken-never-elsewhere"
PAYLOAD = {
    "status": "firing", "transition": "firing", "rule": "fee_spike", "node": "n1",
    "severity": "critical", "labels": {"alertname": "fee_spike"}, "summary": "s",
    "description": "d", "value": 1.0, "starts_at": 1_764_200_000.0, "fingerprint": "f",
}
REDIRECTS = (301, 302, 303, 307, 308)


def _slack(url: str, timeout: float) -> None:
    SlackNotifier(SlackChannel(name="ops", type="slack", webhook_url=url,
                               timeout_seconds=timeout)).send(PAYLOAD, "k1")


def _webhook(url: str, timeout: float) -> None:
    WebhookNotifier(WebhookChannel(name="hook", type="webhook", url=url, bearer_token=TOKEN,
                                   timeout_seconds=timeout)).send(PAYLOAD, "k1")


def _price(url: str, timeout: float) -> None:
    fetch_body(url, timeout, "hashwatch-test")


def _client(url: str, timeout: float) -> None:
    resp = outbound.request("POST", url, timeout=timeout, body=b"{}", max_body=10_000,
                            headers={"Authorization": f"Bearer {TOKEN}"})
    if resp.status >= 400:
        raise outbound.OutboundError("bad_http", f"HTTP {resp.status}")


READERS: dict[str, Callable[[str, float], None]] = {
    "slack": _slack, "webhook": _webhook, "price": _price, "client": _client,
}


def _outcome(reader: str, url: str, timeout: float = 5.0) -> tuple[str, str]:
    """(reason or kind, message) of a failed call; ("ok", "") when it succeeded."""
    try:
        READERS[reader](url, timeout)
    except NotifyError as exc:
        return exc.reason, str(exc)
    except PriceFetchError as exc:
        return exc.reason, str(exc)
    except outbound.OutboundError as exc:
        return exc.kind, str(exc)
    return "ok", ""


@pytest.fixture
def target() -> Iterator[HostilePeer]:
    """Where a redirect points: must never see a request."""
    with HostilePeer() as peer:
        yield peer


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("code", REDIRECTS)
@pytest.mark.parametrize("where", ["other_origin", "same_origin", "relative", "to_https"])
def test_redirect_is_a_failure_naming_location_never_followed(reader, code, where, target):
    with HostilePeer(Behaviour("redirect", status=code)) as peer:
        location = {
            "other_origin": target.url("/steal?x=1"),
            "same_origin": peer.url("/elsewhere/s3cretPath2"),
            "relative": "/moved/s3cretPath3",
            "to_https": f"https://127.0.0.1:{target.port}/tls",
        }[where]
        peer.behaviour.location = location
        reason, message = _outcome(reader, peer.url())
        assert len(peer.seen) == 1  # asked once, not again at the new place
    assert reason == "redirect"
    assert f"HTTP {code}" in message
    expected_origin = (target.origin if where == "other_origin" else
                       f"https://127.0.0.1:{target.port}" if where == "to_https" else peer.origin)
    assert f"Location {expected_origin}/..." in message
    assert ("another origin" in message) == (where in ("other_origin", "to_https"))
    assert "s3cret" not in message and "steal" not in message  # paths may carry tokens
    assert target.seen == []  # nothing, and so no Authorization, reached the other origin


def test_redirect_first_request_carries_credentials_only_to_configured_origin(target):
    with HostilePeer(Behaviour("redirect", status=307, location=target.url())) as peer:
        assert _outcome("webhook", peer.url())[0] == "redirect"
        assert peer.seen[0].headers["authorization"] == f"Bearer {TOKEN}"
        assert peer.seen[0].method == "POST" and peer.seen[0].body
    assert target.seen == []


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", ["huge_length", "endless", "endless_chunked"])
@pytest.mark.parametrize("status", [200, 500])
def test_oversized_answer_reading_stops_at_the_cap(reader, kind, status):
    with HostilePeer(Behaviour(kind, status=status)) as peer:
        started = time.monotonic()
        reason, _ = _outcome(reader, peer.url(), timeout=10)
        took = time.monotonic() - started
        sent = peer.sent_bytes
    assert took < 5
    # Notifiers judge by the status line (the receiver's verdict), never by a body they did
    # not read; the price source and the client refuse the answer.
    expected = {
        "slack": "ok" if status == 200 else "http_5xx",
        "webhook": "ok" if status == 200 else "http_5xx",
        "price": "too_large" if status == 200 else "http_status",
        "client": "too_large",
    }[reader]
    assert reason == expected
    assert sent < 40 * 1024 * 1024  # the peer stopped because the reader hung up


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", ["trickle", "trickle_body", "silent"])
def test_trickling_or_silent_peer_call_ends_at_total_deadline(reader, kind):
    with HostilePeer(Behaviour(kind, tick=0.05)) as peer:
        started = time.monotonic()
        reason, message = _outcome(reader, peer.url(), timeout=1.0)
        took = time.monotonic() - started
    assert reason == "timeout", message
    assert 0.9 <= took < 3.0  # one deadline for the whole call, not per read


def test_tls_peer_that_never_finishes_handshake_times_out_at_deadline(tmp_path):
    files = make_tls_files(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.server_cert, files.server_key)
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    with HostilePeer(Behaviour("silent"), tls=server) as peer:
        started = time.monotonic()
        with pytest.raises(outbound.OutboundError) as info:
            outbound.request("GET", peer.url(), timeout=1.0, context=client)
        took = time.monotonic() - started
    assert info.value.kind == "timeout" and 0.9 <= took < 3.0


def test_tls_trickled_body_over_https_bounded_by_deadline(tmp_path):
    files = make_tls_files(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.server_cert, files.server_key)
    client = ssl.create_default_context(cafile=str(files.ca_cert))
    with HostilePeer(Behaviour("trickle_body", tick=0.05), tls=server) as peer:
        started = time.monotonic()
        with pytest.raises(outbound.OutboundError) as info:
            outbound.request("GET", peer.url(), timeout=1.0, context=client)
        took = time.monotonic() - started
    assert info.value.kind == "timeout" and took < 3.0


def test_untrusted_tls_certificate_is_bad_config_not_retried(tmp_path):
    files = make_tls_files(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.server_cert, files.server_key)
    with HostilePeer(Behaviour("ok"), tls=server) as peer:
        with pytest.raises(NotifyError) as info:
            _webhook(peer.url(), 5.0)
    assert (info.value.reason, info.value.retryable) == ("bad_config", False)
    assert "s3cret" not in str(info.value)


def test_client_never_uses_proxy_from_environment(monkeypatch, target):
    """A proxy set in the environment would see every webhook URL and token."""
    monkeypatch.setenv("http_proxy", target.origin)
    monkeypatch.setenv("HTTP_PROXY", target.origin)
    with HostilePeer(Behaviour("ok")) as peer:
        assert _outcome("webhook", peer.url())[0] == "ok"
        assert len(peer.seen) == 1
    assert target.seen == []


def test_smtp_server_trickling_its_greeting_fails_at_the_deadline():
    """smtplib bounds each read; the e-mail channel's watchdog bounds the conversation."""
    import socket
    import threading

    from hashwatch.alerts.notify.email import EmailNotifier
    from hashwatch.config.alerts import EmailChannel

    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220-")
            for _ in range(10_000):  # bounded: a byte per tick, far past the deadline
                if stop.wait(0.05):
                    return
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    channel = EmailChannel(name="mail", type="email", host="127.0.0.1",
                           port=listener.getsockname()[1], security="none",
                           from_address="hw@example.com", to=["ops@example.com"],
                           timeout_seconds=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(NotifyError) as info:
            EmailNotifier(channel).send(PAYLOAD | {"threshold": 1.0}, "k1")
    finally:
        stop.set()
        listener.close()
        thread.join(5)
    took = time.monotonic() - started
    assert info.value.reason == "timeout" and info.value.retryable
    assert 0.9 <= took < 3.0
