"""The node client against recorded Core answers and scripted faults, over real HTTP."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal

import pytest

from hashwatch.node.auth import NodeAuth, cookie_path_for
from hashwatch.node.errors import (
    NodeAuthError,
    NodeProtocolError,
    NodeTimeout,
    NodeUnavailable,
    NodeWarmingUp,
    RPCError,
)
from hashwatch.node.rpc import NodeClient

from ..support.httpsink import json_answer
from ..support.ports import free_port
from .httpstub import basic_user, fixture, fixture_answer, node_stub

PASSWORD = "correct horse:battery@staple%"


def client_for(url: str, **kw) -> NodeClient:
    return NodeClient("n1", url, NodeAuth(user="hw", password=PASSWORD), **kw)


def recorded_batch(name: str):
    """Answer with the recorded batch elements, ids rewritten to the ids we sent."""
    fx = fixture(name)

    def answer(body, headers):
        out = []
        for sent, recorded in zip(body, fx["response"], strict=True):
            element = dict(recorded)
            element["id"] = sent["id"]
            out.append(element)
        return json_answer(fx["http_status"], out)

    return answer


def test_batch_mixed_fixture_returns_values_and_errors_in_order():
    with node_stub(recorded_batch("batch_mixed")) as stub:
        calls = [(r["method"], r["params"]) for r in fixture("batch_mixed")["request"]]
        values = client_for(stub.url).batch(calls, raise_errors=False)
    assert values[0] == 103
    assert isinstance(values[1], str) and len(values[1]) == 64
    assert isinstance(values[2], RPCError) and values[2].code == -32601
    assert isinstance(values[3], RPCError) and values[3].code == -8
    assert values[3].message == "Block height out of range"


def test_batch_jsonrpc2_elements_without_error_key_are_read():
    # Core's 2.0 elements carry result *or* error, never both.
    fx = fixture("batch_jsonrpc2")
    calls = [(r["method"], r["params"]) for r in fx["request"]]
    with node_stub(recorded_batch("batch_jsonrpc2")) as stub:
        values = client_for(stub.url).batch(calls, raise_errors=False)
    assert len(values) == len(calls)
    expected = [e.get("result") for e in fx["response"]]
    for got, want, recorded in zip(values, expected, fx["response"], strict=True):
        if "error" in recorded:
            assert isinstance(got, RPCError) and got.code == recorded["error"]["code"]
        else:
            assert got == want


def test_batch_raise_errors_raises_first_error_with_code():
    with node_stub(recorded_batch("batch_mixed")) as stub:
        calls = [(r["method"], r["params"]) for r in fixture("batch_mixed")["request"]]
        with pytest.raises(RPCError) as info:
            client_for(stub.url).batch(calls)
    assert info.value.code == -32601
    assert info.value.node == "n1"


def test_call_sends_credentials_with_special_characters_intact():
    with node_stub(
        lambda body, h: json_answer(200, {"result": 5, "error": None, "id": body["id"]})
    ) as stub:
        assert client_for(stub.url).call("getblockcount") == 5
        assert basic_user(stub.requests[0][1]) == ("hw", PASSWORD)


def test_call_floats_arrive_as_decimal():
    with node_stub(lambda body, h: fixture_answer("getmempoolinfo")) as stub:
        info = client_for(stub.url).call("getmempoolinfo")
    assert isinstance(info["total_fee"], Decimal)


def test_call_bad_auth_401_raises_auth_error_without_password():
    with node_stub(lambda body, h: fixture_answer("error_bad_auth")) as stub:
        with pytest.raises(NodeAuthError) as info:
            client_for(stub.url).call("getblockcount")
    assert "401" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert info.value.kind == "auth"


def test_call_warmup_minus_28_raises_warming_up_with_message():
    with node_stub(lambda body, h: fixture_answer("error_warmup_-28")) as stub:
        with pytest.raises(NodeWarmingUp) as info:
            client_for(stub.url).call("getblockcount")
    assert info.value.code == -28
    assert "Loading P2P addresses" in str(info.value)


def test_call_unknown_method_404_raises_rpc_error_with_core_code():
    with node_stub(lambda body, h: fixture_answer("error_method_not_found_v1")) as stub:
        with pytest.raises(RPCError) as info:
            client_for(stub.url).call("nosuchmethod")
    assert info.value.code == -32601


def test_call_connection_refused_raises_unavailable():
    port = free_port()  # nothing listens on it
    with pytest.raises(NodeUnavailable) as info:
        client_for(f"http://127.0.0.1:{port}/").call("getblockcount")
    assert "refused" in str(info.value)


def test_call_hung_node_raises_timeout_after_per_call_limit():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections (backlog) but never answers
    port = listener.getsockname()[1]
    try:
        with pytest.raises(NodeTimeout) as info:
            client_for(f"http://127.0.0.1:{port}/", timeout=0.3).call("getblockcount")
        assert "0.3" in str(info.value)
    finally:
        listener.close()


@pytest.mark.parametrize(
    "answer",
    [
        (200, {"Content-Type": "application/json"}, b'{"result": 1, "err'),
        (200, {"Content-Type": "application/json"}, b"\xff\xfe not json"),
        (500, {"Content-Type": "text/html"}, b"<html>Internal error</html>"),
    ],
    ids=["truncated", "garbage", "html-500"],
)
def test_call_malformed_answer_raises_protocol_error(answer):
    with node_stub(lambda body, h: answer) as stub:
        with pytest.raises(NodeProtocolError):
            client_for(stub.url).call("getblockcount")


def test_call_after_protocol_error_recovers_on_next_call():
    answers = iter(
        [
            (200, {"Content-Type": "application/json"}, b"{broken"),
            (200, {"Content-Type": "application/json"}, b'{"result": 7, "error": null, "id": 1}'),
        ]
    )
    with node_stub(lambda body, h: next(answers)) as stub:
        client = client_for(stub.url)
        with pytest.raises(NodeProtocolError):
            client.call("getblockcount")
        assert client.call("getblockcount") == 7


def test_cookie_rewritten_after_restart_is_reread_on_401(tmp_path):
    datadir = tmp_path
    cookie = cookie_path_for(datadir, "regtest")
    cookie.parent.mkdir(parents=True)
    cookie.write_text("__cookie__:" + "a" * 64)
    current = {"password": "a" * 64}

    def answer(body, headers):
        if basic_user(headers) != ("__cookie__", current["password"]):
            return 401, {"WWW-Authenticate": 'Basic realm="jsonrpc"'}, b""
        return json_answer(200, {"result": 42, "error": None, "id": body["id"]})

    with node_stub(answer) as stub:
        client = NodeClient("n1", stub.url, NodeAuth(cookie_file=cookie))
        assert client.call("getblockcount") == 42
        # the node restarts and writes a new cookie
        current["password"] = "b" * 64
        cookie.write_text("__cookie__:" + "b" * 64)
        assert client.call("getblockcount") == 42
    assert len(stub.requests) == 3  # ok, 401, retried ok


def test_cookie_missing_raises_unavailable_naming_file(tmp_path):
    cookie = tmp_path / ".cookie"
    client = NodeClient("n1", "http://127.0.0.1:1/", NodeAuth(cookie_file=cookie))
    with pytest.raises(NodeUnavailable) as info:
        client.call("getblockcount")
    assert str(cookie) in str(info.value)


def test_observer_sees_method_duration_error_kind_and_bytes():
    seen = []
    with node_stub(lambda body, h: fixture_answer("error_method_not_found_v1")) as stub:
        client = client_for(stub.url, observer=lambda *a: seen.append(a))
        with pytest.raises(RPCError):
            client.call("nosuchmethod")
    method, seconds, kind, sent, received = seen[0]
    assert (method, kind) == ("nosuchmethod", "rpc")
    assert seconds >= 0 and sent > 0 and received > 0
    assert client.bytes_in_total == received and client.bytes_out_total == sent


def test_client_shared_by_threads_answers_each_correctly():
    def answer(body, headers):
        return json_answer(200, {"result": body["params"][0] * 2, "error": None, "id": body["id"]})

    errors: list[BaseException] = []
    with node_stub(answer) as stub:
        client = client_for(stub.url)

        def worker(base: int) -> None:
            try:
                for i in range(30):
                    assert client.call("double", base + i) == 2 * (base + i)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not errors
    assert len(stub.requests) == 180
