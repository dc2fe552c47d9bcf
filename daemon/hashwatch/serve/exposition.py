"""Encode ``/metrics`` from several registries, re-rendering the snapshot only when it changed.

Why: the snapshot is immutable and replaced only after a poll, yet formatting it is most of a
scrape's cost. Its text is cached per (snapshot version, format); the live parts (the daemon's
own counters and histograms, alert delivery state) are encoded on every scrape.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

_EOF = b"# EOF\n"


@dataclass(frozen=True)
class Part:
    """One registry; ``version`` (if given) says when its output may have changed."""

    registry: CollectorRegistry
    version: Callable[[], Hashable] | None = None


class Exposition:
    def __init__(self, parts: Sequence[Part]):
        self.parts = list(parts)
        self._cache: dict[tuple[int, str], tuple[Hashable, bytes]] = {}
        self._lock = threading.Lock()

    def render(self, accept: str) -> tuple[bytes, str]:
        """(body, content type) for a request's Accept header, as prometheus_client would."""
        encoder, content_type = choose_encoder(accept)
        openmetrics = content_type.startswith("application/openmetrics-text")
        chunks = []
        for index, part in enumerate(self.parts):
            body = self._encode(index, part, encoder, content_type)
            if openmetrics and body.endswith(_EOF):
                body = body[: -len(_EOF)]  # one "# EOF" for the whole exposition
            chunks.append(body)
        if openmetrics:
            chunks.append(_EOF)
        return b"".join(chunks), content_type

    def _encode(self, index: int, part: Part, encoder: Callable, content_type: str) -> bytes:
        if part.version is None:
            return encoder(part.registry)
        version = part.version()
        key = (index, content_type)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        body = encoder(part.registry)
        with self._lock:
            self._cache[key] = (version, body)
        return body
