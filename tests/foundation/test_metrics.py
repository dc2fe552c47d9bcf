"""Rendering the snapshot as Prometheus metrics (no node involved in a scrape)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from hashwatch.collect.chain import parse_status
from hashwatch.metrics import SnapshotCollector
from hashwatch.metrics import base as base_metrics
from hashwatch.snapshot.store import SnapshotStore

from .httpstub import fixture

STATUS_FIXTURES = (
    "getblockchaininfo",
    "getnetworkinfo",
    "getmempoolinfo",
    "uptime",
    "getnettotals",
)


def recorded_status():
    return parse_status([fixture(name)["response"]["result"] for name in STATUS_FIXTURES])


def registry_for(store: SnapshotStore, renderers=None) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(store.current, renderers))
    return registry


def test_parse_status_recorded_core_answers_converts_units():
    status = recorded_status()
    assert status.chain == "regtest"
    assert status.blocks == 101
    assert status.mempool_tx_count == 14
    # mempoolminfee 1e-06 BTC/kvB is 0.1 sat/vB; total_fee 0.0060167 BTC is 601,670 sat
    assert status.mempool_min_fee_sat_per_vb == pytest.approx(0.1)
    assert status.mempool_total_fee_sat == 601_670
    assert status.subversion == "/Satoshi:31.99.0/"
    assert "pre-release" in status.warnings


def test_render_node_up_exports_values_with_node_label():
    store = SnapshotStore(["n1"], clock=lambda: 1_795_626_900.0)
    store.update_node("n1", up=True, status=recorded_status(), status_time=1_795_626_900.0)
    registry = registry_for(store, [("base", base_metrics.render)])
    assert registry.get_sample_value("hashwatch_node_up", {"node": "n1"}) == 1
    assert registry.get_sample_value("hashwatch_node_blocks", {"node": "n1"}) == 101
    assert registry.get_sample_value("hashwatch_mempool_transactions", {"node": "n1"}) == 14
    assert registry.get_sample_value(
        "hashwatch_node_best_block_age_seconds", {"node": "n1"}
    ) == pytest.approx(1_795_626_900 - 1_795_626_849)
    assert (
        registry.get_sample_value(
            "hashwatch_node_info",
            {
                "node": "n1",
                "chain": "regtest",
                "version": "319900",
                "subversion": "/Satoshi:31.99.0/",
            },
        )
        == 1
    )


def test_render_node_down_exports_up_zero_and_no_stale_values():
    store = SnapshotStore(["n1"])
    store.update_node("n1", up=True, status=recorded_status(), status_time=100.0)
    store.update_node("n1", up=False, last_error_kind="unavailable", last_error="refused")
    registry = registry_for(store, [("base", base_metrics.render)])
    assert registry.get_sample_value("hashwatch_node_up", {"node": "n1"}) == 0
    assert registry.get_sample_value("hashwatch_node_blocks", {"node": "n1"}) is None
    assert (
        registry.get_sample_value("hashwatch_node_last_status_time_seconds", {"node": "n1"}) == 100
    )
    assert (
        registry.get_sample_value(
            "hashwatch_node_last_error_info", {"node": "n1", "kind": "unavailable"}
        )
        == 1
    )


def test_render_before_first_poll_exports_no_fake_zero_values():
    store = SnapshotStore(["n1"])
    registry = registry_for(store, [("base", base_metrics.render)])
    assert registry.get_sample_value("hashwatch_node_up", {"node": "n1"}) == 0
    assert registry.get_sample_value("hashwatch_node_difficulty", {"node": "n1"}) is None


def test_collector_failing_renderer_reported_and_others_still_served():
    store = SnapshotStore(["n1"])

    def broken(snapshot):
        raise RuntimeError("boom")

    registry = registry_for(store, [("broken", broken), ("base", base_metrics.render)])
    assert registry.get_sample_value("hashwatch_renderer_success", {"renderer": "broken"}) == 0
    assert registry.get_sample_value("hashwatch_renderer_success", {"renderer": "base"}) == 1
    assert registry.get_sample_value("hashwatch_node_up", {"node": "n1"}) == 0


def test_every_metric_family_has_help_text():
    store = SnapshotStore(["n1"])
    store.update_node("n1", up=True, status=recorded_status(), status_time=1.0)
    registry = registry_for(store)
    for family in registry.collect():
        assert family.documentation.strip(), family.name


def test_metrics_output_passes_promtool_check():
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI (Debian package prometheus)")
        pytest.skip("promtool not installed")
    store = SnapshotStore(["n1", "n2"])
    store.update_node("n1", up=True, status=recorded_status(), status_time=1.0)
    store.update_node("n2", up=False, last_error_kind="timeout", last_error="no answer")
    text = generate_latest(registry_for(store))
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
