"""The view model and the HTML from hand-built snapshots: what is shown, what is hidden, escaping.

Sections here are the real section classes; the pool name bypasses the identifier's label
sanitising on purpose, so the renderer's own escaping is what is tested.
"""

from __future__ import annotations

import math
from html.parser import HTMLParser

from hashwatch.indicators.fees import BlockFeeWindow, FeesSection
from hashwatch.indicators.mempool_projection import ProjectedBlock
from hashwatch.indicators.pools import Concentration, PoolsSection
from hashwatch.serve.page import esc, render_page, visible
from hashwatch.serve.page_alerts import ActiveAlert, AlertsView, Notification
from hashwatch.serve.page_data import build_view, history_samples
from hashwatch.snapshot.store import NodeStatus, SnapshotStore

from .pagekit import row_value, table_rows

HOSTILE = "<script>alert(1)</script> <!channel> \x1b[31mred\x1b[0m \u202eevil"
NOW = 1_764_180_567.0


def status(**changes) -> NodeStatus:
    base = dict(
        chain="main", blocks=925_300, headers=925_300, best_block_hash="00" * 32,
        best_block_time=NOW - 120, median_time=NOW - 1800, verification_progress=1.0,
        initial_block_download=False, difficulty=1.5e14, size_on_disk_bytes=7 * 10**11,
        pruned=False, version=300000, subversion="/Satoshi:30.0.0/", protocol_version=70016,
        connections=10, connections_in=2, connections_out=8, uptime_seconds=7200,
        mempool_tx_count=5000, mempool_vsize_bytes=2_500_000, mempool_usage_bytes=9_000_000,
        mempool_max_bytes=300_000_000, mempool_min_fee_sat_per_vb=1.0,
        mempool_total_fee_sat=12_000_000, network_received_bytes=1, network_sent_bytes=1,
    )
    base.update(changes)
    return NodeStatus(**base)


FEES = FeesSection(
    mempool_tx_count=5000, mempool_vsize_bytes=2_500_000, mempool_total_fee_sat=12_000_000,
    blocks_to_clear=3,
    histogram=((1.0, 500_000), (2.0, 1_500_000), (5.0, 2_400_000), (math.inf, 2_500_000)),
    projected=(ProjectedBlock(3000, 997_000, 4_100_000, (3.1, 4.2, 5.5, 8.0, 12.25), 3.0, 90.0),),
    block_windows=(BlockFeeWindow(6, 0.0123, 3_900_000.0, (2.0, 3.0, 4.0, 6.0, 9.0)),),
    spike_ratio=1.8, spike_baseline_sat_per_vb=3.05,
)


def snapshot(up: bool = True, **status_changes):
    store = SnapshotStore(["n1"], clock=lambda: NOW)
    store.update_node("n1", up=up, status=status(**status_changes), last_error_kind="timeout",
                      last_error="read timed out")
    store.set_section("n1", "fees", FEES)
    store.set_section("n1", "pools", PoolsSection(925_300, (Concentration(
        144, 144, {HOSTILE: 0.5, "AntPool": 0.3}, 0.2, 0.5, 0.38, 2),)))
    return store.current()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.handlers += [k for k, _ in attrs if k.startswith("on")]


def test_hostile_pool_and_node_strings_are_shown_escaped_and_inert():
    snap = snapshot(subversion=HOSTILE, warnings=HOSTILE)
    page = render_page(build_view(snap, None, NOW))
    parser = Tags()
    parser.feed(page)
    assert "script" not in parser.tags and not parser.handlers
    assert "\x1b" not in page and "\u202e" not in page
    shown = "<script>alert(1)</script> <!channel> \\x1b[31mred\\x1b[0m \\u202eevil"
    assert row_value(page, "warnings") == shown
    assert row_value(page, "version").startswith(shown)
    assert f'<span class="bar-label">{esc(HOSTILE)}</span>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;" in page


def test_visible_bounds_length_and_shows_control_characters():
    assert visible("a\x00b\x7fc\u200bd") == "a\\x00b\\x7fc\\u200bd"
    assert len(visible("x" * 10_000)) == 501


def test_fee_card_shows_bands_histogram_share_and_spike():
    page = render_page(build_view(snapshot(), None, NOW))
    assert table_rows(page, "fee-bands") == [
        ["+1", "3.1", "4.2", "5.5", "8.0", "12.2", "0.04100000 BTC"]]
    assert row_value(page, "spike") == "1.80x the baseline 3.0 sat/vB"
    assert row_value(page, "fee-share-6") == "1.23% of reward (0.03900000 BTC per block)"
    # histogram: per-band vsize from the cumulative one, one bar per band
    view = build_view(snapshot(), None, NOW)
    hist = next(c for c in view.nodes[0].cards[3].charts if c.key == "histogram")
    assert [v for _, v in hist.points] == [500_000, 1_000_000, 900_000, 100_000]
    assert hist.categories == ("1", "2", "5", "more")
    assert page.count('class="bar"') == 4


def test_a_down_node_shows_the_error_and_no_indicator_values():
    page = render_page(build_view(snapshot(up=False), None, NOW))
    assert row_value(page, "state") == "DOWN"
    assert row_value(page, "error") == "read timed out"
    assert 'data-card="fees"' not in page and 'data-card="pools"' not in page
    assert list(history_samples(snapshot(up=False))) == []


def test_missing_sections_say_why_instead_of_zeros():
    page = render_page(build_view(snapshot(), None, NOW))
    assert "not computed yet (headers backfill)" in page
    assert "not computed yet (needs recent blocks)" in page  # economics


def test_alerts_card_lists_active_and_recent_escaped():
    alerts = AlertsView(
        (ActiveAlert("firing", "critical", "difficulty_drop", "n1", f"pool={HOSTILE}", "-6.9",
                     "2025-11-28 06:49:27 UTC"),),
        (Notification("2025-11-28 06:49:27 UTC", "ops", "delivered", "firing", "fee_spike",
                      "n1", HOSTILE),),
    )
    page = render_page(build_view(snapshot(), None, NOW, alerts))
    assert '<tr class="sev-critical firing"><td>firing</td><td>critical</td>' in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_page_refreshes_itself_and_fits_a_phone():
    page = render_page(build_view(snapshot(), None, NOW, refresh_seconds=7))
    assert '<meta http-equiv="refresh" content="7">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
