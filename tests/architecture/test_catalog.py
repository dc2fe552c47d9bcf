"""The metric catalog is the single source of metric names: renderers, docs and golden file agree.

Why: a metric used to be named in an indicator's ``values()``, a HELP table and two docs, and
tests read names back from prose. Now a rendered family missing from the catalog, a catalog
entry nothing renders, a stale doc table or a changed /metrics text each fail here.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from hashwatch.alerts.rules import load_rules
from hashwatch.metrics import catalog, catalog_docs

from . import golden

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    return golden.render_raw(tmp_path_factory.mktemp("golden"))


def _families(text: str) -> dict[str, Metric]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def _parsed_name(m: catalog.MetricDef) -> str:
    """The family name the text parser reports: info metrics come back as ``*_info`` gauges."""
    return m.exposed if m.type == catalog.INFO else m.family


def test_every_rendered_metric_is_in_the_catalog_with_its_help_type_and_labels(exposition):
    by_family = {_parsed_name(m): m for m in catalog.CATALOG.values()}
    for name, fam in _families(exposition).items():
        assert name in by_family, f"{name} is rendered but not in metrics/catalog.py"
        m = by_family[name]
        kind = "gauge" if m.type == catalog.INFO else m.type
        assert (fam.type, fam.documentation) == (kind, m.help), name
        allowed = set(m.labels) | set(m.info) | ({"le"} if m.type == "histogram" else set())
        for sample in fam.samples:
            assert set(sample.labels) <= allowed, (sample.name, sample.labels)


def test_every_catalog_entry_is_rendered_on_the_demo_scenario(exposition):
    rendered = set(_families(exposition))
    never = sorted(m.name for m in catalog.CATALOG.values() if _parsed_name(m) not in rendered)
    assert not never, f"in the catalog but never rendered: {never}"


def test_catalog_names_carry_their_unit_and_help():
    for m in catalog.CATALOG.values():
        assert m.help.strip() and m.help.endswith((".", ")")), m.name
        suffix = {catalog.COUNTER: "_total", catalog.INFO: "_info"}.get(m.type)
        assert suffix is None or not m.name.endswith(suffix), f"{m.name}: the exposition adds it"
        if m.unit:
            assert m.name.endswith("_" + m.unit), m.name
        if m.name.endswith(("_seconds", "_bytes", "_ratio", "_percent")):
            assert m.unit, f"{m.name}: set its unit"


def test_indicator_values_of_the_scenario_are_catalog_rule_names(tmp_path):
    """Every name an alert rule can read (``values()``) is marked ``rule`` in the catalog."""
    from hashwatch.daemon import Daemon
    from hashwatch.sim import SimNode

    sim = SimNode(network="regtest", start_height=150, seed=1, mempool_size=200).start()
    config = golden._config(sim, tmp_path / "state")
    daemon = Daemon(config, clock=sim.clock.now, serve_metrics=False, alerts=False)
    try:
        for spec in daemon.jobs:
            daemon.run_job_now(spec.name, spec.node)
        snap = daemon.store.current()
        names = {v.name for node in snap.nodes.values() for v in node.values()}
    finally:
        daemon.stop()
        sim.stop()
    assert len(names) > 20
    for name in names:
        assert catalog.CATALOG[name].rule, name


def test_default_alert_rules_read_catalog_rule_names():
    for rule in load_rules([], use_defaults=True):
        assert rule.indicator in catalog.CATALOG, rule.name
        assert catalog.CATALOG[rule.indicator].rule, (rule.name, rule.indicator)


def test_doc_tables_are_generated_from_the_catalog():
    stale = catalog_docs.check(REPO)
    assert not stale, f"{stale}: run python -m hashwatch.metrics.catalog --write-docs"


def test_check_mode_fails_on_a_hand_edited_table(tmp_path):
    for rel in catalog_docs.DOCS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, tmp_path / rel)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("`hashwatch_pools_hhi`", "`hashwatch_pools_h`"))
    cmd = [sys.executable, "-m", "hashwatch.metrics.catalog", "--check", "--root", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "README.md" in done.stderr
    write = [sys.executable, "-m", "hashwatch.metrics.catalog", "--write-docs", "--root",
             str(tmp_path)]
    assert subprocess.run(write, capture_output=True, timeout=60).returncode == 0
    assert subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    assert "`hashwatch_pools_hhi`" in readme.read_text()


def test_golden_exposition(exposition):
    """Like node_exporter's e2e fixture: the /metrics text of a fixed scenario, diffed."""
    got = golden.mask(exposition)
    if os.environ.get("HASHWATCH_UPDATE_GOLDEN"):
        golden.GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        golden.GOLDEN.write_text(got, encoding="utf-8")
    want = golden.GOLDEN.read_text(encoding="utf-8")
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "golden", "rendered", n=1))
        pytest.fail("exposition differs from tests/fixtures/golden/metrics.prom "
                    "(HASHWATCH_UPDATE_GOLDEN=1 to accept):\n" + diff[:6000])


# promtool lint findings accepted on purpose, with the reason (anything else fails).
ACCEPTED_LINT = {
    # A point-in-time distribution (vsize waiting at or below each fee band), not observations:
    # gauges with an ``le`` label, no _sum/_count; see metrics/fees.py. Renaming would break
    # every dashboard and rule that reads it.
    "hashwatch_mempool_histogram_vsize_bytes",
}


def test_golden_exposition_passes_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found (Debian package prometheus)")
    with golden.GOLDEN.open("rb") as f:
        done = subprocess.run([promtool, "check", "metrics"], stdin=f, capture_output=True,
                              text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode in (0, 3), problems  # 3 = lint findings; anything else = unparsable
    unexpected = [p for p in problems if p.split(" ", 1)[0] not in ACCEPTED_LINT]
    assert not unexpected, unexpected


def test_metrics_package_prefix_is_the_catalog_prefix():
    from hashwatch import metrics

    assert metrics.PREFIX == catalog.PREFIX
