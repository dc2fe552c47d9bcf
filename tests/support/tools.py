"""Debian tools the stack and fleet tests run for real (promtool, prometheus, alertmanager).

Why skip locally but fail in CI: a developer without the packages still runs the rest of the
suite, while in CI (``CI=true``) `.ci/run` installs them, so a missing one is a broken setup.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(*names: str) -> str:
    """Path of the first of ``names`` on PATH (Debian calls Alertmanager
    ``prometheus-alertmanager``); skip locally with the reason, fail in CI."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    msg = f"{names[0]} not found: install Debian's prometheus / prometheus-alertmanager packages"
    if IN_CI:
        pytest.fail(msg + " (CI=true: .ci/run installs them, so this is a broken setup)")
    pytest.skip(msg)
