"""A clock the test moves by hand, passed where the code takes a ``clock`` callable."""

from __future__ import annotations

T0 = 1_764_200_000.0  # 2025-11-26, near the simulator's seed tip


class FakeClock:
    """Returns ``t`` when called; ``advance`` moves it (no sleeps, no wall clock)."""

    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        self.t += seconds
        return self.t
