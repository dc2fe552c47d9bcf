"""Start a real bitcoind on regtest for tests (only when BITCOIND points at a binary).

Free loopback ports for RPC, P2P and ZMQ; a temporary datadir; a wallet with 101 mined
blocks; readiness by polling RPC (never a blind sleep); a clean `stop` then wait.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import shutil
import signal
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..support.ports import free_port

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
P2WPKH_1IN_2OUT_VSIZE = 141  # what pay_many's transactions weigh (vB, 72-byte signature)


class BitcoindError(RuntimeError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code, self.message = code, message


class BitcoindNode:
    """A real regtest node with the same interface as conftest.SimBackend."""

    kind = "real"

    def __init__(self, binary: str, extra_args: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.extra_args = extra_args
        # tmpfs when there is one: the wallet syncs its database on every transaction, which
        # on a disk makes each payment cost ~20 ms (and whole test modules minutes)
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
        self.datadir = Path(tempfile.mkdtemp(prefix="hashwatch-bitcoind-", dir=shm))
        self.rpc_port, self.p2p_port, self.zmq_port = free_port(), free_port(), free_port()
        self.rpc_url = f"http://127.0.0.1:{self.rpc_port}/"
        self.cookie_path = self.datadir / "regtest" / ".cookie"
        self.zmq_url = f"tcp://127.0.0.1:{self.zmq_port}"
        self.proc: subprocess.Popen | None = None
        self.address = ""
        self.wallet_created = False
        self._coins: list[dict] = []  # confirmed fan-out outputs not yet spent by pay_many

    @property
    def cli_path(self) -> str | None:
        """bitcoin-cli next to the bitcoind binary (a Core build puts both in bin/), if any."""
        cli = Path(self.binary).with_name("bitcoin-cli")
        return str(cli) if cli.exists() else shutil.which("bitcoin-cli")

    # ----- process ---------------------------------------------------------------------
    def start(self, wallet: bool = True) -> None:
        """Launch and wait for RPC; the first start creates the wallet and mines 101 blocks."""
        self.launch()
        self._wait_ready()
        if not wallet:
            return
        if self.wallet_created:
            if "hashwatch" not in self.rpc("listwallets"):
                self.rpc("loadwallet", "hashwatch")
            return
        self.rpc("createwallet", "hashwatch")
        self.wallet_created = True
        self.address = self.rpc("getnewaddress")
        self.mine(101)

    def launch(self) -> None:
        """Start the process only (no readiness wait): for tests that watch the warm-up."""
        args = [self.binary, "-regtest", f"-datadir={self.datadir}", "-server=1",
                "-listen=1", "-bind=127.0.0.1", f"-port={self.p2p_port}",
                f"-rpcport={self.rpc_port}", "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1",
                f"-zmqpubsequence={self.zmq_url}", f"-zmqpubhashblock={self.zmq_url}",
                "-fallbackfee=0.0002", "-printtoconsole=0", "-discover=0", "-dnsseed=0",
                # regtest defaults to checking the whole mempool after every transaction:
                # O(mempool) per payment, minutes for a module's hundreds of payments
                "-checkmempool=0",
                # a restart loads the wallet during init (inside the -28 warm-up, as in use)
                *(["-wallet=hashwatch"] if self.wallet_created else []),
                *self.extra_args]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"bitcoind exited early ({self.proc.returncode}): {err}")
            if self.cookie_path.exists():
                try:
                    self.rpc("getblockchaininfo")
                    return
                except (BitcoindError, OSError) as exc:  # -28 warm-up, connection refused
                    last = exc
            time.sleep(0.1)  # polling interval while waiting for the process
        raise TimeoutError(f"bitcoind not ready after {READY_TIMEOUT}s: {last}")

    def freeze(self, frozen: bool) -> None:
        """SIGSTOP / SIGCONT: a hung node (accepts connections in the kernel, never answers)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def stop(self) -> None:
        """Stop the node and delete its datadir."""
        self.shutdown()
        shutil.rmtree(self.datadir, ignore_errors=True)

    def shutdown(self) -> None:
        """Stop the process cleanly but keep the datadir (a later ``start`` resumes the chain;
        Core writes a new cookie)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.rpc("stop")
            except (BitcoindError, OSError):
                self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()

    # ----- RPC -------------------------------------------------------------------------
    def raw_call(self, body: Any, path: str = "/", auth: str | None = None
                 ) -> tuple[int, Any]:
        """POST a JSON body; returns (HTTP status, decoded JSON or None)."""
        if auth is None:
            auth = self.cookie_path.read_text()
        conn = http.client.HTTPConnection("127.0.0.1", self.rpc_port, timeout=60)
        try:
            conn.request("POST", path, body=json.dumps(body), headers={
                "Authorization": "Basic " + base64.b64encode(auth.encode()).decode(),
                "Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        return resp.status, (json.loads(data, parse_float=Decimal) if data else None)

    def rpc(self, method: str, *params: Any) -> Any:
        status, reply = self.raw_call({"jsonrpc": "1.0", "id": method, "method": method,
                                       "params": list(params)})
        if reply is None:
            raise BitcoindError(-342, f"HTTP {status} without a body")
        if reply.get("error"):
            raise BitcoindError(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def batch(self, calls: list[tuple[str, tuple]]) -> list[Any]:
        """One HTTP batch; raises the first error (callers send calls that must all succeed)."""
        if not calls:
            return []
        status, replies = self.raw_call([{"jsonrpc": "1.0", "id": i, "method": m,
                                          "params": list(p)} for i, (m, p) in enumerate(calls)])
        if not isinstance(replies, list):
            raise BitcoindError(-342, f"HTTP {status}: batch answered with {replies!r}")
        out: list[Any] = [None] * len(calls)
        for r in replies:
            if r.get("error"):
                raise BitcoindError(r["error"]["code"], r["error"]["message"])
            out[int(r["id"])] = r["result"]
        return out

    def fan_out(self, coins: int, amount: float = 0.01) -> None:
        """Split wallet funds into ``coins`` confirmed outputs, so hundreds of payments each
        spend a confirmed coin instead of one long unconfirmed change chain (mempool limits)."""
        for start in range(0, coins, 500):
            count = min(500, coins - start)
            addresses = self.batch([("getnewaddress", ())] * count)
            self.rpc("sendmany", "", {a: amount for a in addresses})
        self.mine(1)
        used = {(c["txid"], c["vout"]) for c in self._coins}
        self._coins += [c for c in self.rpc("listunspent", 1)
                        if Decimal(str(c["amount"])) == Decimal(str(amount))
                        and (c["txid"], c["vout"]) not in used]

    def pay_many(self, rates: list[float]) -> list[str]:
        """One payment per fee rate (sat/vB), each spending one confirmed fan-out coin.

        Built with createrawtransaction / signrawtransactionwithwallet / sendrawtransaction in
        batches of 100: the wallet's own coin selection costs 40-100 ms a payment once it holds
        hundreds of coins, this ~3 ms. Falls back to sendtoaddress when no coins are left.
        Each payment is one P2WPKH input, two P2WPKH outputs (pay + change), RBF-signalling.
        """
        txids: list[str] = []
        for i in range(0, len(rates), 100):
            chunk = rates[i:i + 100]
            coins, self._coins = self._coins[:len(chunk)], self._coins[len(chunk):]
            if len(coins) < len(chunk):
                self._coins = coins + self._coins
                dest = self.rpc("getnewaddress")
                txids += self.batch([("sendtoaddress", (dest, 0.0001, "", "", False, True, None,
                                                        "unset", False, r)) for r in chunk])
                continue
            dest, change = self.rpc("getnewaddress"), self.rpc("getrawchangeaddress")
            calls = []
            for coin, rate in zip(coins, chunk, strict=True):
                fee = Decimal(math.ceil(rate * P2WPKH_1IN_2OUT_VSIZE)) / Decimal(100_000_000)
                back = Decimal(str(coin["amount"])) - Decimal("0.001") - fee
                calls.append(("createrawtransaction",
                              ([{"txid": coin["txid"], "vout": coin["vout"]}],
                               [{dest: "0.001"}, {change: str(back)}], 0, True)))
            raws = self.batch(calls)
            signed = self.batch([("signrawtransactionwithwallet", (r,)) for r in raws])
            txids += self.batch([("sendrawtransaction", (s["hex"], 0)) for s in signed])
        return txids

    def cli(self, *args: str) -> str:
        """Run bitcoin-cli against this node (cookie auth) and return its stdout, stripped."""
        if self.cli_path is None:
            raise FileNotFoundError("bitcoin-cli not found next to bitcoind or on PATH")
        out = subprocess.run([self.cli_path, "-regtest", f"-datadir={self.datadir}",
                              f"-rpcport={self.rpc_port}", "-rpcconnect=127.0.0.1", *args],
                             capture_output=True, text=True, timeout=60, check=True)
        return out.stdout.strip()

    def mine_other(self, n: int = 1) -> list[str]:
        """Mine to a fresh address: after invalidateblock, the same coinbase and timestamp
        would rebuild the very block that was just marked invalid."""
        return self.rpc("generatetoaddress", n, self.rpc("getnewaddress"))

    def mine(self, n: int = 1) -> list[str]:
        return self.rpc("generatetoaddress", n, self.address)

    def send_at_feerate(self, sat_per_vb: float) -> str:
        """A wallet payment at an exact fee rate (sat/vB) via sendtoaddress fee_rate."""
        dest = self.rpc("getnewaddress")
        return self.rpc("sendtoaddress", dest, 0.001, "", "", False, True, None, "unset",
                        False, sat_per_vb)
