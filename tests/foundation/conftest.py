"""Fixtures for the foundation tests.

``datadir_sim`` is a simulator with default settings whose datadir (cookie file included) lives
under the test's tmp_path, so a test can stop it and restart it with a new cookie. It is not the
shared ``sim_node`` of tests/conftest.py (a node at the seed tip time without its own datadir).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def datadir_sim(tmp_path):
    from hashwatch.sim import SimNode

    sim = SimNode(datadir=tmp_path / "simdata")
    sim.start()
    yield sim
    sim.stop()
