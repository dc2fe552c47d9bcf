"""Pool concentration: who mined the recent blocks, shares, HHI and Nakamoto coefficient.

Why pure: attribution rules (address first, then the longest coinbase tag) and the concentration
maths are easy to get subtly wrong; here they work on plain strings and lists so tests can pin
them down by hand and by property. Loading the definition file is I/O and lives in the collector.

Definitions use the community pool list's JSON layout: an array of
``{"id", "name", "addresses": [...], "tags": [...], "link"}``. The older object layout
(``{"coinbase_tags": {tag: {"name"}}, "payout_addresses": {addr: {"name"}}}``) is accepted too.

How unknown blocks count: a block no definition matches may come from any number of solo miners
or small pools, so each unknown block is counted as its own single-block miner. That is the least
concentrated reading (HHI and Nakamoto coefficient are bounds, not inflated by one fake "pool").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..snapshot.store import IndicatorValue

UNKNOWN = "unknown"
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9 ._+&()-]+")
MAX_LABEL_LEN = 64


@dataclass(frozen=True)
class PoolDef:
    name: str
    addresses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


class PoolDefinitionError(ValueError):
    """The definitions data is not in a layout we understand (message says where)."""


def parse_pool_definitions(data: Any) -> list[PoolDef]:
    """Plain JSON data (either layout) -> pool definitions, in file order."""
    if isinstance(data, list):
        return [_parse_entry(i, entry) for i, entry in enumerate(data)]
    if isinstance(data, dict) and ("coinbase_tags" in data or "payout_addresses" in data):
        return _parse_legacy(data)
    raise PoolDefinitionError(
        "expected a JSON array of {name, addresses, tags} (the community pools-v2 layout)"
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PoolDefinitionError(f"{where}: expected a list of strings")
    return tuple(v for v in value if v)


def _parse_entry(i: int, entry: Any) -> PoolDef:
    if not isinstance(entry, dict):
        raise PoolDefinitionError(f"entry {i}: expected an object")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PoolDefinitionError(f"entry {i}: missing or empty 'name'")
    return PoolDef(
        name=name.strip(),
        addresses=_strings(entry.get("addresses"), f"entry {i} ({name}) addresses"),
        tags=_strings(entry.get("tags"), f"entry {i} ({name}) tags"),
    )


def _parse_legacy(data: Mapping[str, Any]) -> list[PoolDef]:
    tags: dict[str, list[str]] = {}
    addresses: dict[str, list[str]] = {}
    for key, target in (("coinbase_tags", tags), ("payout_addresses", addresses)):
        section = data.get(key) or {}
        if not isinstance(section, dict):
            raise PoolDefinitionError(f"{key}: expected an object")
        for item, info in section.items():
            name = info.get("name") if isinstance(info, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise PoolDefinitionError(f"{key}.{item}: missing 'name'")
            target.setdefault(name.strip(), []).append(item)
    names = list(dict.fromkeys([*tags, *addresses]))
    return [PoolDef(n, tuple(addresses.get(n, ())), tuple(tags.get(n, ()))) for n in names]


class PoolIdentifier:
    """Attributes a block to a pool: payout address match first, then longest tag substring.

    Definitions earlier in the list win ties. ``fallback`` is asked only when nothing here
    matches: the operator's file is authoritative and the built-in list fills its gaps (a longer
    built-in tag must not override the operator's own naming). Names come back label-safe
    (:func:`label_value`), ready for metrics.
    """

    def __init__(self, definitions: Iterable[PoolDef], fallback: PoolIdentifier | None = None):
        self.fallback = fallback
        self._by_address: dict[str, str] = {}
        tags: dict[str, str] = {}
        self.names: set[str] = set()
        for d in definitions:
            name = label_value(d.name)  # sanitized once, so two spellings share one series
            self.names.add(name)
            for a in d.addresses:
                self._by_address.setdefault(a, name)
            for t in d.tags:
                tags.setdefault(t.lower(), name)
        # Longest first: "/Foundry USA Pool #dropgold/" must beat a generic "Pool" tag.
        self._tags = sorted(tags.items(), key=lambda kv: -len(kv[0]))

    def identify(self, coinbase_text: str, payout_addresses: Sequence[str] = ()) -> str:
        for address in payout_addresses:
            name = self._by_address.get(address)
            if name is not None:
                return name
        text = coinbase_text.lower()
        for tag, name in self._tags:
            if tag in text:
                return name
        if self.fallback is not None:
            return self.fallback.identify(coinbase_text, payout_addresses)
        return UNKNOWN


@dataclass(frozen=True)
class Concentration:
    """Concentration of one window of blocks. Shares are fractions of all blocks in the window."""

    window: int
    blocks: int
    shares: Mapping[str, float]  # known pools only, largest first
    unknown_share: float
    top_share: float
    hhi: float  # 0..1; unknown blocks count as separate single-block miners
    nakamoto_coefficient: int  # fewest miners with more than half the blocks


def concentration(window: int, producers: Sequence[str]) -> Concentration:
    """Shares, HHI and Nakamoto coefficient of ``producers`` (one pool name per block)."""
    n = len(producers)
    if n == 0:
        raise ValueError("no blocks")
    counts = Counter(producers)
    unknown = counts.pop(UNKNOWN, 0)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shares = {name: c / n for name, c in ordered}
    # Each unknown block is its own miner: 1 block each.
    miner_blocks = [c for _, c in ordered] + [1] * unknown
    hhi = sum((c / n) ** 2 for c in miner_blocks)
    taken = 0
    nakamoto = 0
    for c in sorted(miner_blocks, reverse=True):
        taken += c
        nakamoto += 1
        if 2 * taken > n:
            break
    return Concentration(
        window=window,
        blocks=n,
        shares=shares,
        unknown_share=unknown / n,
        top_share=ordered[0][1] / n if ordered else 0.0,
        hhi=hhi,
        nakamoto_coefficient=nakamoto,
    )


def label_value(name: str) -> str:
    """A pool name made safe and short for a Prometheus label (names come from a file)."""
    cleaned = _LABEL_UNSAFE.sub("_", name).strip() or "_"
    return cleaned[:MAX_LABEL_LEN]


@dataclass(frozen=True)
class PoolsSection:
    """The ``pools`` snapshot section: one :class:`Concentration` per configured window.

    A window appears only when at least that many blocks are known (a 1008 label over 200 blocks
    would lie); ``tip_height`` is the newest block counted.
    """

    tip_height: int
    windows: tuple[Concentration, ...]

    def window(self, size: int) -> Concentration | None:
        for c in self.windows:
            if c.window == size:
                return c
        return None

    def values(self) -> Iterator[IndicatorValue]:
        for c in self.windows:
            w = (("window", str(c.window)),)
            for name, share in c.shares.items():
                yield IndicatorValue("pools_share_ratio", share, (("pool", name),) + w)
            yield IndicatorValue("pools_top_share_ratio", c.top_share, w)
            yield IndicatorValue("pools_hhi", c.hhi, w)
            yield IndicatorValue("pools_nakamoto_coefficient", float(c.nakamoto_coefficient), w)
            yield IndicatorValue("pools_unknown_share_ratio", c.unknown_share, w)


def compute_pools(
    identifier: PoolIdentifier,
    blocks: Sequence[tuple[int, str, Sequence[str]]],
    windows: Sequence[int],
) -> PoolsSection | None:
    """Section from ``(height, coinbase_text, payout_addresses)`` per block, ascending by height.

    None when there are no blocks. Each block is identified once and reused by every window.
    """
    if not blocks:
        return None
    producers = [identifier.identify(text, addrs) for _, text, addrs in blocks]
    results = tuple(
        concentration(w, producers[-w:]) for w in sorted(set(windows)) if 0 < w <= len(producers)
    )
    return PoolsSection(tip_height=blocks[-1][0], windows=results)
