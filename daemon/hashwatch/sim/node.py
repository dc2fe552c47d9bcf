"""SimNode: one simulated Bitcoin Core node (chain, mempool, clock, RPC server, ZMQ).

This is the handle tests, benchmarks and `hashwatch run --simulate` hold.  All state is
guarded by one re-entrant lock; RPC handler threads, a scenario thread and the test thread
can all drive it.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import consensus as cs
from . import rpc_chain, rpc_node  # noqa: F401 - registers the RPC methods
from .chain import Chain
from .chain_actions import ChainActions
from .clock import SimClock
from .coinbase import DEFAULT_POOLS, Pool
from .faults import WARMUP_MESSAGES as WARMUP_MESSAGES  # re-exported: it was defined here
from .faults import FaultSwitches
from .history import BLOCK_WEIGHT_FOR_TXS, build_history
from .mempool import Mempool
from .rpc_methods import RPCError, dispatch, encode
from .server import DEFAULT_IDLE_TIMEOUT, RPCServer, ServerStats
from .zmqpub import HWM, ZmqPublisher


class SimNode(FaultSwitches, ChainActions):
    """A Bitcoin Core stand-in speaking real HTTP JSON-RPC (and ZMQ) on loopback.

    The behaviour switches (:mod:`.faults`) and the mining/reorg actions (:mod:`.chain_actions`)
    are mixins; this class owns the state they act on, the lifecycle, and the RPC caches.
    """

    def __init__(self, network: str | None = None, start_height: int | None = None,
                 seed: int | None = None, scenario: Any = None, datadir: Path | str | None = None,
                 rpc_user: str | None = None, rpc_password: str | None = None,
                 zmq: bool = False, speed: float | None = None, warmup_seconds: float = 0.0,
                 mempool_size: int = 0, start_bits: int | None = None,
                 start_time: float | None = None, maxmempool_mb: int = 300,
                 bind: str = "127.0.0.1", port: int = 0, zmq_port: int | None = None,
                 pools: tuple[Pool, ...] | None = None, history_fee_rate: float | None = None,
                 epoch_start_time: int | None = None, zmq_hwm: int | None = None,
                 rpc_idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT) -> None:
        from .scenario import Scenario, load_scenario

        if isinstance(scenario, (str, Path)):
            scenario = load_scenario(scenario)
        self.scenario: Scenario | None = scenario
        base = scenario.node if scenario is not None else {}
        self.network = network or base.get("network", "main")
        self.params = cs.params_for(self.network)
        regtest = self.params.no_retargeting
        self.seed = seed if seed is not None else base.get("seed", 1)
        if start_height is None:
            start_height = base.get("start_height", 0 if regtest else 925_000)
        start_bits = start_bits if start_bits is not None else base.get("start_bits")
        start_time = start_time if start_time is not None else base.get("start_time")
        self.speed = speed if speed is not None else base.get("speed", 1.0)
        mempool_size = mempool_size or base.get("mempool_size", 0)
        if history_fee_rate is None:
            history_fee_rate = base.get("history_fee_rate", 3.0)
        self.pools = pools or DEFAULT_POOLS
        self.lock = threading.RLock()
        self.rng = random.Random(self.seed)
        tip_time = int(start_time if start_time is not None else time.time())
        self.clock = SimClock(tip_time)
        self.chain = Chain(self.params, self.pools, self.seed)
        build_history(self.chain, start_height, start_bits, tip_time, self.seed,
                      fee_level=history_fee_rate,
                      epoch_start_time=epoch_start_time or base.get("epoch_start_time"),
                      epoch_mean_interval=base.get("epoch_mean_interval", cs.TARGET_SPACING))
        self.reference_bits = self.chain.tip.bits
        self.hashrate_factor = 1.0
        self.mempool = Mempool(random.Random(self.seed + 1), self.clock.now,
                               lambda: self.chain.height, maxmempool=maxmempool_mb * 1_000_000)
        self.stats = ServerStats()
        self.hang_released = threading.Event()
        self.hang_released.set()
        self.fault: str | None = None
        self.trickle_seconds = 1.0
        self.oversize_bytes = 300_000_000
        # -rpcservertimeout: keep-alive connections idle this long are closed (None: never)
        self.rpc_idle_timeout = rpc_idle_timeout
        self.last_template: tuple[int, int] | None = None
        self._template_cache: tuple[Any, list] | None = None
        self._ladder_cache: tuple[int, list] | None = None
        self._warmup_until: float | None = None
        self._warmup_message: str | None = None
        self.warmup_seconds = warmup_seconds
        self._own_datadir = datadir is None
        self.datadir = Path(datadir) if datadir else Path(tempfile.mkdtemp(prefix="hashwatch-sim-"))
        sub = self.datadir / "regtest" if regtest else self.datadir
        self.cookie_path = sub / ".cookie"
        self.rpc_user, self.rpc_password = rpc_user, rpc_password
        self._cookie = ""
        self.bind = bind
        self.port = port
        self._server: RPCServer | None = None
        self._server_thread: threading.Thread | None = None
        self.started_at = time.monotonic()
        self._want_zmq, self._zmq_port = zmq, zmq_port
        self.ibd_headers_ahead = 0  # set_initial_block_download
        # like Core's -zmqpubsequencehwm: bursts (a block confirming thousands of txs) beyond
        # it are dropped by the publisher, and the subscriber must notice the gap
        self._zmq_hwm = zmq_hwm if zmq_hwm is not None else base.get("zmq_hwm", HWM)
        self.zmq: ZmqPublisher | None = None
        self._runner: Any = None
        if scenario is not None and scenario.arrivals is not None:
            self.mempool.default_dist = scenario.arrivals.dist()
        if mempool_size:
            self.mempool.add_random(mempool_size)

    # ----- lifecycle -------------------------------------------------------------------
    @property
    def rpc_url(self) -> str:
        return f"http://{self.bind}:{self.port}/"

    @property
    def zmq_url(self) -> str | None:
        return self.zmq.url if self.zmq else None

    def _write_cookie(self) -> None:
        self.cookie_path.parent.mkdir(parents=True, exist_ok=True)
        self._cookie = "__cookie__:" + secrets.token_hex(32)
        tmp = self.cookie_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self._cookie)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.cookie_path)

    def credentials(self) -> list[str]:
        creds = [self._cookie]
        if self.rpc_user is not None and self.rpc_password is not None:
            creds.append(f"{self.rpc_user}:{self.rpc_password}")
        return creds

    def start(self) -> SimNode:
        """Write the cookie and listen (port 0 picks a free one, kept across restarts)."""
        if self._want_zmq and self.zmq is None:
            self.zmq = ZmqPublisher(self.bind, self._zmq_port, hwm=self._zmq_hwm)
            self.mempool.listeners.append(self.zmq.mempool_event)
        self._write_cookie()
        self._listen()
        return self

    def stop_server(self) -> None:
        if self._server is not None:
            self._server.close_all()
            self._server = None
        try:
            self.cookie_path.unlink()
        except FileNotFoundError:
            pass

    def stop(self) -> None:
        """Stop the scenario, the HTTP server and ZMQ; remove a temporary datadir."""
        if self._runner is not None:
            self._runner.stop()
            self._runner = None
        self.stop_server()
        if self.zmq is not None:
            self.zmq.close()
            self.zmq = None
        if self._own_datadir:
            shutil.rmtree(self.datadir, ignore_errors=True)

    def restart(self, new_cookie: bool = True) -> None:
        """Like restarting bitcoind: connections drop, a new cookie, the same port."""
        old = self._cookie
        self.stop_server()
        if new_cookie:
            self._write_cookie()
        else:
            self.cookie_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.cookie_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(old)
        self._listen()

    def _listen(self) -> None:
        self._server = RPCServer((self.bind, self.port), self)
        self.port = self._server.server_address[1]
        self.started_at = time.monotonic()
        if self.warmup_seconds:
            self.set_warmup(self.warmup_seconds)
        self._server_thread = threading.Thread(target=self._server.serve_forever,
                                               kwargs={"poll_interval": 0.05},
                                               name=f"sim-rpc-{self.port}", daemon=True)
        self._server_thread.start()

    def __enter__(self) -> SimNode:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----- RPC in-process --------------------------------------------------------------
    def rpc(self, method: str, *params: Any) -> Any:
        """Call a method through the dispatcher (no HTTP); returns what JSON would decode to.

        Raises RPCError with Core's code and message."""
        import json

        warm = self.warmup_message()
        if warm is not None:
            raise RPCError(-28, warm)
        return json.loads(encode(dispatch(self, method, list(params))))

    # ----- caches used by RPCs -----------------------------------------------------------
    def block_template_entries(self) -> list:
        key = (self.chain.tip.hash, self.mempool.sequence)
        if self._template_cache is None or self._template_cache[0] != key:
            entries = self.mempool.select(BLOCK_WEIGHT_FOR_TXS)
            self._template_cache = (key, entries)
            self.last_template = (sum(e.weight for e in entries) + 8000, len(entries))
        return self._template_cache[1]

    def fee_ladder(self) -> list[tuple[int, float]]:
        """(cumulative vsize, fee rate sat/vB) from the best fee rate down; cached."""
        seq = self.mempool.sequence
        if self._ladder_cache is None or self._ladder_cache[0] != seq:
            rates = sorted(((e.fee / e.vsize, e.vsize) for e in self.mempool.entries.values()),
                           reverse=True)
            ladder, cum = [], 0
            for rate, vsize in rates:
                cum += vsize
                ladder.append((cum, rate))
            self._ladder_cache = (seq, ladder)
        return self._ladder_cache[1]

    def peers(self) -> list[dict]:
        if self.params.no_retargeting:
            return []
        tip = self.chain.height
        return [{"id": i, "addr": f"203.0.113.{10 + i}:8333", "network": "ipv4",
                 "services": "0000000000000c09",
                 "servicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED", "P2P_V2"],
                 "relaytxes": True, "lastsend": int(self.clock.now()),
                 "lastrecv": int(self.clock.now()), "bytessent": 1_000_000 + i,
                 "bytesrecv": 5_000_000 + i, "conntime": int(self.clock.now()) - 3600,
                 "timeoffset": 0, "pingtime": 0.05 + i / 100, "minping": 0.04,
                 "version": 70016, "subver": "/Satoshi:29.0.0/", "inbound": False,
                 "synced_headers": tip, "synced_blocks": tip, "inflight": [],
                 "connection_type": "outbound-full-relay",
                 "transport_protocol_type": "v2", "session_id": ""} for i in range(8)]

    # ----- scenarios ---------------------------------------------------------------------
    def run_scenario(self, background: bool = True) -> Any:
        """Play the scenario's events on the simulated clock at `speed` x real time."""
        from .scenario import Scenario, ScenarioRunner

        scenario = self.scenario or Scenario(name="idle", node={}, events=[], arrivals=None)
        self._runner = ScenarioRunner(self, scenario, self.speed)
        if background:
            self._runner.start()
        else:
            self._runner.run()
        return self._runner
