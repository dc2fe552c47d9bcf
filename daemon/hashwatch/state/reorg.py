"""One fork search for every store that keeps a copy of the active chain (headers, blocks).

Why one: a reorg must be found the same way wherever chain data is cached, or the headers and
the blocks of one node could disagree about where the chain forked. The search compares the
stored hash with the node's at widening steps from the top (1, 8, 64, ... up to ``max_step``
heights per request): reorgs are nearly always one or two blocks deep, so the usual cost is one
``getblockhash``, and a deep one still takes only a few round trips.

No I/O of its own: the caller passes how to ask the node for hashes (one batched request per
call) and how to read the stored ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

NodeHashes = Callable[[Sequence[int]], Sequence[str]]  # heights -> the node's hashes (one batch)
StoredHashes = Callable[[int, int], Mapping[int, str]]  # low, high -> stored height -> hash

FIRST_STEP = 1
GROWTH = 8


def find_fork(
    node_hashes: NodeHashes,
    stored_hashes: StoredHashes,
    top: int,
    low: int,
    *,
    max_step: int = 512,
    first_step: int = FIRST_STEP,
) -> int:
    """The highest height in ``low..top`` where the stored hash is the node's; ``low - 1`` if none.

    Heights with nothing stored (holes) never match. ``max_step`` bounds the heights asked per
    request; the loop ends after at most ``(top - low) / max_step + log8(max_step) + 1`` requests.
    """
    step, h = max(1, first_step), top
    while h >= low:
        span = range(max(low, h - step + 1), h + 1)
        node = list(node_hashes(list(span)))
        if len(node) != len(span):
            raise ValueError(f"asked {len(span)} block hashes, got {len(node)}")
        stored = stored_hashes(span.start, span.stop - 1)
        for height, node_hash in zip(reversed(span), reversed(node), strict=True):
            if stored.get(height) == node_hash:
                return height
        h, step = span.start - 1, min(step * GROWTH, max(1, max_step))
    return low - 1
