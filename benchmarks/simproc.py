"""The simulated node in its own process, driven over stdin/stdout with one JSON object per line.

Why a separate process: the benchmarks measure the CPU that hashwatch spends (``process_time``
of the benchmark process, all threads). With the simulator in the same process its work
(serialising 150 MB of verbose mempool JSON, say) would be charged to hashwatch. Here it runs
alone and is reached over real loopback HTTP and ZMQ, like a real node.

Commands (``{"cmd": ...}``) and replies:
  fill n            grow the mempool to n transactions -> {"size", "seconds"}
  churn n chunk     remove n random transactions and add n new ones, ``chunk`` of each per
                    step (adds and removes publish ZMQ ``sequence`` A/R events)
                    -> {"size", "events", "steps"}; with ``chunk`` the reply comes after each
                    step as {"step": i} and the driver waits for {"cmd": "next"} in between,
                    so the caller can hold the pace its ZMQ subscriber keeps (no dropped events)
  mine n            mine n blocks -> {"height", "hashes"}
  info              -> {"height", "size", "zmq_sent", "cpu_seconds", "calls", "bytes_out",
                        "requests"}
  reset_stats       zero the server's counters
  quit
The first line written is {"ready": true, "rpc_url", "cookie_path", "zmq_url"}.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .common import die_with_parent

# Room for 300k+ transactions without Core's size-limit eviction changing the mempool's size.
MAXMEMPOOL_MB = 3_000


def _reply(out: TextIO, obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def _fill(sim: Any, n: int) -> int:
    with sim.lock:
        while len(sim.mempool) < n:
            sim.mempool.add_random(n - len(sim.mempool))
        return len(sim.mempool)


def _churn_step(sim: Any, rng: random.Random, n: int) -> int:
    """Remove n random transactions (with descendants) and add n new ones; events published."""
    with sim.lock:
        mp = sim.mempool
        seq0 = mp.sequence
        txids = mp.txids()
        for txid in rng.sample(txids, min(n, len(txids))):
            if txid in mp:
                mp.remove(txid)
        mp.add_random(n)
        return mp.sequence - seq0  # one sequence number per add and per remove


def _no_delay() -> None:
    """Set TCP_NODELAY on the simulator's accepted connections (a workaround, not a tweak).

    The simulator's handler writes the HTTP headers and the body in two ``send`` calls; with
    Nagle's algorithm and the client's delayed ACK every small answer then waits ~40 ms, which
    Bitcoin Core (one write per reply) does not do. Left in, it would make every round trip
    cost 40 ms and flatter batching (P4) by an order of magnitude.
    """
    import socket

    from hashwatch.sim import server

    accept = server.RPCServer.get_request
    if getattr(accept, "_no_delay", False):
        return

    def get_request(self: Any) -> Any:
        sock, addr = accept(self)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock, addr

    get_request._no_delay = True  # type: ignore[attr-defined]
    server.RPCServer.get_request = get_request  # type: ignore[method-assign]


def serve(args: dict[str, Any], inp: TextIO, out: TextIO) -> None:
    from hashwatch.sim.node import SimNode

    _no_delay()

    sim = SimNode(
        network=args.get("network", "main"),
        seed=args.get("seed", 1),
        zmq=args.get("zmq", True),
        maxmempool_mb=MAXMEMPOOL_MB,
    )
    sim.start()
    rng = random.Random(7)
    try:
        if args.get("mempool"):
            _fill(sim, int(args["mempool"]))
        _reply(out, {
            "ready": True,
            "rpc_url": sim.rpc_url,
            "cookie_path": str(sim.cookie_path),
            "zmq_url": sim.zmq_url,
        })
        for line in inp:
            cmd = json.loads(line)
            name = cmd.get("cmd")
            if name == "quit":
                break
            if name == "fill":
                t0 = time.perf_counter()
                size = _fill(sim, int(cmd["n"]))
                _reply(out, {"size": size, "seconds": time.perf_counter() - t0})
            elif name == "churn":
                n, chunk = int(cmd["n"]), int(cmd.get("chunk") or cmd["n"]) or 1
                events, steps = 0, 0
                for start in range(0, n, chunk):
                    if steps:
                        _reply(out, {"step": steps, "events": events})
                        if json.loads(inp.readline()).get("cmd") != "next":
                            break
                    events += _churn_step(sim, rng, min(chunk, n - start))
                    steps += 1
                _reply(out, {"size": len(sim.mempool), "events": events, "steps": steps})
            elif name == "mine":
                hashes = sim.mine(int(cmd.get("n", 1)))
                _reply(out, {"height": sim.chain.height, "hashes": hashes})
            elif name == "info":
                _reply(out, {
                    "height": sim.chain.height,
                    "size": len(sim.mempool),
                    "zmq_sent": sim.zmq.sent if sim.zmq else 0,
                    "cpu_seconds": time.process_time(),
                    "calls": dict(sim.stats.calls_by_method),
                    "bytes_out": sim.stats.bytes_out,
                    "requests": sim.stats.requests,
                })
            elif name == "reset_stats":
                sim.stats.reset()
                _reply(out, {"ok": True})
            else:
                _reply(out, {"error": f"unknown command {name!r}"})
    finally:
        sim.stop()


class SimProcess:
    """Start :func:`serve` in a child process and talk to it. A context manager."""

    def __init__(self, mempool: int = 0, zmq: bool = True, seed: int = 1,
                 log_dir: Path | None = None):
        self.args = {"mempool": mempool, "zmq": zmq, "seed": seed}
        self.log_dir = log_dir
        self.proc: subprocess.Popen[str] | None = None
        self.rpc_url = ""
        self.cookie_path = Path()
        self.zmq_url: str | None = None

    def start(self, timeout: float = 600.0) -> SimProcess:
        err = open(self.log_dir / "sim.log", "a") if self.log_dir else subprocess.DEVNULL  # noqa: SIM115
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.simproc", json.dumps(self.args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
            cwd=root, preexec_fn=die_with_parent,
        )
        ready = self._read(timeout)
        if not ready.get("ready"):
            raise RuntimeError(f"simulator did not start: {ready}")
        self.rpc_url, self.cookie_path, self.zmq_url = (
            ready["rpc_url"], Path(ready["cookie_path"]), ready["zmq_url"]
        )
        return self

    def _read(self, timeout: float = 600.0) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout)
            raise RuntimeError(f"simulator process exited (code {code}); see sim.log")
        return json.loads(line)

    def send(self, cmd: str, **params: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **params}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def churn(self, n: int, chunk: int | None = None, between: Any = None) -> dict[str, Any]:
        """Replace n transactions; ``between(events_so_far)`` runs after each chunk."""
        answer = self.send("churn", n=n, chunk=chunk or n)
        while "step" in answer:
            if between is not None:
                between(answer["events"])
            answer = self.send("next")
        if between is not None:
            between(answer["events"])
        return answer

    def height(self) -> int:
        return int(self.send("info")["height"])

    def mine(self) -> int:
        """Mine one block; the new height."""
        return int(self.send("mine", n=1)["height"])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
                self.proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def __enter__(self) -> SimProcess:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}, sys.stdin, sys.stdout)
