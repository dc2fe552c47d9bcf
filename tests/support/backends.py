"""The simulator behind the same small interface as a real node (tests/harness BitcoindNode).

Both backends expose ``kind``, ``rpc``, ``batch``, ``mine``, ``pay_many``, ``send_at_feerate``,
``fan_out``, ``freeze``, ``shutdown``/``start``, ``rpc_url``, ``cookie_path``, ``zmq_url``, so a
test body runs unchanged against ``hashwatch.sim`` and a real bitcoind.
"""

from __future__ import annotations

import math
import random
from typing import Any

from hashwatch.sim import SimNode


class SimBackend:
    """The simulator on regtest behind the same interface as tests/harness BitcoindNode."""

    kind = "sim"

    def __init__(self, node: SimNode) -> None:
        self.node = node
        self.rpc_url = node.rpc_url
        self.cookie_path = node.cookie_path
        self.zmq_url = node.zmq_url
        self._rng = random.Random(7)

    def rpc(self, method: str, *params: Any) -> Any:
        return self.node.rpc(method, *params)

    def batch(self, calls: list[tuple[str, tuple]]) -> list[Any]:
        return [self.node.rpc(m, *p) for m, p in calls]

    def mine(self, n: int = 1) -> list[str]:
        return self.node.mine(n)

    def mine_other(self, n: int = 1) -> list[str]:
        return self.node.mine(n)

    def fan_out(self, coins: int, amount: float = 0.01) -> None:
        """Nothing to split: simulated payments need no coins."""

    def pay_many(self, rates: list[float]) -> list[str]:
        """Payments of wallet-like sizes (one or two inputs) at the given rates (sat/vB)."""
        out = []
        for r in rates:
            vsize = self._rng.choice((141, 141, 209))
            out.append(self.node.mempool.add_tx(vsize, math.ceil(r * vsize)))
        return out

    def send_at_feerate(self, sat_per_vb: float) -> str:
        return self.pay_many([sat_per_vb])[0]

    def freeze(self, frozen: bool) -> None:
        """Like SIGSTOP/SIGCONT on bitcoind: connections accepted, no answers."""
        self.node.set_hang(frozen)

    def shutdown(self) -> None:
        self.node.stop_server()

    def start(self, wallet: bool = True) -> None:
        self.node._write_cookie()  # a restarted bitcoind writes a new cookie
        self.node._listen()

    def stop(self) -> None:
        self.node.stop()
