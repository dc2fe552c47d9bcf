"""``python grafana/dashgen.py [--check]``: write (or compare) grafana/dashboards/*.json."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import chain, fleet, market
from .model import render

OUT_DIR = Path(__file__).resolve().parents[1] / "dashboards"


def all_boards() -> dict[str, dict[str, Any]]:
    """File stem -> dashboard JSON model, in menu order."""
    return {
        "overview": chain.overview(),
        "difficulty": chain.difficulty(),
        "fees": market.fees(),
        "economics": market.economics(),
        "pools": market.pools(),
        "health": chain.health(),
        "fleet": fleet.fleet(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate hashwatch's Grafana dashboards.")
    parser.add_argument("--check", action="store_true", help="only compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, board in all_boards().items():
        path = OUT_DIR / f"{name}.json"
        text = render(board)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not args.check:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        verb = "differ from the builder" if args.check else "written"
        print(f"{', '.join(stale)}: {verb}")
    return 1 if (args.check and stale) else 0
