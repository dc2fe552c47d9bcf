"""State directory trouble (issue 14, item 8): refuse at start-up in one line, rebuild caches.

- a file where the directory should be, a read-only directory, a corrupt alert store: one line
  naming the path and exit 2 from ``hashwatch run``, before anything is served;
- caches (headers, blocks, fee samples) that are not databases are rebuilt with a log line
  naming the file; a failed write leaves no transaction open;
- after the alert state is lost, a new firing never reuses an earlier instance's number.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hashwatch.alerts.engine import Engine
from hashwatch.alerts.rules import Rule
from hashwatch.alerts.windows import History
from hashwatch.snapshot.blocks import BlockRecord
from hashwatch.snapshot.store import IndicatorValue
from hashwatch.state.blocks import BlockStore
from hashwatch.state.check import StateDirError, check_state_dir
from hashwatch.state.fees import FeeSampleStore
from hashwatch.state.headers import HeadersStore, StoredHeader

from ..support.ports import free_port

REPO = Path(__file__).resolve().parents[2]


def _run_daemon(tmp_path: Path, state_dir: Path) -> tuple[subprocess.CompletedProcess, int]:
    port = free_port()
    cfg = tmp_path / "hashwatch.yml"
    cfg.write_text(
        "nodes:\n  - name: n1\n    url: http://127.0.0.1:1/\n    user: u\n    password: p\n"
        f"state_dir: {state_dir}\nmetrics:\n  listen: 127.0.0.1\n  port: {port}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "daemon")}
    proc = subprocess.run(
        [sys.executable, "-m", "hashwatch", "run", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    return proc, port


def _port_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_run_with_a_file_as_state_dir_exits_2_with_one_line(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")
    proc, port = _run_daemon(tmp_path, blocker)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(blocker) in lines[0] and "not a directory" in lines[0]
    assert "Traceback" not in proc.stderr and _port_closed(port)


def test_run_with_a_corrupt_alert_store_exits_2_naming_it(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "alerts.sqlite3").write_bytes(b"this is not sqlite" * 100)
    proc, port = _run_daemon(tmp_path, state)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "alerts.sqlite3" in lines[0] and "move it aside" in lines[0]
    assert _port_closed(port)


def _read_only_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        return d
    if os.path.isdir("/sys/kernel"):  # root ignores modes; sysfs refuses new files even to root
        return Path("/sys/kernel")
    pytest.skip("no read-only directory available to root here")


def test_read_only_state_dir_is_refused_by_writing(tmp_path):
    d = _read_only_dir(tmp_path)
    with pytest.raises(StateDirError, match="not writable"):
        check_state_dir(d)


def test_uncreatable_state_dir_names_the_path(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StateDirError, match="cannot be created|not a directory"):
        check_state_dir(tmp_path / "f" / "sub")


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage, not a database\xff" * 64)


def test_corrupt_caches_are_rebuilt_with_a_line_naming_the_file(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="hashwatch.state")
    for name in ("headers-n1.sqlite3", "blocks-n1.sqlite3", "fees-n1.sqlite3"):
        _garbage(tmp_path / name)
    headers = HeadersStore(tmp_path / "headers-n1.sqlite3")
    blocks = BlockStore(tmp_path / "blocks-n1.sqlite3")
    fees = FeeSampleStore(tmp_path / "fees-n1.sqlite3")
    try:
        assert headers.add([StoredHeader(1, "ab" * 32, None, 1_700_000_000, 0x1D00FFFF)]) == 1
        assert headers.count() == 1
        assert blocks.hashes() == {}
        assert fees.add(1_000.0, 5.0) and fees.samples(0.0) == [(1_000.0, 5.0)]
    finally:
        headers.close()
        blocks.close()
        fees.close()
    rebuilt = [r.getMessage() for r in caplog.records if "state_cache_rebuilt" in r.getMessage()]
    for name in ("headers-n1.sqlite3", "blocks-n1.sqlite3", "fees-n1.sqlite3"):
        assert any(name in line for line in rebuilt), name


def _record(height: int, text: object = "tag") -> BlockRecord:
    return BlockRecord(height, f"{height:064x}", 1_700_000_000, 1, 312_500_000, 2, 4000,
                       (1.0, 1.0, 2.0, 3.0, 4.0), 2.0, text, ())  # type: ignore[arg-type]


def test_failed_block_write_leaves_no_transaction_open(tmp_path):
    store = BlockStore(tmp_path / "blocks.sqlite3")
    try:
        with pytest.raises(Exception):  # noqa: B017 - sqlite cannot bind a dict
            store.put([_record(10), _record(11, text={"not": "bindable"})])
        assert store.hashes() == {}  # all or nothing
        store.put([_record(12)])  # the next write works: the failed one was rolled back
        assert list(store.hashes()) == [12]
    finally:
        store.close()


def test_fee_sample_store_refuses_impossible_samples(tmp_path):
    store = FeeSampleStore(tmp_path / "fees.sqlite3")
    try:
        for bad in (float("nan"), float("inf"), -1.0):
            with pytest.raises(ValueError):
                store.add(1_000.0, bad)
        assert store.samples(0.0) == []
    finally:
        store.close()


def _fire(eng: Engine, now: float, value: float) -> list:
    values = {"n1": [IndicatorValue("x", value)]}
    plan = eng.plan(values, now)
    return [t for t in plan.transitions if t.kind == "firing"]


def test_new_alert_instances_after_state_loss_never_reuse_a_key():
    rule = Rule.model_validate({"name": "r", "indicator": "x", "op": ">=", "threshold": 10.0})
    first = Engine([rule], History(60.0, Engine.retention([rule])))
    (t1,) = _fire(first, 1_000.0, 20.0)
    lost = Engine([rule], History(60.0, Engine.retention([rule])))  # the store is gone
    (t2,) = _fire(lost, 1_060.0, 20.0)
    assert t1.state.fingerprint == t2.state.fingerprint
    assert t2.state.instance != t1.state.instance
    assert t2.state.instance > t1.state.instance  # later lives number higher


def test_cache_directory_deleted_while_running_is_recreated(tmp_path, caplog):
    import shutil

    caplog.set_level(logging.WARNING, logger="hashwatch.state")
    state = tmp_path / "state"
    store = HeadersStore(state / "headers-n1.sqlite3")
    try:
        store.add([StoredHeader(1, "ab" * 32, None, 1_700_000_000, 0x1D00FFFF)])
        shutil.rmtree(state)  # an operator's mistake while the daemon runs
        assert store.add([StoredHeader(2, "cd" * 32, "ab" * 32, 1_700_000_600, 0x1D00FFFF)])
        assert (state / "headers-n1.sqlite3").exists()  # written where a restart will find it
        assert store.count() == 1  # rebuilt: the lost header is fetched again by the job
    finally:
        store.close()
    assert any("headers-n1.sqlite3" in r.getMessage() and "state_cache_rebuilt" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_alert_store_deleted_while_running_is_written_back_with_its_outbox(tmp_path, caplog):
    import shutil

    from hashwatch.alerts.store import AlertStore, NewMessage

    caplog.set_level(logging.WARNING, logger="hashwatch.alerts.store")
    state = tmp_path / "state"
    store = AlertStore(state / "alerts.sqlite3")
    try:
        first = NewMessage("fp/7/firing/log", "log", "fp", 7, "firing", {"k": 1}, None)
        store.commit_evaluation([], [first], [], {}, 0.0)
        shutil.rmtree(state)
        second = NewMessage("fp/8/firing/log", "log", "fp", 8, "firing", {"k": 2}, None)
        store.commit_evaluation([], [second], [], {}, 1.0)
        assert store.outbox_depth()  # still answering
    finally:
        store.close()
    again = AlertStore(state / "alerts.sqlite3")  # what a restart would read
    try:
        assert again.status_of("fp/7/firing/log") == "pending"  # nothing promised was lost
        assert again.status_of("fp/8/firing/log") == "pending"
    finally:
        again.close()
    assert any("alert_store_restored" in r.getMessage() for r in caplog.records)
