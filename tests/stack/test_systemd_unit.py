"""The systemd unit for running beside a node without containers: valid for systemd and
hardened (systemd's own exposure score), with the daemon's real command line."""

from __future__ import annotations

import configparser
import shutil

import pytest

from hashwatch.cli import build_parser

from .stackutil import REPO, run

UNIT = REPO / "config" / "systemd" / "hashwatch.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keep key case
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser["Service"]


@pytest.fixture
def analyzable_unit(tmp_path):
    """The unit with ExecStart* pointing at /bin/true: verify checks the binary exists."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    text = UNIT.read_text(encoding="utf-8").replace("/opt/hashwatch/bin/hashwatch", "/bin/true")
    path = tmp_path / "hashwatch.service"
    path.write_text(text, encoding="utf-8")
    return path


def test_systemd_analyze_verify_unit_clean(analyzable_unit):
    result = run(["systemd-analyze", "verify", "--man=no", str(analyzable_unit)])
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # unknown keys only warn


def test_systemd_analyze_security_exposure_at_most_2(analyzable_unit):
    result = run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                  str(analyzable_unit)])
    assert result.returncode == 0, result.stdout[-800:]


def test_systemd_unit_runs_unprivileged_with_state_directory():
    service = _service()
    assert service["User"] == "hashwatch"
    assert service["StateDirectory"] == "hashwatch"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""


def test_systemd_exec_start_accepted_by_cli():
    argv = _service()["ExecStart"].split()
    assert argv[0].endswith("/hashwatch")
    parsed = build_parser().parse_args(argv[1:])
    assert str(parsed.state_dir) == "/var/lib/hashwatch"
    assert not getattr(parsed, "simulate", False)
    pre = _service()["ExecStartPre"].split()
    assert pre[1] == "check-config"
    build_parser().parse_args(pre[1:])
