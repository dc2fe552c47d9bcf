"""``hashwatch status`` rows for pool concentration: top pools and the concentration measures.

Why short: the full share table is in the metrics; ``status`` answers "who mines, and how
concentrated is it" at a glance, per window.
"""

from __future__ import annotations

from ..snapshot.store import NodeSnapshot, Snapshot

TOP = 5


def rows(node: NodeSnapshot, snapshot: Snapshot) -> list[tuple[str, str]]:
    section = node.pools
    if section is None:
        return [("pools", "not computed yet (needs recent blocks)")]
    if not section.windows:
        return [("pools", f"fewer blocks than the smallest window (tip {section.tip_height})")]
    out: list[tuple[str, str]] = []
    for c in section.windows:
        biggest = list(c.shares.items())[:TOP]
        top = ", ".join(f"{name} {share * 100:.1f}%" for name, share in biggest)
        out.append((f"pools last {c.window}", f"{top or 'none identified'}; "
                                              f"unknown {c.unknown_share * 100:.1f}%"))
        out.append((
            f"concentration last {c.window}",
            f"HHI {c.hhi:.3f}, Nakamoto coefficient {c.nakamoto_coefficient}, "
            f"top pool {c.top_share * 100:.1f}%",
        ))
    return out
