"""Scenario files: loading, errors naming file and key, and the runner's effects."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import pytest
from tests.support.waiting import wait_until

from hashwatch.sim import ScenarioError, SimNode, builtin_scenarios, load_scenario
from hashwatch.sim.command import add_parser, run


def test_builtin_scenarios_load() -> None:
    assert {"demo", "seed-2025-11", "hashrate-drop", "regtest"} <= set(builtin_scenarios())
    for name in builtin_scenarios():
        assert load_scenario(name).name == name


@pytest.mark.parametrize("text,key", [
    ("node: {start_height: ten}\n", "node.start_height"),
    ("node: {colour: red}\n", "node.colour"),
    ("events:\n  - {at: 5, explode: 1}\n", "events[0].explode"),
    ("events:\n  - {hashrate: 0.5}\n", "events[0]"),
    ("arrivals: {rate: fast}\n", "arrivals.rate"),
    ("wat: 1\n", "wat"),
])
def test_scenario_errors_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert str(path) in str(err.value) and key in str(err.value)


def test_scenario_yaml_syntax_and_unknown_name() -> None:
    with pytest.raises(ScenarioError, match="no built-in scenario named 'nope'"):
        load_scenario("nope")


def test_seed_scenario_retarget_lands_exactly_on_1701e2a0() -> None:
    scenario = load_scenario("seed-2025-11")
    scenario.arrivals = None  # blocks only: keeps the fast run light
    node = SimNode(scenario=scenario, speed=200_000)
    assert node.chain.height == 925_300 and node.chain.tip.bits == 0x1701D936
    runner = node.run_scenario(background=True)
    try:
        assert wait_until(lambda: node.chain.height >= 925_344, 20)
    finally:
        node.stop()
    assert runner.error is None
    assert node.chain.at(925_343).time == 1764205903
    assert node.chain.at(923_328).time == 1762972230
    assert node.chain.at(925_344).bits == 0x1701E2A0


def test_runner_applies_hashrate_event_and_arrivals(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("node: {network: regtest, start_height: 10, speed: 5000}\n"
                    "arrivals: {rate: 0.05, fee_median: 3}\n"
                    "events:\n  - {at: 600, hashrate: 0.5}\n  - {height: 12, congestion: "
                    "{transactions: 500, fee_median: 4}}\n")
    node = SimNode(scenario=path, start_time=1795626849)
    runner = node.run_scenario(background=True)
    try:
        assert wait_until(lambda: node.hashrate_factor == 0.5 and len(runner.fired) == 2, 20)
        assert wait_until(lambda: node.chain.height >= 13, 20)
    finally:
        node.stop()
    assert runner.error is None


def test_command_prints_url_cookie_and_curl(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["simulate", "--scenario", "regtest", "--port", "0",
                              "--datadir", str(tmp_path), "--no-zmq"])
    stop = threading.Event()
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(run(args, stop)), daemon=True)
    t.start()
    cookie = tmp_path / "regtest" / ".cookie"
    assert wait_until(cookie.exists, 20)
    stop.set()
    t.join(10)
    out = capsys.readouterr().out
    assert result == [0]
    assert "RPC URL:  http://127.0.0.1:" in out and f"cookie:   {cookie}" in out
    assert "curl --user" in out and "getblockchaininfo" in out
    assert not cookie.exists()  # removed on shutdown, like bitcoind
