"""The one fork search shared by the headers and blocks stores (state/reorg.py)."""

from __future__ import annotations

from hashwatch.state.reorg import find_fork


def _chain(prefix: str, n: int) -> dict[int, str]:
    return {h: f"{prefix}{h}" for h in range(n)}


def _search(stored: dict[int, str], node: dict[int, str], top: int, low: int, **kw):
    asked: list[list[int]] = []

    def node_hashes(heights):
        asked.append(list(heights))
        return [node[h] for h in heights]

    def stored_hashes(lo, hi):
        return {h: x for h, x in stored.items() if lo <= h <= hi}

    return find_fork(node_hashes, stored_hashes, top, low, **kw), asked


def test_no_reorg_costs_one_hash():
    chain = _chain("a", 1000)
    fork, asked = _search(chain, chain, 999, 0)
    assert fork == 999 and asked == [[999]]


def test_shallow_reorg_found_in_second_round():
    stored = _chain("a", 1000)
    node = {**stored, **{h: f"b{h}" for h in range(997, 1000)}}
    fork, asked = _search(stored, node, 999, 0)
    assert fork == 996 and [len(a) for a in asked] == [1, 8]


def test_deep_reorg_widens_to_max_step_and_holes_never_match():
    stored = {h: x for h, x in _chain("a", 1000).items() if h != 500}  # a hole
    node = {**_chain("a", 1000), **{h: f"b{h}" for h in range(500, 1000)}}
    fork, asked = _search(stored, node, 999, 0, max_step=64)
    assert fork == 499
    assert max(len(a) for a in asked) == 64 and len(asked) <= 1 + 1 + 1 + 500 // 64 + 1


def test_nothing_in_common_returns_below_low():
    fork, _ = _search(_chain("a", 50), _chain("b", 50), 49, 10, max_step=16)
    assert fork == 9
