"""Simulated wall clock: frozen (tests drive it) or flowing at `speed` x real time."""

from __future__ import annotations

import threading
import time


class SimClock:
    """Unix time as the simulated node sees it (block times, mempool entry times).

    Frozen until run() is called, so tests are deterministic; a scenario makes it flow
    faster than real time (speed 1000 turns a two-week epoch into ~20 minutes).
    """

    def __init__(self, start: float) -> None:
        self._lock = threading.Lock()
        self._anchor_sim = float(start)
        self._anchor_real = time.monotonic()
        self._speed = 0.0

    def now(self) -> float:
        with self._lock:
            return self._anchor_sim + (time.monotonic() - self._anchor_real) * self._speed

    def _reanchor(self, sim_time: float) -> None:
        self._anchor_sim = sim_time
        self._anchor_real = time.monotonic()

    def set(self, t: float) -> None:
        with self._lock:
            self._reanchor(float(t))

    def advance(self, seconds: float) -> float:
        with self._lock:
            now = self._anchor_sim + (time.monotonic() - self._anchor_real) * self._speed
            self._reanchor(now + seconds)
            return self._anchor_sim

    def run(self, speed: float) -> None:
        """Let simulated time flow at speed x real time from now on (0 freezes it)."""
        with self._lock:
            now = self._anchor_sim + (time.monotonic() - self._anchor_real) * self._speed
            self._reanchor(now)
            self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def real_seconds_until(self, sim_time: float) -> float:
        """How long to sleep (real seconds) until the clock shows sim_time."""
        with self._lock:
            if self._speed <= 0:
                return float("inf")
            now = self._anchor_sim + (time.monotonic() - self._anchor_real) * self._speed
            return max(0.0, (sim_time - now) / self._speed)
