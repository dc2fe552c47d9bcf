"""Cases that must hold on the simulator and on a real bitcoind (BITCOIND=...)."""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import urlparse

import pytest


def _post(backend: Any, body: Any, auth: str | None = None) -> tuple[int, bytes]:
    url = urlparse(backend.rpc_url)
    auth = backend.cookie_path.read_text() if auth is None else auth
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("POST", "/", body=json.dumps(body), headers={
            "Authorization": "Basic " + base64.b64encode(auth.encode()).decode(),
            "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_mining_raises_block_count(rpc_backend: Any) -> None:
    before = rpc_backend.rpc("getblockcount")
    hashes = rpc_backend.mine(2)
    assert rpc_backend.rpc("getblockcount") == before + 2
    assert rpc_backend.rpc("getbestblockhash") == hashes[-1]


def test_sent_tx_is_in_mempool_with_consistent_fees(rpc_backend: Any) -> None:
    txid = rpc_backend.send_at_feerate(12)
    assert txid in rpc_backend.rpc("getrawmempool")
    entry = rpc_backend.rpc("getmempoolentry", txid)
    fees = entry["fees"]
    rate = float(fees["base"]) * 1e8 / entry["vsize"]
    assert rate == pytest.approx(12, abs=0.2)
    assert float(fees["ancestor"]) >= float(fees["base"])
    assert float(fees["descendant"]) >= float(fees["base"])
    assert entry["ancestorsize"] >= entry["vsize"] and entry["weight"] > entry["vsize"] * 3


def test_bad_auth_is_401_empty(rpc_backend: Any) -> None:
    status, body = _post(rpc_backend, {"jsonrpc": "1.0", "id": 1, "method": "getblockcount"},
                         auth="__cookie__:nope")
    assert status == 401 and body == b""


def test_batch_mixed_results_and_errors(rpc_backend: Any) -> None:
    status, body = _post(rpc_backend, [
        {"jsonrpc": "2.0", "id": "a", "method": "getblockcount", "params": []},
        {"jsonrpc": "2.0", "id": "b", "method": "nosuchmethod", "params": []}])
    replies = json.loads(body)
    assert status == 200
    assert replies[0] == {"jsonrpc": "2.0", "result": rpc_backend.rpc("getblockcount"),
                          "id": "a"}
    assert replies[1]["error"]["code"] == -32601 and "result" not in replies[1]
