"""Scenarios: YAML files describing a node's start state and timed events.

```yaml
name: example
node: {network: main, start_height: 925300, start_bits: 0x1701d936, speed: 300}
arrivals: {rate: 6.0, fee_median: 2.0, fee_sigma: 0.9, child_fraction: 0.03}
events:
  - {height: 925343, block_time: 1764205903}      # pin a block's timestamp
  - {height: 925350, fee_spike: {multiplier: 8, rate_multiplier: 3, duration: 7200}}
  - {at: 3600, hashrate: 0.8}                      # sim seconds after the start
  - {at: 9000, reorg: 2}
  - {at: 12000, restart: {warmup: 5}}              # warmup/hang durations: real seconds
```
Errors name the file and the offending key and raise ScenarioError.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .mempool import FeeRateDist

NODE_KEYS = {"network": str, "start_height": int, "start_bits": int, "start_time": int,
             "seed": int, "speed": (int, float), "mempool_size": int,
             "epoch_start_time": int, "epoch_mean_interval": (int, float),
             "history_fee_rate": (int, float), "zmq_hwm": int}
ARRIVAL_KEYS = {"rate": (int, float), "fee_median": (int, float), "fee_sigma": (int, float),
                "fee_floor": (int, float), "child_fraction": (int, float)}
ACTIONS = {"hashrate", "fee_spike", "congestion", "reorg", "restart", "warmup", "hang",
           "block_time", "mine"}
TRIGGERS = {"at", "height"}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


@dataclass
class Arrivals:
    rate: float = 5.0  # transactions per simulated second
    fee_median: float = 2.0
    fee_sigma: float = 0.9
    fee_floor: float = 1.0
    child_fraction: float = 0.02

    def dist(self, multiplier: float = 1.0) -> FeeRateDist:
        return FeeRateDist(self.fee_median, self.fee_sigma, self.fee_floor, multiplier)


@dataclass
class Scenario:
    name: str
    node: dict[str, Any]
    events: list[dict[str, Any]]
    arrivals: Arrivals | None = None
    description: str = ""
    source: str = "<memory>"
    extra: dict[str, Any] = field(default_factory=dict)


def _check_type(src: str, key: str, value: Any, typ: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, typ):
        names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise ScenarioError(f"{src}: key '{key}' must be {names}, got {value!r}")


def parse_scenario(data: Any, src: str) -> Scenario:
    """Validate a decoded YAML document into a Scenario."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{src}: top level must be a mapping")
    unknown = set(data) - {"name", "description", "node", "arrivals", "events"}
    if unknown:
        raise ScenarioError(f"{src}: unknown key '{sorted(unknown)[0]}'")
    node = data.get("node") or {}
    if not isinstance(node, dict):
        raise ScenarioError(f"{src}: key 'node' must be a mapping")
    for k, v in node.items():
        if k not in NODE_KEYS:
            raise ScenarioError(f"{src}: unknown key 'node.{k}'")
        _check_type(src, f"node.{k}", v, NODE_KEYS[k])
    if node.get("network", "main") not in ("main", "mainnet", "regtest"):
        raise ScenarioError(f"{src}: key 'node.network' must be main or regtest")
    arrivals = None
    if data.get("arrivals") is not None:
        raw = data["arrivals"]
        if not isinstance(raw, dict):
            raise ScenarioError(f"{src}: key 'arrivals' must be a mapping")
        for k, v in raw.items():
            if k not in ARRIVAL_KEYS:
                raise ScenarioError(f"{src}: unknown key 'arrivals.{k}'")
            _check_type(src, f"arrivals.{k}", v, ARRIVAL_KEYS[k])
        arrivals = Arrivals(**raw)
    events = data.get("events") or []
    if not isinstance(events, list):
        raise ScenarioError(f"{src}: key 'events' must be a list")
    for i, ev in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(ev, dict):
            raise ScenarioError(f"{src}: key '{where}' must be a mapping")
        for k in ev:
            if k not in ACTIONS | TRIGGERS:
                raise ScenarioError(f"{src}: unknown key '{where}.{k}'")
        triggers = [k for k in ev if k in TRIGGERS]
        actions = [k for k in ev if k in ACTIONS]
        if len(triggers) != 1:
            raise ScenarioError(f"{src}: key '{where}' needs exactly one of 'at' or 'height'")
        if len(actions) != 1:
            raise ScenarioError(f"{src}: key '{where}' needs exactly one action of "
                                f"{sorted(ACTIONS)}")
        _check_type(src, f"{where}.{triggers[0]}", ev[triggers[0]], (int, float))
        if actions[0] == "block_time" and triggers[0] != "height":
            raise ScenarioError(f"{src}: key '{where}.block_time' needs a 'height' trigger")
        if actions[0] in ("hashrate", "block_time", "warmup", "hang", "mine"):
            _check_type(src, f"{where}.{actions[0]}", ev[actions[0]], (int, float))
    name = data.get("name") or Path(src).stem
    return Scenario(name=str(name), node=dict(node), events=list(events), arrivals=arrivals,
                    description=str(data.get("description", "")), source=src)


