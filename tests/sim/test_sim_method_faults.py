"""Per-method fault hooks, over real HTTP as a client sees them: a method the node lacks, and a
change that lands between two requests."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from hashwatch.sim import SimNode


def _post(sim: SimNode, body: Any) -> tuple[int, Any]:
    auth = base64.b64encode(sim.cookie_path.read_text().encode()).decode()
    req = urllib.request.Request(sim.rpc_url, data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_hidden_method_answers_method_not_found_like_core_then_back(sim_factory) -> None:
    sim = sim_factory(network="regtest", start_height=10)
    sim.hide_methods("getrawtransaction")
    status, reply = _post(sim, {"method": "getrawtransaction", "params": ["00" * 32], "id": 1})
    assert status == 404
    assert reply["error"] == {"code": -32601, "message": "Method not found"}
    status, reply = _post(sim, [{"jsonrpc": "2.0", "method": "getblockcount", "id": 1},
                                {"jsonrpc": "2.0", "method": "getrawtransaction", "id": 2}])
    assert status == 200 and reply[0]["result"] == 10 and reply[1]["error"]["code"] == -32601
    sim.hide_methods()
    status, reply = _post(sim, {"method": "getrawtransaction", "params": ["00" * 32], "id": 1})
    assert reply["error"]["code"] != -32601  # known again (not found: no such transaction)


def test_before_call_runs_once_between_two_requests(sim_factory) -> None:
    sim = sim_factory(network="regtest", start_height=10)
    sim.before_call("getblockheader", lambda: sim.mine(1))
    _, first = _post(sim, {"method": "getblockhash", "params": [10], "id": 1})
    _, header = _post(sim, {"method": "getblockheader", "params": [first["result"]], "id": 2})
    assert header["result"]["confirmations"] == 2  # the block arrived before this answer
    _, header = _post(sim, {"method": "getblockheader", "params": [first["result"]], "id": 3})
    assert header["result"]["confirmations"] == 2  # once only
    assert sim.stats.calls_by_method["getblockheader"] == 2  # the wrapped counters still count
