"""Conventions shared by the hashwatch dashboards (units, thresholds, node/scenario scoping).

Metric names are the contract in docs/indicators.md plus the daemon's base metrics. Every query
filters on ``site=~"$site",node=~"$node"`` so a fleet picks a site and a node (a single-site
install has no ``site`` label; "All" sites is ``.*``, which matches it); economics queries also
filter
on ``scenario=~"$scenario"``. Counters that only appear after their first event (errors,
failed notifications) fall back to ``0 * <a series that exists while the daemon runs>``: zero
while hashwatch reports, still absent (no fake zero) when hashwatch itself is gone.
"""

from __future__ import annotations

from typing import Any

from .model import panel, query_var, target

SATVB = "suffix:sat/vB"
SAT = "suffix:sat"
RI = "$__rate_interval"
DROP_STEPS = (("red", None), ("orange", -5), ("green", -2))  # difficulty change, percent
CHANGE_STEPS = (("red", None), ("orange", -5), ("green", -2), ("orange", 5), ("red", 10))
AGE_STEPS = (("green", None), ("orange", 1800), ("red", 3600))  # best block age, seconds
SPIKE_STEPS = (("green", None), ("orange", 2), ("red", 3))
UP_MAP = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red", "index": 0},
                                         "1": {"text": "UP", "color": "green", "index": 1}}}]
OK_MAP = [{"type": "value", "options": {"0": {"text": "FAILING", "color": "red", "index": 0},
                                         "1": {"text": "ok", "color": "green", "index": 1}}}]
YESNO_MAP = [{"type": "value", "options": {"0": {"text": "no", "index": 0},
                                            "1": {"text": "yes", "index": 1}}}]


def m(metric: str, extra: str = "") -> str:
    """``metric{site=~"$site",node=~"$node",extra}``: every query is scoped to the selection."""
    return f'{metric}{{site=~"$site",node=~"$node"{"," + extra if extra else ""}}}'


def sc(metric: str) -> str:
    return m(metric, 'scenario=~"$scenario"')


def scenario_var() -> dict[str, Any]:
    return query_var("scenario", "Cost scenario",
                     "label_values(" + m("hashwatch_hashcost_usd_per_phs_day") + ", scenario)",
                     include_all=True)


def ts(title, targets, unit, description, **kw):
    kw.setdefault("w", 12)
    kw.setdefault("h", 8)
    return panel("timeseries", title, targets, unit=unit, description=description, **kw)


def stat(title, expr, unit, description, legend="{{node}}", **kw):
    kw.setdefault("w", 4)
    kw.setdefault("h", 4)
    return panel("stat", title, [target(expr, legend)], unit=unit, description=description, **kw)


NETWORK_INFO = 'label_replace({}, "network", "$1", "chain", "(.+)")'.format(
    m("hashwatch_node_info")
)


def network(metric: str, extra: str = "", by: str = "network") -> str:
    """A network-wide indicator for a fleet: one value per ``network`` (and ``by`` labels) over
    every selected node of every selected site, the median so one lagging node does not move it.
    The ``network`` label comes from hashwatch_node_info's ``chain`` (the same join as the alert
    rules in config/prometheus/rules)."""
    inner = f"{m(metric, extra)} * on (site, instance, node) group_left (network) {NETWORK_INFO}"
    return f"quantile by ({by}) (0.5, {inner})"
