"""P1: the steady-state mempool poll, hashwatch against a naive ``getrawmempool true`` poll.

What is measured at each mempool size, with ``churn`` (1%) of the transactions replaced between
polls (that many removed, as many new ones arriving):
- naive: one ``getrawmempool true`` per poll, fetched and parsed;
- hashwatch, poll path: the mempool job's sync (txid listing + batched ``getmempoolentry`` for
  new txids) - its floor is the txid listing, ~14% of a verbose listing;
- hashwatch, ZMQ path: the same job following ``sequence`` events; CPU includes the listener
  thread decoding the events as they arrive, bytes include the ZMQ messages (59 bytes each on
  the wire: three ZMTP frames of 8 + 41 + 4 bytes with 2-byte frame headers);
- the whole mempool job (sync + fee indicators over the full mempool) on the ZMQ path, for
  information: the indicator maths has no counterpart in a bare poll.

CPU is ``process_time`` of this process (all threads); the simulator runs in another process.
Bytes are HTTP bodies counted by :class:`NodeClient` (both directions).
"""

from __future__ import annotations

import gc
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hashwatch.collect.context import DaemonContext
from hashwatch.collect.mempool import FeesJob
from hashwatch.config import Config
from hashwatch.node.auth import NodeAuth
from hashwatch.node.rpc import NodeClient
from hashwatch.node.zmq import ZmqListener
from hashwatch.snapshot.store import SnapshotStore

from .common import Row, Sizes, cpu_now, median
from .naive import naive_poll
from .simproc import SimProcess

ZMQ_BYTES_PER_EVENT = 59
CHURN_CHUNK = 500  # events per step: below the publisher's high-water mark of 1,000
EVENT_WAIT = 60.0


def size_label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


class EventCounter:
    """Wraps the job's ``on_sequence`` to count events, so churn can wait for delivery."""

    def __init__(self, inner: Callable[[Any], None]):
        self.inner = inner
        self.count = 0
        self.target = 0
        self.reached = threading.Event()

    def __call__(self, event: Any) -> None:
        self.inner(event)
        self.count += 1
        if self.count >= self.target:
            self.reached.set()

    def wait_for(self, n: int, timeout: float) -> bool:
        self.target = n
        self.reached.clear()
        return self.count >= n or self.reached.wait(timeout)


class Probe:
    """Wraps ``MempoolSync.sync`` to record the CPU seconds and bytes of each call."""

    def __init__(self, job: FeesJob):
        self.job, self.client = job, job.client
        self.inner = job.sync.sync
        self.cpu = 0.0
        self.bytes = 0
        job.sync.sync = self  # type: ignore[method-assign]

    def __call__(self) -> None:
        c0, b0 = cpu_now(), _bytes(self.client)
        try:
            self.inner()
        finally:
            self.cpu, self.bytes = cpu_now() - c0, _bytes(self.client) - b0


def _bytes(client: NodeClient) -> int:
    return client.bytes_in_total + client.bytes_out_total


def _context(sim: SimProcess, state_dir: Path, zmq: bool) -> DaemonContext:
    node: dict[str, Any] = {"name": "sim", "url": sim.rpc_url, "cookie_file": str(sim.cookie_path)}
    if zmq:
        node["zmq_sequence"] = sim.zmq_url
    config = Config.model_validate({"nodes": [node], "state_dir": str(state_dir)})
    client = NodeClient("sim", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path), timeout=300)
    return DaemonContext(config=config, clients={"sim": client}, store=SnapshotStore(["sim"]),
                         state_dir=state_dir)


def measure_naive(sim: SimProcess, churn: int, rounds: int) -> dict[str, float]:
    client = NodeClient("naive", sim.rpc_url, NodeAuth(cookie_file=sim.cookie_path), timeout=300)
    cpus, sizes = [], []
    for _ in range(rounds):
        sim.churn(churn)
        gc.collect()
        c0, b0 = cpu_now(), _bytes(client)
        data = naive_poll(client)
        cpus.append(cpu_now() - c0)
        sizes.append(_bytes(client) - b0)
        del data
    listing0 = _bytes(client)
    client.call("getrawmempool", False, True)
    floor = _bytes(client) - listing0
    client.close()
    return {"cpu": median(cpus), "bytes": median(sizes), "floor": floor}


