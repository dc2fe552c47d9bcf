"""``--simulate``: start the built-in simulated Bitcoin Core node and a config pointing at it.

Why: a newcomer should see metrics and alerts with no Bitcoin node at all. The simulator runs
in-process but is reached over real loopback HTTP (and ZMQ), exactly like a real node.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from .config import Config, ConfigError, read_config_data, validate_config
from .config.loader import interpolate_env, load_yaml


def _default_config_path() -> Path:
    return Path(str(resources.files("hashwatch") / "data" / "simulate.yaml"))


def start_embedded(
    scenario: str = "demo",
    speed: float | None = None,
    config_path: Path | None = None,
    state_dir: Path | None = None,
) -> tuple[Any, Config]:
    """Start a simulator for ``scenario``; return it and a validated config for it.

    With ``config_path`` the user's file is used for everything but ``nodes``, which are
    replaced by the simulated node.
    """
    from .sim import ScenarioError, SimNode

    state = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="hashwatch-sim-"))
    kwargs: dict[str, Any] = {"scenario": scenario, "zmq": True}
    if speed is not None:
        kwargs["speed"] = speed
    try:
        sim = SimNode(**kwargs)
    except ScenarioError as exc:
        raise ConfigError([f"--scenario {scenario}: {exc}"]) from None
    sim.start()
    try:
        env = {
            "SIM_RPC_URL": sim.rpc_url,
            "SIM_COOKIE_FILE": str(sim.cookie_path),
            "SIM_STATE_DIR": str(state),
        }
        data, lines = load_yaml(_default_config_path())
        data = interpolate_env(data, lines, env)
        if sim.zmq_url:
            data["nodes"][0]["zmq_sequence"] = sim.zmq_url
            data["nodes"][0]["zmq_hashblock"] = sim.zmq_url
        if config_path is not None:
            # The user's file for everything but ``nodes`` (it may leave them out); problems
            # are reported against its lines.
            user, lines = read_config_data(config_path)
            user["nodes"] = data["nodes"]
            user.setdefault("state_dir", str(state))
            data = user
        config = validate_config(data, lines)
        sim.run_scenario(background=True)
    except BaseException:
        sim.stop()
        raise
    return sim, config

