"""The HTTP JSON-RPC server over real sockets: auth, statuses, batches, warm-up, hang."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException

from hashwatch.sim import SimNode


def post(node: SimNode, body: Any, auth: str | None = None, timeout: float = 10,
         path: str = "/") -> tuple[int, dict, bytes]:
    auth = node.cookie_path.read_text() if auth is None else auth
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    try:
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        conn.request("POST", path, body=data, headers={
            "Authorization": "Basic " + base64.b64encode(auth.encode()).decode()})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def proxy(node: SimNode) -> AuthServiceProxy:
    user, password = node.cookie_path.read_text().split(":")
    return AuthServiceProxy(f"http://{user}:{password}@127.0.0.1:{node.port}/", timeout=10)


@pytest.fixture
def regtest(sim_factory: Callable[..., SimNode]) -> SimNode:
    return sim_factory(network="regtest", start_height=101)


def test_cookie_file_layout(regtest: SimNode) -> None:
    text = regtest.cookie_path.read_text()
    assert regtest.cookie_path == regtest.datadir / "regtest" / ".cookie"
    user, password = text.split(":")
    assert user == "__cookie__" and len(password) == 64 and int(password, 16) >= 0
    assert not text.endswith("\n")
    assert regtest.cookie_path.stat().st_mode & 0o777 == 0o600


def test_authserviceproxy_calls_and_errors(regtest: SimNode) -> None:
    px = proxy(regtest)
    assert px.getblockcount() == 101
    with pytest.raises(JSONRPCException) as err:
        px.getblockhash(10**7)
    assert err.value.error == {"code": -8, "message": "Block height out of range"}


def test_bad_and_missing_auth_is_401_with_empty_body(regtest: SimNode) -> None:
    for auth in ("__cookie__:wrong", ""):
        status, headers, body = post(regtest, {"method": "getblockcount"}, auth=auth)
        assert status == 401 and body == b""
        assert headers["WWW-Authenticate"] == 'Basic realm="jsonrpc"'


def test_rpc_user_password_accepted_besides_cookie(sim_factory: Callable[..., SimNode]) -> None:
    node = sim_factory(network="regtest", start_height=5, rpc_user="u", rpc_password="p")
    assert post(node, {"method": "getblockcount", "id": 1}, auth="u:p")[0] == 200
    assert post(node, {"method": "getblockcount", "id": 1})[0] == 200


def test_restart_rewrites_cookie_on_same_port(regtest: SimNode) -> None:
    old_cookie, port = regtest.cookie_path.read_text(), regtest.port
    regtest.restart()
    assert regtest.port == port
    assert regtest.cookie_path.read_text() != old_cookie
    assert post(regtest, {"method": "getblockcount", "id": 1}, auth=old_cookie)[0] == 401
    status, _, body = post(regtest, {"method": "getblockcount", "id": 1})
    assert status == 200 and json.loads(body)["result"] == 101


def test_legacy_unknown_method_404_other_errors_500(regtest: SimNode) -> None:
    status, _, body = post(regtest, {"version": "1.1", "method": "nosuch", "id": 2})
    assert status == 404
    assert json.loads(body) == {"result": None, "error": {"code": -32601,
                                                          "message": "Method not found"}, "id": 2}
    status, _, body = post(regtest, {"jsonrpc": "1.0", "method": "getblockheader",
                                     "params": ["xyz"], "id": "h"})
    assert status == 500
    assert json.loads(body)["error"] == {
        "code": -8, "message": "hash must be of length 64 (not 3, for 'xyz')"}


def test_jsonrpc2_errors_are_http_200_without_result(regtest: SimNode) -> None:
    status, _, body = post(regtest, {"jsonrpc": "2.0", "method": "getblockhash",
                                     "params": ["ten"], "id": "x"})
    reply = json.loads(body)
    assert status == 200 and "result" not in reply
    assert reply["error"]["code"] == -3
    assert '"Position 1 (height)": "JSON value of type string is not of expected type number"' \
        in reply["error"]["message"]
    status, _, body = post(regtest, {"jsonrpc": "2.0", "method": "getblockcount", "id": 1})
    assert json.loads(body) == {"jsonrpc": "2.0", "result": 101, "id": 1}


def test_batch_one_element_per_request(regtest: SimNode) -> None:
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(
        [("getblockcount", []), ("nosuch", []), ("getblockhash", [10**7])])]
    status, _, raw = post(regtest, body)
    replies = json.loads(raw)
    assert status == 200 and [r["id"] for r in replies] == [0, 1, 2]
    assert replies[0]["result"] == 101
    assert replies[1]["error"]["code"] == -32601 and replies[2]["error"]["code"] == -8


def test_parse_error_and_too_many_params(regtest: SimNode) -> None:
    status, _, body = post(regtest, "{not json")
    assert status == 500 and json.loads(body)["error"]["code"] == -32700
    status, _, body = post(regtest, {"method": "getblockcount", "params": [1, 2], "id": 1})
    assert status == 500
    err = json.loads(body)["error"]
    assert err["code"] == -1 and err["message"].startswith("getblockcount")


def test_named_params(regtest: SimNode) -> None:
    status, _, body = post(regtest, {"jsonrpc": "2.0", "id": 1, "method": "getblockhash",
                                     "params": {"height": 0}})
    genesis = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
    assert json.loads(body)["result"] == genesis


def test_warmup_is_minus_28_http_500_then_clears(regtest: SimNode) -> None:
    regtest.set_warmup(True, "Loading block index…")
    status, _, body = post(regtest, {"jsonrpc": "1.0", "id": "w", "method": "getblockcount"})
    assert status == 500
    assert json.loads(body)["error"] == {"code": -28, "message": "Loading block index…"}
    status, _, body = post(regtest, {"jsonrpc": "2.0", "id": "w", "method": "getblockcount"})
    assert status == 200 and json.loads(body)["error"]["code"] == -28
    regtest.set_warmup(False)
    assert post(regtest, {"id": 1, "method": "getblockcount"})[0] == 200


def test_warmup_window_expires_after_configured_seconds(
        sim_factory: Callable[..., SimNode]) -> None:
    node = sim_factory(network="regtest", start_height=3, warmup_seconds=0.3)
    first = json.loads(post(node, {"id": 1, "method": "getblockcount"})[2])
    assert first["error"]["code"] == -28
    done = threading.Event()
    while not done.wait(0.05):  # poll with a deadline set by pytest-timeout
        if json.loads(post(node, {"id": 1, "method": "getblockcount"})[2])["error"] is None:
            done.set()
    assert done.is_set()


def test_hang_blocks_until_released(regtest: SimNode) -> None:
    regtest.set_hang(True)
    with pytest.raises(TimeoutError):
        post(regtest, {"id": 1, "method": "getblockcount"}, timeout=0.3)
    result: list[int] = []
    answered = threading.Event()

    def call() -> None:
        result.append(post(regtest, {"id": 1, "method": "getblockcount"})[0])
        answered.set()

    threading.Thread(target=call, daemon=True).start()
    assert not answered.wait(0.2)
    regtest.set_hang(False)
    assert answered.wait(5) and result == [200]


@pytest.mark.parametrize("fault,check", [
    ("http500", lambda s, b: s == 500),
    ("empty_body", lambda s, b: s == 200 and b == b""),
    ("malformed_json", lambda s, b: s == 200 and not _is_json(b)),
    ("truncated_json", lambda s, b: s == 200 and not _is_json(b) and b.startswith(b"{")),
])
def test_injected_faults(regtest: SimNode, fault: str, check: Any) -> None:
    regtest.inject_fault(fault)
    status, _, body = post(regtest, {"id": 1, "method": "getblockcount"})
    assert check(status, body)
    regtest.inject_fault(None)
    assert json.loads(post(regtest, {"id": 1, "method": "getblockcount"})[2])["result"] == 101


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
        return True
    except ValueError:
        return False


def test_stats_count_requests_methods_and_bytes(regtest: SimNode) -> None:
    regtest.stats.reset()
    post(regtest, [{"id": 1, "method": "getblockcount"}, {"id": 2, "method": "getblockcount"}])
    post(regtest, {"id": 3, "method": "getbestblockhash"})
    assert regtest.stats.requests == 2
    assert regtest.stats.calls_by_method == {"getblockcount": 2, "getbestblockhash": 1}
    assert regtest.stats.bytes_out > 100 and regtest.stats.bytes_in > 50


def test_amounts_have_8_decimals_on_the_wire(regtest: SimNode) -> None:
    regtest.mempool.add_tx(141, 141)
    _, _, body = post(regtest, {"id": 1, "method": "getmempoolinfo"})
    assert b'"total_fee":0.00000141' in body and b'"mempoolminfee":0.00000100' in body


def test_wallet_path_unknown_wallet(regtest: SimNode) -> None:
    status, _, body = post(regtest, {"id": 1, "method": "getbalance"}, path="/wallet/x")
    assert status == 500 and json.loads(body)["error"]["code"] == -18


def test_sim_node_fixture_serves_mainnet_at_925000(sim_node: SimNode) -> None:
    px = proxy(sim_node)
    info = px.getblockchaininfo()
    assert (info["chain"], info["blocks"], info["bits"]) == ("main", 925_000, "1701d936")
    assert sim_node.rpc_url == f"http://127.0.0.1:{sim_node.port}/"


def test_idle_keepalive_connection_closed_like_core(
        sim_factory: Callable[..., SimNode]) -> None:
    """Recorded from Core (fixtures/core/behaviour/idle_connection_closed.json): past
    -rpcservertimeout the node closes with a FIN and no answer; the next request is written,
    then EOF."""
    import base64
    import socket
    from pathlib import Path

    fx = json.loads((Path(__file__).parents[1] / "fixtures" / "core" / "behaviour"
                     / "idle_connection_closed.json").read_text())
    node = sim_factory(network="regtest", start_height=5, rpc_idle_timeout=0.2)
    body = json.dumps(fx["request"]).encode()
    auth = base64.b64encode(node.cookie_path.read_text().strip().encode()).decode()
    req = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           f"Authorization: Basic {auth}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(req)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):  # headers, then body
            chunk = sock.recv(65536)
            assert chunk, "closed before the answer"
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK")
        closes = node.stats.idle_closes
        done = threading.Event()
        while not done.wait(0.02):  # bounded by pytest-timeout
            if node.stats.idle_closes > closes:
                done.set()
        assert sock.recv(65536) == b""  # FIN, no HTTP answer (Core sends none either)
        sock.sendall(req)  # the write itself succeeds, as on Core
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        assert data == b""
