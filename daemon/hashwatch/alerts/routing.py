"""Which channels a firing alert goes to: the rule's own ``channels``, else the routes.

Why a fallback to ``log``: with routes configured, an alert that matches none must still leave
a trace rather than vanish; with no routes at all, every configured channel gets everything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..config.alerts import RouteConfig


def route(
    labels: Mapping[str, str],
    severity: str,
    rule_channels: Sequence[str] | None,
    routes: Sequence[RouteConfig],
    all_channels: Sequence[str],
) -> list[str]:
    if rule_channels:
        return list(dict.fromkeys(rule_channels))
    if not routes:
        return list(all_channels) or ["log"]
    out: list[str] = []
    for r in routes:
        if r.severity is not None and severity not in r.severity:
            continue
        if any(labels.get(k) != v for k, v in r.match.items()):
            continue
        out += [c for c in r.channels if c not in out]
        if not r.continue_:
            break
    return out or ["log"]
