"""The naive baselines hashwatch is measured against (P1 and P4).

Why these shapes: they are what exporters and scripts commonly do. A mempool poll that asks for
``getrawmempool true`` every time (~500 bytes per transaction, parsed whole), and a history load
that asks for each block in its own request (``getblockhash`` then ``getblockheader``, one HTTP
round trip each). Both go through the same :class:`NodeClient` as hashwatch so that transport,
JSON parsing and byte counting are identical and only the strategy differs.
"""

from __future__ import annotations

from typing import Any

from hashwatch.collect.headers import parse_header
from hashwatch.node.rpc import NodeClient
from hashwatch.state.headers import HeadersStore


def naive_poll(client: NodeClient) -> dict[str, Any]:
    """One verbose mempool listing: what a naive collector fetches on every poll."""
    return client.call("getrawmempool", True)


def naive_backfill(client: NodeClient, store: HeadersStore, blocks: int) -> int:
    """Store the last ``blocks`` headers asking for one block per request; returns the count.

    Stored the same way as hashwatch's backfill (one transaction at the end) so that only the
    request pattern differs.
    """
    tip = int(client.call("getblockcount"))
    headers = []
    for height in range(tip - blocks + 1, tip + 1):
        block_hash = client.call("getblockhash", height)
        headers.append(parse_header(client.call("getblockheader", block_hash, True)))
    return store.add(headers)
