"""Grafana's JSON model for hashwatch's boards: panels, variables, layout, the dashboard.

Why generate: seven boards with ~90 panels share one datasource reference, the same variables,
units and threshold conventions, and a layout grid. Hand-edited JSON drifts (a panel without a
unit, a query with a hard-coded node); a builder keeps them uniform and reviewable, and
tests/stack/ checks the committed JSON equals what it produces. This module knows Grafana only;
conventions live in ``common.py``, boards in ``chain.py``, ``market.py`` and ``fleet.py``, the
command in ``cli.py`` (imports go one way: model <- common <- boards <- cli).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39

Steps = Sequence[tuple[str, float | None]]
GREEN: Steps = (("green", None),)
SINGLE_VALUE = ("stat", "gauge", "bargauge")


def thresholds(steps: Steps = GREEN) -> dict[str, Any]:
    """Absolute thresholds; the first step is the base (value None)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def target(expr: str, legend: str = "", *, fmt: str = "time_series", instant: bool = False):
    """One PromQL query; ``refId`` is assigned by :func:`panel`."""
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "format": fmt,
        "instant": instant,
        "range": not instant,
    }


def panel(
    kind: str,
    title: str,
    targets: Sequence[dict[str, Any]],
    *,
    unit: str,
    description: str,
    steps: Steps = GREEN,
    w: int = 6,
    h: int = 6,
    min: float | None = None,  # noqa: A002 - Grafana's key name
    max: float | None = None,  # noqa: A002
    decimals: int | None = None,
    threshold_style: str = "off",
    mappings: Sequence[dict[str, Any]] = (),
    options: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    transformations: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A panel with the conventions every hashwatch panel follows: unit, thresholds, help."""
    defaults: dict[str, Any] = {
        "unit": unit,
        "thresholds": thresholds(steps),
        "color": {"mode": "thresholds" if kind in SINGLE_VALUE else "palette-classic"},
        "mappings": list(mappings),
    }
    for key, value in (("min", min), ("max", max), ("decimals", decimals)):
        if value is not None:
            defaults[key] = value
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "thresholdsStyle": {"mode": threshold_style},
            **(custom or {}),
        }
    elif custom:
        defaults["custom"] = custom
    out: dict[str, Any] = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": {"x": 0, "y": 0, "w": w, "h": h},
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options if options is not None else _default_options(kind),
    }
    if transformations:
        out["transformations"] = list(transformations)
    return out


def _default_options(kind: str) -> dict[str, Any]:
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "stat":
        return {"reduceOptions": reduce, "colorMode": "value", "graphMode": "area",
                "justifyMode": "auto", "orientation": "auto", "textMode": "auto"}
    if kind == "gauge":
        return {"reduceOptions": reduce, "showThresholdMarkers": True, "showThresholdLabels": False}
    if kind == "bargauge":
        return {"reduceOptions": reduce, "displayMode": "gradient", "orientation": "horizontal",
                "showUnfilled": True}
    if kind == "timeseries":
        return {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "piechart":
        return {"reduceOptions": reduce, "pieType": "donut",
                "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                           "values": ["percent"]},
                "tooltip": {"mode": "single", "sort": "none"}}
    if kind == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    return {}


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}}


def query_var(name: str, label: str, query: str, *, include_all: bool) -> dict[str, Any]:
    """A variable filled from Prometheus label values (node, scenario)."""
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "definition": query, "query": query,
        "refresh": 2, "sort": 1, "multi": include_all, "includeAll": include_all,
        "current": {}, "options": [], "hide": 0,
    }


def custom_var(name: str, label: str, values: Sequence[str], current: str) -> dict[str, Any]:
    """A fixed choice (for example the pools window: 144 or 1008 blocks)."""
    return {
        "name": name, "label": label, "type": "custom", "query": ",".join(values),
        "current": {"selected": True, "text": current, "value": current},
        "options": [{"selected": v == current, "text": v, "value": v} for v in values],
        "multi": False, "includeAll": False, "hide": 0,
    }


def datasource_var() -> dict[str, Any]:
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": ""}


def site_var() -> dict[str, Any]:
    """Sites of a fleet (the ``site`` label a site Prometheus adds). "All" is ``.*`` so a
    single-site install, whose series have no ``site`` label, matches too."""
    var = query_var("site", "Site", "label_values(hashwatch_node_up, site)", include_all=True)
    var["allValue"] = ".*"
    return var


def node_var() -> dict[str, Any]:
    return query_var("node", "Node", 'label_values(hashwatch_node_up{site=~"$site"}, node)',
                     include_all=True)


def layout(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place panels left to right on Grafana's 24-column grid, wrapping rows; number them."""
    x = y = row_h = 0
    out = []
    for pid, item in enumerate(items, start=1):
        item = dict(item, id=pid)
        w, h = item["gridPos"]["w"], item["gridPos"]["h"]
        if item["type"] == "row" or x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        item["gridPos"] = {"x": x, "y": y, "w": w, "h": h}
        x, row_h = x + w, max(row_h, h)
        if item["type"] == "row":
            x, y, row_h = 0, y + h, 0
        out.append(item)
    return out


def dashboard(uid: str, title: str, description: str, items: Sequence[dict[str, Any]],
              variables: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["hashwatch", "bitcoin"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "links": [{"type": "dashboards", "tags": ["hashwatch"], "asDropdown": True,
                   "title": "hashwatch", "includeVars": True, "keepTime": True}],
        "templating": {"list": [datasource_var(), site_var(), *variables]},
        "annotations": {"list": []},
        "panels": layout(items),
    }


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=False) + "\n"
