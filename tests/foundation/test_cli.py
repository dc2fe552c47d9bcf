"""The ``hashwatch`` command as a user runs it: subprocesses, real ports, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from hashwatch import __version__

from ..support.ports import free_port
from ..support.scrape import scrape_text
from ..support.waiting import wait_for


def hashwatch(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hashwatch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def test_version_prints_version():
    result = hashwatch("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"hashwatch {__version__}"


def test_no_command_is_usage_error_exit_2():
    result = hashwatch()
    assert result.returncode == 2


def test_check_config_bad_file_exit_2_one_line_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("nodes:\n  - name: a\n    url: nope\n    cookie_file: /x\n")
    result = hashwatch("check-config", "--config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"hashwatch: config error: {path}:3: nodes[0].url: expected a URL like "
        "http://127.0.0.1:8332/"
    )


def test_check_config_good_file_exit_0(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("nodes:\n  - name: a\n    cookie_file: /x/.cookie\n")
    result = hashwatch("check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_run_without_config_explains_simulate_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HASHWATCH_CONFIG"}
    result = hashwatch("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "--simulate" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_simulate_serves_metrics_and_stops_on_sigterm(tmp_path):
    port = free_port()
    log_path = tmp_path / "daemon.log"
    log_file = log_path.open("w")  # a file, not a pipe: a full pipe would block the daemon
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hashwatch",
            "run",
            "--simulate",
            "--metrics-port",
            str(port),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def has_base_metrics():
            try:
                text = scrape_text(port, timeout=2)
            except OSError:
                return False
            return 'hashwatch_node_up{node="sim"} 1.0' in text and text

        text = wait_for(has_base_metrics, timeout=60, what="metrics from run --simulate")
        for name in (
            "hashwatch_node_blocks",
            "hashwatch_node_difficulty",
            "hashwatch_mempool_transactions",
            "hashwatch_node_peers",
        ):
            assert f"# HELP {name} " in text
        proc.send_signal(signal.SIGTERM)
        # SIGTERM stops cleanly within 5 s.
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log_file.close()
    stderr = log_path.read_text()
    assert "event=stopped" in stderr
    assert "Traceback" not in stderr


def test_status_simulate_prints_table(tmp_path):
    result = hashwatch("status", "--simulate", "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    assert "node sim" in result.stdout
    assert "chain" in result.stdout and "main" in result.stdout
    assert "difficulty" in result.stdout


def test_backfill_fills_headers_and_the_whole_blocks_window(tmp_path):
    import sqlite3

    import yaml

    config = tmp_path / "hashwatch.yaml"
    config.write_text(yaml.safe_dump({
        "fees": {"block_window": 300},  # more than one 144-block slice of the daemon's job
    }))
    state = tmp_path / "state"
    result = hashwatch("backfill", "--simulate", "--config", str(config), "--state-dir",
                       str(state))
    assert result.returncode == 0, result.stderr
    assert "sim: blocks 300/300 done" in result.stderr
    with sqlite3.connect(state / "blocks-sim.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0] == 300
    with sqlite3.connect(state / "headers-sim.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM headers").fetchone()[0] >= 4032


def test_simulate_with_user_config_error_names_the_users_file_and_line(tmp_path):
    config = tmp_path / "hashwatch.yaml"
    config.write_text("polling:\n  chain_seconds: -1\n")  # no nodes: --simulate supplies them
    result = hashwatch("status", "--simulate", "--config", str(config), "--state-dir",
                       str(tmp_path / "state"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"hashwatch: config error: {config}:2: polling.chain_seconds: Input should be greater "
        "than 0"
    )
