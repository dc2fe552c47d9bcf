"""Fixtures for the foundation tests.

``sim_node_now``: a mainnet-like simulator (height 925,000, seed 1) whose tip time is the wall
clock at start, in the test's own datadir; unlike the suite-wide ``sim_node`` (fixed seed tip
time, tests/conftest.py), block-age checks see a fresh tip.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def sim_node_now(tmp_path):
    from hashwatch.sim import SimNode

    sim = SimNode(datadir=tmp_path / "simdata")
    sim.start()
    yield sim
    sim.stop()
