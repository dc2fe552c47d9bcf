"""Local fallbacks so these tests run before/without the shared simulator fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def sim_node(tmp_path):
    from hashwatch.sim import SimNode

    sim = SimNode(datadir=tmp_path / "simdata")
    sim.start()
    yield sim
    sim.stop()
