"""Difficulty as Core prints it, readable status text, and testnet minimum-difficulty blocks.

- Core prints difficulty with 16 significant digits: hashwatch's value (computed from ``bits``
  the way Core's GetDifficulty does) equals the recorded ``getdifficulty`` to 1 ULP and prints
  the same 16 digits;
- ``status`` never prints regtest's 4.66e-10 as "0 (0.00 T)" nor a future tip as "-42 s ago";
- testnet4 blocks mined under the 20-minute rule (pow-limit bits) take their epoch's real bits,
  as Core's GetNextWorkRequired walks back past them, so they distort neither the current
  difficulty nor the hashrate.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

from hashwatch.indicators.difficulty_view import build_view
from hashwatch.indicators.retarget import (
    CHAIN_PARAMS,
    difficulty_from_bits,
    real_difficulty_headers,
)
from hashwatch.status.difficulty import format_age, format_difficulty

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"
MIN_BITS = 0x1D00FFFF  # testnet4's pow limit


def _core(name: str):
    fx = json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)
    return fx["response"]["result"]


def test_difficulty_from_bits_equals_getdifficulty_to_one_ulp_and_16_digits():
    header = _core("getblockheader_verbose")
    core = float(_core("getdifficulty"))
    ours = difficulty_from_bits(int(header["bits"], 16))
    assert abs(ours - core) <= math.ulp(core)
    assert format(ours, ".16g") == format(core, ".16g") == "4.656542373906925e-10"
    assert float(header["difficulty"]) == core


def test_status_formats_tiny_difficulty_and_future_tip():
    assert format_difficulty(4.656542373906925e-10) == "4.65654e-10"
    assert format_difficulty(149.3e12) == "149.30 T"
    assert format_age(42) == "42 s ago"
    assert "in the future" in format_age(-42) and "-" not in format_age(-42)


def _epoch_headers(n: int, real_bits: int, min_every: int = 0) -> list[tuple[int, int, int]]:
    """An epoch from height 2016*100 with 600 s blocks; every ``min_every``-th is min-diff."""
    start, t0 = 2016 * 100, 1_750_000_000
    out = []
    for i in range(n):
        bits = MIN_BITS if min_every and i and i % min_every == 0 else real_bits
        out.append((start + i, t0 + 600 * i, bits))
    return out


def test_min_difficulty_blocks_take_the_epochs_real_bits():
    real = 0x1A0FFFFF
    headers = _epoch_headers(300, real, min_every=7)
    fixed = real_difficulty_headers(headers, CHAIN_PARAMS["testnet4"])
    assert {b for _, _, b in fixed} == {real}
    assert real_difficulty_headers(headers, CHAIN_PARAMS["main"]) == headers  # no such rule


def test_testnet4_min_difficulty_tip_keeps_difficulty_and_hashrate():
    real = 0x1A0FFFFF
    clean = _epoch_headers(300, real)
    noisy = [*_epoch_headers(300, real, min_every=5)[:-1], (*clean[-1][:2], MIN_BITS)]
    now = clean[-1][1] + 60
    a = build_view(clean, now, chain="testnet4", windows=(144,), drawdown_window=100,
                   peak_lookback=100)  # fmt: skip
    b = build_view(noisy, now, chain="testnet4", windows=(144,), drawdown_window=100,
                   peak_lookback=100)  # fmt: skip
    assert a is not None and b is not None
    assert b.difficulty == a.difficulty == difficulty_from_bits(real)
    assert b.windows[0].hashrate_hps == a.windows[0].hashrate_hps
    assert (b.drawdown is None) == (a.drawdown is None)


def test_default_difficulty_drop_rule_fires_on_the_seeds_retarget():
    """925,344 changed difficulty by -1.95%: the default warning must fire on it."""
    from hashwatch.alerts.engine import Engine
    from hashwatch.alerts.rules import default_rules_path, load_rules
    from hashwatch.alerts.windows import History

    from .helpers import mainnet_headers

    headers = [h for h in mainnet_headers() if h[0] <= 925_500]
    view = build_view(headers, headers[-1][1] + 60, chain="main", peak_lookback=1000)
    assert view is not None and round(view.last_retarget_change_percent or 0, 2) == -1.95
    rules = [r for r in load_rules([default_rules_path()]) if r.name.startswith("difficulty_drop")]
    eng = Engine(rules, History(60.0, Engine.retention(rules)))
    from hashwatch.snapshot.store import IndicatorValue

    values = [IndicatorValue("node_up", 1.0), *view.values()]  # a healthy node
    plan = eng.plan({"n1": values}, headers[-1][1] + 60)
    fired = {t.state.rule for t in plan.transitions if t.kind == "firing"}
    assert fired == {"difficulty_drop"}  # the warning, not the -5% critical one
