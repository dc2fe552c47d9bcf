"""Give freed heap memory back to the operating system (glibc ``malloc_trim``).

Why: a mempool poll on a 300k-transaction node briefly holds tens of MB of JSON (a txid listing,
a batch of entries, the projected blocks). CPython frees it, but glibc keeps the pages, so the
daemon's resident size would settle at its busiest moment. Trimming after the heavy jobs keeps
RSS near what the model really holds. A no-op where glibc is absent (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

_MIN_INTERVAL_SECONDS = 30.0
_last = 0.0


def _load_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


_trim = _load_trim()


def release_free_memory(force: bool = False) -> bool:
    """Trim the malloc heap (at most every 30 s unless ``force``); True if it ran."""
    global _last
    if _trim is None:
        return False
    now = time.monotonic()
    if not force and now - _last < _MIN_INTERVAL_SECONDS:
        return False
    _last = now
    _trim(0)
    return True
