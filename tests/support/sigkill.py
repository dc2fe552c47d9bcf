"""The SIGKILL harness: run a child Python process from the repository root, kill it hard.

Why a real process and SIGKILL: a crash gives no chance to flush or clean up, which is what
the exactly-once guarantees of the alert outbox must survive; no in-process trick does that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from .shared import repo_root


def spawn(module: str, *args: str) -> subprocess.Popen[str]:
    """``python -m module args...`` started from the repository root, output captured."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=repo_root(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_until_killed(module: str, *args: str, timeout: float = 60) -> int:
    """Run a child that kills itself; returns its return code (``-SIGKILL`` when it did)."""
    proc = subprocess.run([sys.executable, "-m", module, *args], cwd=repo_root(),
                          capture_output=True, timeout=timeout)
    return proc.returncode


def sigkill(child: subprocess.Popen[str], timeout: float = 10) -> str:
    """SIGKILL ``child``, reap it, and return its stderr; asserts it died of the signal."""
    try:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout)
    finally:
        if child.poll() is None:
            child.kill()
    _, err = child.communicate()
    assert child.returncode == -signal.SIGKILL, (child.returncode, err)
    return err
