"""Generate the metric tables of README.md and docs/indicators.md from the catalog.

Why generated: hand-kept tables drifted from the code (names, labels, HELP). A table lives
between two markers; the BEGIN marker names the catalog groups it lists, and ``rules`` adds the
name alert rules use::

    <!-- BEGIN metric-catalog groups=economics,pools -->
    ...generated...
    <!-- END metric-catalog -->

``python -m hashwatch.metrics.catalog --write-docs`` rewrites the regions; ``--check`` exits 1
and names each file whose tables are out of date (the tests run it).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from .catalog import CATALOG, GROUPS, MetricDef

DOCS = ("README.md", "docs/indicators.md")
_REGION = re.compile(
    r"(?P<begin><!-- BEGIN metric-catalog (?P<args>[^>]*?) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- END metric-catalog -->)",
    re.S,
)
_PLACEHOLDER = re.compile(r"<(\w+)>")


def _cell(text: str) -> str:
    """Markdown-safe: ``<block>`` would be read as an HTML tag, ``|`` as a column break."""
    return _PLACEHOLDER.sub(r"`<\1>`", text).replace("|", "\\|")


def _labels(m: MetricDef) -> str:
    return ", ".join(m.labels + m.info) or "—"


def table(groups: Sequence[str], rules: bool = False) -> str:
    known = {key for key, _ in GROUPS}
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise ValueError(f"unknown catalog group(s) {unknown}; known: {sorted(known)}")
    head = "| metric | type | labels | help |" + (" alert rule name |" if rules else "")
    lines = [head, "|---" * (5 if rules else 4) + "|"]
    for m in CATALOG.values():
        if m.group not in groups:
            continue
        row = f"| `{m.exposed}` | {m.type} | {_labels(m)} | {_cell(m.help)} |"
        if rules:
            row += f" {f'`{m.name}`' if m.rule else '—'} |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def render_docs(text: str) -> str:
    """``text`` with every marked region regenerated."""

    def fill(match: re.Match[str]) -> str:
        args = match.group("args").split()
        groups: list[str] = []
        for arg in args:
            if arg.startswith("groups="):
                groups = arg.removeprefix("groups=").split(",")
        body = table(groups, rules="rules" in args)
        return match.group("begin") + body + match.group("end")

    return _REGION.sub(fill, text)


def default_root() -> Path:
    return Path(__file__).resolve().parents[3]


def check(root: Path) -> list[str]:
    """The docs whose generated tables differ from the catalog (empty when all agree)."""
    stale = []
    for rel in DOCS:
        text = (root / rel).read_text(encoding="utf-8")
        if render_docs(text) != text:
            stale.append(rel)
    return stale


def write(root: Path) -> list[str]:
    changed = []
    for rel in DOCS:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        new = render_docs(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(rel)
    return changed


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m hashwatch.metrics.catalog")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write-docs", action="store_true", help="regenerate the doc tables")
    mode.add_argument("--check", action="store_true", help="exit 1 if a doc table is stale")
    parser.add_argument("--root", type=Path, default=default_root(), help="repository root")
    args = parser.parse_args(argv)
    missing = [rel for rel in DOCS if not (args.root / rel).is_file()]
    if missing:
        print(f"catalog: {args.root}: missing {', '.join(missing)}; pass --root", file=sys.stderr)
        return 2
    if args.check:
        stale = check(args.root)
        for rel in stale:
            print(
                f"catalog: {rel}: metric tables differ from the catalog; run "
                "python -m hashwatch.metrics.catalog --write-docs",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for rel in write(args.root):
        print(f"catalog: rewrote {rel}")
    return 0
