"""The answer cap against a real bitcoind: past it a protocol error, then the next call works."""

from __future__ import annotations

import os

import pytest

from hashwatch.node.auth import NodeAuth
from hashwatch.node.errors import NodeProtocolError
from hashwatch.node.rpc import NodeClient


@pytest.mark.realnode
@pytest.mark.timeout(120)
def test_real_answer_past_cap_is_protocol_error_and_the_client_recovers():
    binary = os.environ.get("BITCOIND")
    if not binary:
        pytest.skip("real node: set BITCOIND=/path/to/bitcoind")
    from ..harness.bitcoind import BitcoindNode

    node = BitcoindNode(binary)
    node.start()
    try:
        client = NodeClient("n1", node.rpc_url, NodeAuth(cookie_file=node.cookie_path),
                            max_answer_bytes=2_000)
        best = client.call("getbestblockhash")
        block = node.rpc("getblock", best, 2)
        assert len(str(block)) > 2_000
        with pytest.raises(NodeProtocolError) as info:
            client.call("getblock", best, 2)
        assert "cap of 2000 bytes" in str(info.value)
        assert client.call("getblockcount") == node.rpc("getblockcount")
        # wire bytes: Core's answer head is ~110 bytes on top of the JSON body
        before = client.bytes_in_total
        client.call("getblockcount")
        assert 100 < client.bytes_in_total - before - len('{"result":101,"error":null,"id":3}')
    finally:
        node.stop()
