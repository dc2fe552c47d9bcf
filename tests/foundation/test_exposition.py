"""Several registries in one /metrics body; the snapshot's text cached per version."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.parser import text_string_to_metric_families

from hashwatch.serve.exposition import Exposition, Part

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def two_parts():
    cached, live = CollectorRegistry(), CollectorRegistry()
    gauge = Gauge("hashwatch_test_snapshot_ratio", "From the snapshot.", registry=cached)
    counter = Counter("hashwatch_test_live", "Live counter.", registry=live)
    version = {"v": 1}
    exposition = Exposition([Part(cached, lambda: version["v"]), Part(live)])
    return exposition, gauge, counter, version


def samples(body: bytes) -> dict[str, float]:
    text = body.decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_render_text_joins_parts_and_caches_until_version_changes():
    exposition, gauge, counter, version = two_parts()
    gauge.set(0.25)
    body, ctype = exposition.render("")
    assert ctype.startswith("text/plain")
    assert samples(body)["hashwatch_test_snapshot_ratio"] == 0.25
    gauge.set(0.75)  # the snapshot registry changes only together with its version
    counter.inc()
    again = samples(exposition.render("")[0])
    assert again["hashwatch_test_snapshot_ratio"] == 0.25  # cached: same version
    assert again["hashwatch_test_live_total"] == 1.0  # live part always fresh
    version["v"] = 2
    assert samples(exposition.render("")[0])["hashwatch_test_snapshot_ratio"] == 0.75


def test_render_openmetrics_has_exactly_one_eof_at_the_end():
    exposition, gauge, counter, _ = two_parts()
    gauge.set(1)
    counter.inc(3)
    body, ctype = exposition.render(OPENMETRICS)
    assert ctype.startswith("application/openmetrics-text")
    assert body.count(b"# EOF") == 1 and body.endswith(b"# EOF\n")
    assert b"hashwatch_test_snapshot_ratio 1.0" in body
    assert b"hashwatch_test_live_total 3.0" in body
