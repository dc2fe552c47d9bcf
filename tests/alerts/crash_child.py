"""Child process for the SIGKILL tests: evaluate a firing, die at a fault point.

Usage: python -m tests.alerts.crash_child <state_dir> <webhook_url> <fault_point>
``after_commit``: killed right after the state change and its outbox rows were committed,
before any delivery. ``after_send``: killed after the receiver accepted, before ``delivered``
was recorded (the one documented duplicate window).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from hashwatch.alerts.service import AlertService

from .helpers import FakeClock, config, iv, snapshot

RULES = (
    "rules:\n  - {name: hot, indicator: x, op: '>=', threshold: 10, summary: 'x is {value:g}'}\n"
)


def build(state_dir: Path, url: str, fault=None) -> AlertService:
    (state_dir / "rules.yml").write_text(RULES)
    cfg = config(
        state_dir,
        use_default_rules=False,
        rule_files=[str(state_dir / "rules.yml")],
        channels=[{"name": "hook", "type": "webhook", "url": url}],
    )
    return AlertService(cfg, state_dir, fault=fault)


def main() -> None:
    state_dir, url, point = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

    def fault(at: str) -> None:
        if at == point:
            os.kill(os.getpid(), signal.SIGKILL)

    svc = build(state_dir, url, fault)
    if point == "after_send":
        svc.start()
    svc.evaluate(snapshot(FakeClock(), values=[iv("x", 12)]))
    threading.Event().wait(60)  # only the fault ends this process
    sys.exit(3)


if __name__ == "__main__":
    main()
