"""python-bitcoinrpc carries every node call; our connection only bounds the transport.

These fail if the node layer goes back to a hand-rolled JSON-RPC client (the library's
``AuthServiceProxy.__call__`` no longer called, its proxy not the per-thread object), if the
connection handed to the library stops behaving like ``http.client.HTTPConnection`` for the
unmodified library, or if the library's errors stop mapping to ours.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal

import pytest
from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException

from hashwatch.node.auth import NodeAuth
from hashwatch.node.errors import NodeAuthError, NodeWarmingUp, RPCError
from hashwatch.node.proxy import library_error
from hashwatch.node.proxyconn import ProxyConnection
from hashwatch.node.rpc import NodeClient
from hashwatch.node.transport import Connection


def client_for(sim, **kw) -> NodeClient:
    return NodeClient("n1", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path), **kw)



def count_library_calls(monkeypatch) -> list[str]:
    """The RPC method names python-bitcoinrpc's ``AuthServiceProxy.__call__`` sends, in order."""
    methods: list[str] = []
    library_call = AuthServiceProxy.__call__

    def counting(self, *args):
        methods.append(self._AuthServiceProxy__service_name)
        return library_call(self, *args)

    monkeypatch.setattr(AuthServiceProxy, "__call__", counting)
    return methods


def test_every_call_goes_through_the_librarys_authserviceproxy(sim_factory, monkeypatch):
    sim = sim_factory(network="regtest", start_height=7)
    methods = count_library_calls(monkeypatch)
    client = client_for(sim)
    assert client.call("getblockcount") == 7
    assert client.call("getbestblockhash") == client.call("getblockhash", 7)
    assert methods == ["getblockcount", "getbestblockhash", "getblockhash"]
    proxy = client._local.proxy
    assert isinstance(proxy, AuthServiceProxy)
    # the library's connection is ours, on the bounded transport whose bytes are counted
    library_conn = proxy._AuthServiceProxy__conn
    assert isinstance(library_conn, ProxyConnection)
    assert library_conn.conn is client._local.conn
    assert client.bytes_in_total == library_conn.conn.bytes_in > 0


def test_batch_goes_through_the_library_proxy_and_its_connection(sim_factory, monkeypatch):
    sim = sim_factory(network="regtest", start_height=7)
    client = client_for(sim)
    client.call("getblockcount")
    proxy = client._local.proxy
    readers: list[object] = []
    library_read = type(proxy)._get_response

    def counting(self):
        readers.append(self)
        return library_read(self)

    monkeypatch.setattr(type(proxy), "_get_response", counting)
    hashes = client.batch([("getblockhash", [h]) for h in range(8)])
    assert hashes[7] == client.call("getbestblockhash")
    assert readers == [proxy, proxy]  # the batch, then the single call: same proxy object
    assert client._local.conn.used == 3  # one keep-alive socket for all three requests


def test_numbers_arrive_as_decimal_like_the_library_parses_them(sim_factory):
    sim = sim_factory(network="regtest", start_height=7)
    info = client_for(sim).call("getmempoolinfo")
    assert isinstance(info["minrelaytxfee"], Decimal)
    assert float(info["minrelaytxfee"]) > 0  # callers doing float maths still can


def test_unmodified_library_runs_on_the_bounded_connection(sim_factory):
    """Our connection is a faithful HTTPConnection: the plain library reads answers and 401s."""
    sim = sim_factory(network="regtest", start_height=9)
    user, password = NodeAuth(cookie_file=sim.cookie_path).credentials()
    conn = Connection("127.0.0.1", int(sim.rpc_url.rsplit(":", 1)[1].strip("/")),
                      max_answer_bytes=1_000_000)
    url = f"http://{user}:{password}@127.0.0.1/"
    good = ProxyConnection(conn, lambda: AuthServiceProxy(url)._AuthServiceProxy__auth_header)
    proxy = AuthServiceProxy(url, timeout=5, connection=good)
    assert proxy.getblockcount() == 9  # deadline from the library's sock.settimeout(5)
    assert conn.bytes_in > 0 and conn.used == 1
    with pytest.raises(JSONRPCException) as info:  # Core's error answer: HTTP 404 + JSON
        proxy.nosuchmethod()
    assert info.value.code == -32601
    assert isinstance(library_error(info.value), RPCError)

    wrong = ProxyConnection(Connection("127.0.0.1", conn.port, max_answer_bytes=1_000_000),
                            lambda: b"Basic d3Jvbmc6d3Jvbmc=")
    with pytest.raises(JSONRPCException) as info:
        AuthServiceProxy(url, timeout=5, connection=wrong).getblockcount()
    assert info.value.code == -342 and "401 Unauthorized" in info.value.message
    assert isinstance(library_error(info.value), NodeAuthError)


def test_library_warmup_error_keeps_cores_code(sim_factory):
    sim = sim_factory(network="regtest", start_height=3)
    sim.set_warmup(True, "Loading banlist…")
    client = client_for(sim)
    started = time.monotonic()
    with pytest.raises(NodeWarmingUp) as info:
        client.call("getblockcount")
    assert info.value.code == -28 and "Loading banlist" in str(info.value)
    assert time.monotonic() - started < 5
    sim.set_warmup(False)
    assert client.call("getblockcount") == 3


@pytest.mark.realnode
@pytest.mark.timeout(120)
def test_real_node_calls_and_errors_go_through_the_library(monkeypatch):
    binary = os.environ.get("BITCOIND")
    if not binary:
        pytest.skip("real node: set BITCOIND=/path/to/bitcoind")
    from ..harness.bitcoind import BitcoindNode

    methods = count_library_calls(monkeypatch)
    node = BitcoindNode(binary)
    node.start()
    try:
        client = NodeClient("n1", node.rpc_url, NodeAuth(cookie_file=node.cookie_path))
        assert client.call("getblockcount") == node.rpc("getblockcount")
        fee = client.call("getmempoolinfo")["minrelaytxfee"]
        assert isinstance(fee, Decimal) and fee > 0
        with pytest.raises(RPCError) as info:  # Core: HTTP 404 + JSON error, via the library
            client.call("nosuchmethod")
        assert info.value.code == -32601
        assert methods == ["getblockcount", "getmempoolinfo", "nosuchmethod"]
        wrong = NodeClient("n1", node.rpc_url, NodeAuth(user="nobody", password="wrong"))
        with pytest.raises(NodeAuthError):
            wrong.call("getblockcount")
    finally:
        node.stop()
