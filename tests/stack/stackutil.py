"""Shared helpers for the stack tests: repository paths, external tools, the metric contract.

Why one module: every stack test needs the same answer to "is promtool here, and may this test
skip without it?" (locally yes, with a reason; in CI, where .ci/run installs Debian's packages,
a missing binary is a failure), and the same list of metric names the boards may use.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from hashwatch.metrics.catalog import CATALOG

from ..support.tools import IN_CI, require_tool  # noqa: F401 - used by the stack tests

REPO = Path(__file__).resolve().parents[2]



def run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    """Run a command with a timeout, capturing text output (never raises on exit status)."""
    kw.setdefault("timeout", 60)
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def known_metrics() -> set[str]:
    """Every series name a query may use: the metric catalog's names and histogram series."""
    names = {m.exposed for m in CATALOG.values()}
    for m in CATALOG.values():
        if m.type == "histogram":
            names |= {m.family + "_bucket", m.family + "_count", m.family + "_sum"}
    return names


def metric_names_in(expr: str) -> set[str]:
    """``hashwatch_*`` series names a PromQL expression refers to."""
    return set(re.findall(r"\bhashwatch_[a-z0-9_]+\b", expr))


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))
