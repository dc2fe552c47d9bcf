"""The ``difficulty`` section: documented names, absence rules, metrics, status rows, config."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from hashwatch.config.difficulty import DifficultyConfig
from hashwatch.indicators.difficulty_view import DifficultyView, build_view
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics import difficulty as difficulty_metrics
from hashwatch.metrics.catalog import CATALOG
from hashwatch.snapshot.store import SnapshotStore
from hashwatch.status import difficulty as difficulty_status

from .helpers import mainnet_headers, synthetic_chain

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _documented_names() -> set[str]:
    return {m.name for m in CATALOG.values() if m.group == "difficulty" and m.rule}


def _seed_view(tip: int = 925_500) -> DifficultyView:
    headers = [h for h in mainnet_headers() if h[0] <= tip]
    view = build_view(headers, headers[-1][1] + 60, chain="main", peak_lookback=1000)
    assert view is not None
    return view


def test_build_view_full_history_yields_exactly_documented_names() -> None:
    view = _seed_view()
    names = {v.name for v in view.values()}
    assert names == _documented_names()
    windows = {dict(v.labels)["window"] for v in view.values() if v.labels}
    assert windows == {"144", "1008", "2016"}


def test_build_view_seed_epoch_shows_retarget_at_925344() -> None:
    view = _seed_view()
    assert view.last_retarget_height == 925_344
    assert round(view.last_retarget_change_percent or 0, 2) == -1.95
    assert round(view.difficulty / 1e12, 2) == 149.30
    assert view.epoch_blocks == 156 and view.blocks_until_retarget == 1860
    assert view.projection is not None and view.projection.blended


def test_build_view_regtest_has_no_projection_and_says_why() -> None:
    headers = synthetic_chain(0, 300, bits=0x207FFFFF, retarget=False)
    view = build_view(headers, headers[-1][1] + 10, chain="regtest", windows=(144,),
                      drawdown_window=10, peak_lookback=100)
    assert view is not None
    names = {v.name for v in view.values()}
    assert not any(n.startswith("difficulty_") and n != "difficulty_current" for n in names)
    assert "hashrate_hashes_per_second" in names
    assert view.projection is None and "regtest" in view.projection_note
    rows = dict(difficulty_status.rows(_node_with(view), SnapshotStore().current()))
    assert "no difficulty retargets" in rows["next retarget"]


def test_build_view_history_short_of_epoch_start_leaves_projection_absent() -> None:
    headers = synthetic_chain(2016 * 5 + 100, 200)
    view = build_view(headers, headers[-1][1], chain="main", windows=(144,))
    assert view is not None and view.projection is None
    assert "backfill" in view.projection_note
    assert view.last_retarget_change_percent is None
    assert view.drawdown is None  # 200 blocks do not fill the 1008-block drawdown window


def test_build_view_gap_in_heights_raises() -> None:
    headers = synthetic_chain(0, 10)
    with pytest.raises(ValueError):
        build_view(headers[:4] + headers[5:], 0.0, chain="main")


def test_build_view_empty_is_none() -> None:
    assert build_view([], 0.0, chain="main") is None


def _node_with(view: DifficultyView, up: bool = True):
    store = SnapshotStore(["n1"])
    store.update_node("n1", up=up)
    store.set_section("n1", "difficulty", view)
    return store.current().nodes["n1"]


def _registry(view: DifficultyView, up: bool = True) -> CollectorRegistry:
    store = SnapshotStore(["n1"])
    store.update_node("n1", up=up)
    store.set_section("n1", "difficulty", view)
    registry = CollectorRegistry()
    registry.register(
        SnapshotCollector(store.current, [("difficulty", difficulty_metrics.render)])
    )
    return registry


def test_render_seed_view_exports_values_with_node_and_window_labels() -> None:
    view = _seed_view()
    reg = _registry(view)
    assert reg.get_sample_value("hashwatch_difficulty_current", {"node": "n1"}) == view.difficulty
    assert reg.get_sample_value(
        "hashwatch_difficulty_last_retarget_change_percent", {"node": "n1"}
    ) == view.last_retarget_change_percent
    rate = reg.get_sample_value(
        "hashwatch_hashrate_hashes_per_second", {"node": "n1", "window": "144"}
    )
    assert rate == view.windows[0].hashrate_hps
    assert reg.get_sample_value("hashwatch_renderer_success", {"renderer": "difficulty"}) == 1.0


def test_render_node_down_exports_no_values() -> None:
    reg = _registry(_seed_view(), up=False)
    assert reg.get_sample_value("hashwatch_difficulty_current", {"node": "n1"}) is None


def test_render_regtest_view_has_no_projection_series() -> None:
    headers = synthetic_chain(0, 300, bits=0x207FFFFF, retarget=False)
    view = build_view(headers, headers[-1][1], chain="regtest", windows=(144,),
                      drawdown_window=10, peak_lookback=100)
    assert view is not None
    reg = _registry(view)
    projected = "hashwatch_difficulty_projected_change_percent"
    assert reg.get_sample_value(projected, {"node": "n1"}) is None
    assert reg.get_sample_value("hashwatch_difficulty_current", {"node": "n1"}) == view.difficulty


def test_rows_seed_view_reads_like_the_readme() -> None:
    view = _seed_view()
    rows = dict(difficulty_status.rows(_node_with(view), SnapshotStore().current(),
                                       now=view.computed_at))
    assert rows["difficulty"].startswith("149.30 T (bits 1701e2a0")
    assert rows["last retarget"] == "-1.95% at height 925,344"
    assert rows["epoch"].startswith("156 of 2,016 blocks")
    assert rows["hashrate 144 blocks"].endswith("s)") and "EH/s" in rows["hashrate 144 blocks"]


def test_rows_no_section_yet_says_backfill() -> None:
    store = SnapshotStore(["n1"])
    rows = difficulty_status.rows(store.current().nodes["n1"], store.current())
    assert "not computed yet" in rows[0][1]


def test_difficulty_config_defaults_cover_windows() -> None:
    cfg = DifficultyConfig()
    assert cfg.history_blocks >= cfg.drawdown_window_blocks + cfg.peak_lookback_blocks + 1
    assert cfg.hashrate_windows == (144, 1008, 2016)


def test_difficulty_config_history_too_short_names_the_minimum() -> None:
    with pytest.raises(ValidationError, match="history_blocks .* at least 5041"):
        DifficultyConfig(history_blocks=4100)


def test_difficulty_config_unknown_key_rejected() -> None:
    with pytest.raises(ValidationError):
        DifficultyConfig.model_validate({"history_block": 5000})


def test_config_fragment_documents_the_defaults() -> None:
    import yaml

    text = (DOCS / "config-difficulty.yaml").read_text()
    body = text.split("# difficulty:\n", 1)[1]
    data = yaml.safe_load("\n".join(line[4:] for line in body.splitlines()))
    assert DifficultyConfig.model_validate(data) == DifficultyConfig()
    assert set(data) == set(DifficultyConfig.model_fields)
