"""On regtest the economics series mean nothing (hashprice ~2e21 BTC/PH/s/day): absent, and
``hashwatch status`` says why (issue 13, deliver 6)."""

from __future__ import annotations

import dataclasses

from hashwatch.collect.economics import economics_from_snapshot
from hashwatch.status import economics as economics_status

from .econ_helpers import block, config, status, store_with_node


def _store(chain: str):
    store = store_with_node(blocks=[block(h) for h in range(925_300, 925_401)])
    regtest = dataclasses.replace(status(), chain=chain, difficulty=4.656542373906925e-10)
    store.update_node("n1", up=True, status=regtest, status_time=0.0)
    return store


def test_regtest_economics_absent_with_reason():
    store = _store("regtest")
    section, reason = economics_from_snapshot(store.current(), "n1", config().economics, 0.0)
    assert section is None and reason == "regtest"
    node = store.current().nodes["n1"]
    rows = dict(economics_status.rows(node, store.current(), now=0.0))
    assert "absent on regtest" in rows["hashprice"]


def test_same_inputs_on_testnet4_still_compute():
    store = _store("testnet4")
    section, reason = economics_from_snapshot(store.current(), "n1", config().economics, 0.0)
    assert section is not None and reason == "ok"