def measure_hashwatch(sim: SimProcess, churn: int, rounds: int, state_dir: Path) -> dict[str, Any]:
    """The mempool job polling only, then the same job switched to ZMQ events.

    One job for both paths: the switch costs one txid listing (as in the daemon when its ZMQ
    listener comes up), not a second full load of the mempool.
    """
    ctx = _context(sim, state_dir, zmq=True)
    job = FeesJob(ctx, "sim", want_events=False)
    probe = Probe(job)
    counter = EventCounter(job.sync.on_sequence)
    listener = ZmqListener("sim", {"sequence": sim.zmq_url or ""}, on_sequence=counter,
                           on_gap=job.sync.on_gap)
    try:
        job.run()  # the full load at start-up: not steady state, not measured
        poll_cpus, poll_sizes = [], []
        for _ in range(rounds):
            sim.churn(churn)
            gc.collect()
            job.run()
            poll_cpus.append(probe.cpu)
            poll_sizes.append(probe.bytes)
        out: dict[str, Any] = {"poll_cpu": median(poll_cpus), "poll_bytes": median(poll_sizes)}
        out.update(_zmq_rounds(sim, job, probe, counter, listener, churn, rounds))
        return out
    finally:
        listener.stop()
        job.close()
        ctx.clients["sim"].close()


def _zmq_rounds(sim: SimProcess, job: FeesJob, probe: Probe, counter: EventCounter,
                listener: ZmqListener, churn: int, rounds: int) -> dict[str, Any]:
    job.want_events, job.listener = True, listener
    listener.start()
    job.run()  # switches to events: one txid listing, not measured
    resyncs0, lost = job.sync.resyncs, 0
    sync_cpus, job_cpus, sizes, listen_cpus, apply_cpus = [], [], [], [], []
    for _ in range(rounds):
        gc.collect()
        base = counter.count
        c0 = cpu_now()

        def delivered(events: int, base: int = base) -> None:
            nonlocal lost
            if not counter.wait_for(base + events, EVENT_WAIT):
                lost += 1

        answer = sim.churn(churn, chunk=CHURN_CHUNK // 2, between=delivered)
        listen_cpu = cpu_now() - c0  # the listener thread decoding events as they arrive
        job.run()
        job_cpus.append(cpu_now() - c0)
        sync_cpus.append(listen_cpu + probe.cpu)
        listen_cpus.append(listen_cpu)
        apply_cpus.append(probe.cpu)
        sizes.append(probe.bytes + ZMQ_BYTES_PER_EVENT * answer["events"])
    return {
        "zmq_cpu": median(sync_cpus), "job_cpu": median(job_cpus), "zmq_bytes": median(sizes),
        "listen_cpu": median(listen_cpus), "apply_cpu": median(apply_cpus),
        "resyncs": job.sync.resyncs - resyncs0, "lost": lost, "gaps": listener.gaps,
    }


def run(sizes: Sizes, log_dir: Path) -> list[Row]:
    rows: list[Row] = []
    with SimProcess(zmq=True, log_dir=log_dir) as sim:
        for n in sizes.poll_mempools:
            sim.send("fill", n=n)
            churn, rounds = max(1, round(n * sizes.churn)), sizes.poll_rounds(n)
            naive = measure_naive(sim, churn, rounds)
            with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
                hw = measure_hashwatch(sim, churn, rounds, Path(tmp))
            gc.collect()
            rows += make_rows(n, naive, hw, sizes)
    return rows


def make_rows(n: int, naive: dict, hw: dict, sizes: Sizes, tag: str = "",
              churn_text: str = "") -> list[Row]:
    at = size_label(n)
    desc = f"{at} tx, {sizes.churn:.0%} churn" + (f" ({churn_text})" if churn_text else "")
    floor = naive["floor"] / naive["bytes"]
    base = "getrawmempool true"
    zmq_note = ""
    if hw["resyncs"] or hw["lost"]:
        zmq_note = (f"{hw['resyncs']} resync(s), {hw['lost']} undelivered churn step(s), "
                    f"{hw['gaps']} ZMQ gap(s) during the measured polls")
    target = "<= 5%"
    return [
        Row(f"P1{tag} {at} zmq bytes", f"poll bytes, ZMQ path, {desc}", "bytes", hw["zmq_bytes"],
            naive["bytes"], base, threshold=0.05, target_text=target, note=zmq_note),
        Row(f"P1{tag} {at} zmq cpu", f"poll CPU, ZMQ path, {desc}", "seconds", hw["zmq_cpu"],
            naive["cpu"], base, threshold=0.05, target_text=target,
            note=f"listener decoding {hw['listen_cpu'] * 1e3:.1f} ms + sync (apply events, "
            f"fetch new entries, getmempoolinfo) {hw['apply_cpu'] * 1e3:.1f} ms"),
        Row(f"P1{tag} {at} poll bytes", f"poll bytes, polling only, {desc}", "bytes",
            hw["poll_bytes"],
            naive["bytes"], base, target_text=f"info; floor {floor:.1%}"),
        Row(f"P1{tag} {at} poll cpu", f"poll CPU, polling only, {desc}", "seconds", hw["poll_cpu"],
            naive["cpu"], base, target_text="info"),
        Row(f"P1{tag} {at} job cpu", f"mempool job CPU incl. fee indicators, ZMQ, {desc}",
            "seconds",
            hw["job_cpu"], naive["cpu"], base, target_text="info"),
    ]
