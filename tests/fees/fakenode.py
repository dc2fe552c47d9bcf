"""A small JSON-RPC server on loopback answering the mempool and block calls from test data.

Why not the simulator: these tests need exact control of the mempool (a :class:`RefMempool`)
and of the chain (reorgs, missing methods) while the simulator is written elsewhere. Answers
use Core's shapes (JSON-RPC 1.1 elements with result and error, -5 / -32601 codes).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .refpool import RefMempool


class RPCFail(Exception):
    def __init__(self, code: int, message: str):
        self.code, self.message = code, message


def make_block(height: int, fork: str = "a", fee: int = 50_000, tag: str = "/TestPool/") -> dict:
    h = f"{fork}{height:063x}"
    script = b"\x03" + height.to_bytes(3, "little") + tag.encode() + b"\x00\x01"
    return {
        "hash": h,
        "height": height,
        "time": 1_700_000_000 + 600 * height,
        "fee": fee + height,
        "coinbase": {
            "txid": "c" + h[1:],
            "vin": [{"coinbase": script.hex(), "sequence": 0}],
            "vout": [
                {"value": Decimal("3.125"), "n": 0, "scriptPubKey": {"address": f"bc1qpool{fork}"}},
                {"value": Decimal(0), "n": 1, "scriptPubKey": {"type": "nulldata"}},
            ],
        },
    }


class FakeNode:
    def __init__(self, mempool: RefMempool | None = None, chain_height: int = 0):
        self.mempool = mempool or RefMempool()
        self.chain = [make_block(h) for h in range(chain_height + 1)]
        self.methods_missing: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.estimate = Decimal("0.00020000")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> FakeNode:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reorg(self, depth: int, fork: str = "b") -> None:
        top = self.chain[-1]["height"]
        del self.chain[-depth:]
        for h in range(top - depth + 1, top + 1):
            self.chain.append(make_block(h, fork, tag="/OtherPool/"))

    def mine(self, n: int = 1) -> None:
        for _ in range(n):
            self.chain.append(make_block(self.chain[-1]["height"] + 1))

    # -- RPC ---------------------------------------------------------------------------------

    def _by_hash(self, h: str) -> dict:
        for b in self.chain:
            if b["hash"] == h:
                return b
        raise RPCFail(-5, "Block not found")

    def dispatch(self, method: str, params: list) -> Any:
        self.calls[method] += 1
        if method in self.methods_missing:
            raise RPCFail(-32601, "Method not found")
        mp = self.mempool
        if method == "getrawmempool":
            if params and params[0]:
                return mp.verbose()
            return mp.listing() if len(params) > 1 and params[1] else list(mp.txs)
        if method == "getmempoolentry":
            if params[0] not in mp.txs:
                raise RPCFail(-5, "Transaction not in mempool")
            return mp.entry(params[0])
        if method == "getmempoolinfo":
            return {"loaded": True, "size": len(mp.txs)}
        if method == "getzmqnotifications":
            return [{"type": "pubsequence", "address": "tcp://127.0.0.1:1", "hwm": 1000}]
        if method == "estimatesmartfee":
            return {"feerate": self.estimate * params[0], "blocks": params[0]}
        if method == "getblockcount":
            return self.chain[-1]["height"]
        if method == "getblockhash":
            return self.chain[params[0]]["hash"]
        if method == "getblockstats":
            b = self.chain[params[0]]
            return {"height": b["height"], "blockhash": b["hash"], "time": b["time"],
                    "totalfee": b["fee"], "subsidy": 312_500_000, "txs": 2,
                    "total_weight": 4000, "feerate_percentiles": [1, 2, 3, 4, 5],
                    "avgfeerate": 3}  # fmt: skip
        if method == "getblock":
            if params[0] in mp.blocks:  # a block mined from the reference mempool
                return {"hash": params[0], "tx": mp.blocks[params[0]]}
            b = self._by_hash(params[0])
            txs = [b["coinbase"]] if params[1] == 2 else [b["coinbase"]["txid"]]
            return {"hash": b["hash"], "height": b["height"], "tx": txs}
        if method == "getrawtransaction":
            b = self._by_hash(params[2])
            return b["coinbase"]
        raise RPCFail(-32601, "Method not found")

    def _handler(self):
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(
                    self.rfile.read(int(self.headers["Content-Length"])), parse_float=Decimal
                )

                def one(req: dict) -> dict:
                    try:
                        return {"result": node.dispatch(req["method"], req.get("params", [])),
                                "error": None, "id": req.get("id")}  # fmt: skip
                    except RPCFail as f:
                        return {"result": None, "error": {"code": f.code, "message": f.message},
                                "id": req.get("id")}  # fmt: skip

                out = [one(r) for r in body] if isinstance(body, list) else one(body)
                status = 200
                if isinstance(out, dict) and out["error"] is not None:
                    status = 404 if out["error"]["code"] == -32601 else 500
                data = json.dumps(out, default=float).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
