"""Bodies of ``hashwatch alerts`` and ``hashwatch test-alert --channel NAME`` for the CLI to call.

Why here: the CLI module only parses arguments; what to print and which exit code to return
(2 for configuration problems such as an invalid rule file, 1 for a failed send) belongs to the
feature. Both open the alert database read-mostly and never start the delivery worker, so they
are safe to run next to a running daemon (SQLite WAL).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from ..cli import print_problems
from ..config import Config, ConfigError
from .notify import NotifyError
from .rules import Rule, load_rules
from .service import AlertService
from .store import StoreError


def check_rules(config: Config) -> list[Rule]:
    """Validate the rule files of ``config`` (for ``check-config``); raises ``ConfigError``."""
    a = config.alerts
    return load_rules(
        a.rule_files, use_defaults=a.use_default_rules, channels=[c.name for c in a.channels]
    )


def _open(config: Config, state_dir: Path, err: TextIO) -> AlertService | int:
    try:
        return AlertService(config, state_dir)
    except ConfigError as exc:
        print_problems(exc.problems, kind="config error", stream=err)
        return 2
    except StoreError as exc:
        print_problems([str(exc)], stream=err)
        return 1


def alerts_command(
    config: Config, state_dir: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    svc = _open(config, state_dir, err)
    if isinstance(svc, int):
        return svc
    try:
        out.write(svc.describe())
        return 0
    except StoreError as exc:
        print_problems([str(exc)], stream=err)
        return 1
    finally:
        svc.close()


def test_alert_command(
    config: Config,
    state_dir: Path,
    channel: str,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    svc = _open(config, state_dir, err)
    if isinstance(svc, int):
        return svc
    try:
        print(svc.test_alert(channel), file=out)
        return 0
    except KeyError as exc:
        print_problems([str(exc.args[0])], stream=err)
        return 2
    except NotifyError as exc:
        print_problems([f"test notification failed ({exc.reason}): {exc}"], stream=err)
        return 1
    finally:
        svc.close()