def builtin_scenarios() -> list[str]:
    folder = resources.files("hashwatch.sim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name (e.g. "demo") or a YAML file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        src = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{src}: cannot read scenario file: {exc}") from None
    else:
        res = resources.files("hashwatch.sim") / "scenarios" / f"{name_or_path}.yaml"
        src = f"scenarios/{name_or_path}.yaml"
        if not res.is_file():
            raise ScenarioError(f"{src}: no built-in scenario named '{name_or_path}' "
                                f"(have: {', '.join(builtin_scenarios())})")
        text = res.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{src}: invalid YAML: {exc}") from None
    return parse_scenario(data, src)


def _poisson(rng: Any, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class ScenarioRunner:
    """Plays a scenario against a SimNode in a thread; the clock flows at `speed`."""

    TICK = 0.2  # real seconds between arrival batches

    def __init__(self, node: Any, scenario: Scenario, speed: float) -> None:
        self.node, self.scenario, self.speed = node, scenario, speed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired: list[int] = []
        self.error: BaseException | None = None
        self._spike: tuple[float, float, float] | None = None  # (until, fee x, rate x)
        self._real_timers: list[tuple[float, Any]] = []

    def start(self) -> None:
        self._thread = threading.Thread(target=self._safe_run, name="sim-scenario", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.node.clock.run(0)

    def _safe_run(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # surfaced to tests through .error
            self.error = exc

    def _next_block_time(self) -> float:
        """Exponential gap at the current hashrate; heads for a pinned block time if any."""
        node = self.node
        tip = node.chain.tip
        nxt = tip.height + 1
        pins = sorted((int(e["height"]), float(e["block_time"])) for e in self.scenario.events
                      if "block_time" in e and int(e["height"]) >= nxt)
        base = max(node.clock.now(), tip.time)
        if pins and pins[0][0] == nxt:
            return pins[0][1]
        if pins and pins[0][1] > tip.time:
            height, when = pins[0]
            mean = (when - tip.time) / (height - tip.height)
            return min(tip.time + node.rng.expovariate(1.0 / mean), when - (height - nxt))
        return base + node.rng.expovariate(1.0 / node.mean_interval())

    def run(self) -> None:
        node, clock = self.node, self.node.clock
        clock.run(self.speed)
        start = clock.now()
        pending = [i for i, e in enumerate(self.scenario.events) if "block_time" not in e]
        next_block = self._next_block_time()
        last_arrival = start
        while not self._stop.is_set():
            now = clock.now()
            for when, fn in [t for t in self._real_timers if t[0] <= time.monotonic()]:
                self._real_timers.remove((when, fn))
                fn()
            for i in list(pending):
                ev = self.scenario.events[i]
                due = (now >= start + ev["at"]) if "at" in ev else node.chain.height >= ev["height"]
                if due:
                    pending.remove(i)
                    self._apply(ev)
                    self.fired.append(i)
                    if "hashrate" in ev:
                        next_block = self._next_block_time()
            self._arrivals(now - last_arrival, now)
            last_arrival = now
            if now >= next_block:
                with node.lock:
                    node.mine(1, at=next_block)
                next_block = self._next_block_time()
                continue
            wait = min(self.TICK, clock.real_seconds_until(next_block))
            self._stop.wait(max(0.001, wait))

    def _arrivals(self, dt: float, now: float) -> None:
        arr = self.scenario.arrivals
        if arr is None or dt <= 0:
            return
        fee_x = rate_x = 1.0
        if self._spike is not None:
            until, fee_x, rate_x = self._spike
            if now >= until:
                self._spike, fee_x, rate_x = None, 1.0, 1.0
        n = _poisson(self.node.rng, arr.rate * rate_x * dt)
        if n:
            with self.node.lock:
                self.node.mempool.add_random(n, arr.dist(fee_x), arr.child_fraction)

    def _later(self, seconds: float, fn: Any) -> None:
        self._real_timers.append((time.monotonic() + seconds, fn))

    def _apply(self, ev: dict[str, Any]) -> None:
        node = self.node
        if "hashrate" in ev:
            node.set_hashrate_factor(float(ev["hashrate"]))
        elif "fee_spike" in ev:
            spec = ev["fee_spike"] or {}
            self._spike = (node.clock.now() + float(spec.get("duration", 3600)),
                           float(spec.get("multiplier", 5.0)),
                           float(spec.get("rate_multiplier", 2.0)))
        elif "congestion" in ev:
            spec = ev["congestion"] or {}
            dist = FeeRateDist(float(spec.get("fee_median", 3.0)),
                               float(spec.get("fee_sigma", 1.0)))
            with node.lock:
                node.mempool.add_random(int(spec.get("transactions", 20000)), dist)
        elif "reorg" in ev:
            spec = ev["reorg"]
            depth = int(spec["depth"]) if isinstance(spec, dict) else int(spec)
            new = spec.get("new_blocks") if isinstance(spec, dict) else None
            node.reorg(depth, new)
        elif "restart" in ev:
            spec = ev["restart"] or {}
            node.restart(new_cookie=bool(spec.get("new_cookie", True)))
            if spec.get("warmup"):
                node.set_warmup(float(spec["warmup"]))
        elif "warmup" in ev:
            node.set_warmup(float(ev["warmup"]))
        elif "hang" in ev:
            node.set_hang(True)
            self._later(float(ev["hang"]), lambda: node.set_hang(False))
        elif "mine" in ev:
            node.mine(int(ev["mine"]))
