"""Child process for the SIGKILL tests: evaluate a firing, then die by SIGKILL.

Usage: python -m tests.support.crash_child webhook <state_dir> <url> <fault_point>
  ``after_commit``: killed right after the state change and its outbox rows were committed,
  before any delivery. ``after_send``: killed after the receiver accepted, before ``delivered``
  was recorded (the one documented duplicate window). The child kills itself.
Usage: python -m tests.support.crash_child slack <state_dir> <url>
  Fires the probe rule to a Slack URL with a long timeout and waits: the parent kills it while
  the firing is on the wire.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from .alertkit import (
    FakeClock,
    alerts_config,
    iv,
    make_service,
    probe_snapshot,
    snapshot,
    webhook_service,
)


def webhook(state_dir: Path, url: str, point: str) -> None:
    def fault(at: str) -> None:
        if at == point:
            os.kill(os.getpid(), signal.SIGKILL)

    svc = webhook_service(state_dir, url, fault)
    if point == "after_send":
        svc.start()
    svc.evaluate(snapshot(FakeClock(), values=[iv("x", 12)]))


def slack(state_dir: Path, url: str) -> None:
    cfg = alerts_config(state_dir, [{"name": "ops", "type": "slack", "webhook_url": url,
                                     "timeout_seconds": 30}])
    svc = make_service(cfg)
    svc.start()
    svc.evaluate(probe_snapshot(5.0))


def main() -> None:
    mode, state_dir, url = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if mode == "webhook":
        webhook(state_dir, url, sys.argv[4])
    else:
        slack(state_dir, url)
    threading.Event().wait(60)  # only SIGKILL ends this process
    sys.exit(3)


if __name__ == "__main__":
    main()
