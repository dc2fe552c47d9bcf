"""Read a running daemon's /metrics over real HTTP, as an operator's Prometheus would."""

from __future__ import annotations

import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape_text(port: int, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as resp:
        return resp.read().decode()


def parse(text: str) -> Samples:
    """Exposition text -> {(name, sorted labels): value}."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(port: int, outputs: Any = None) -> Samples:
    """One real scrape; with ``outputs`` (the reliability suite's) the text is kept for the
    secrets check."""
    text = scrape_text(port)
    if outputs is not None:
        outputs.add("metrics", text)
    return parse(text)


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))
