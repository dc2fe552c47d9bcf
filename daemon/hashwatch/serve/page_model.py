"""The page's view model types: plain cards of label/value strings, tables, bars and charts.

Why plain strings: the renderer (page.py) only escapes and lays out; every number is formatted
once, where it is read (page_data.py), so a test of the view model sees what the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..status.difficulty import format_difficulty, format_hashrate
from .page_alerts import AlertsView


@dataclass(frozen=True)
class Row:
    key: str  # stable id for tests and anchors
    label: str
    value: str


@dataclass(frozen=True)
class Table:
    key: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Bar:
    label: str
    fraction: float  # 0..1 of the bar's full width
    text: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    points: tuple[tuple[float, float], ...]
    fmt: str  # a FORMATS key: how the axis labels are written
    refs: tuple[tuple[float, str], ...] = ()  # horizontal reference lines (value, label)
    kind: str = "line"  # "line" over time, or "bars" (x = category index)
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Card:
    key: str
    title: str
    rows: tuple[Row, ...] = ()
    tables: tuple[Table, ...] = ()
    bars: tuple[Bar, ...] = ()
    charts: tuple[Chart, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class NodeView:
    name: str
    up: bool
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class PageView:
    generated: str
    refresh_seconds: int
    nodes: tuple[NodeView, ...]
    alerts: AlertsView | None = None
    price: Row | None = None
    notes: tuple[str, ...] = field(default=())


def utc(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def usd(v: float) -> str:
    return f"{'-' if v < 0 else ''}${abs(v):,.2f}"


def sat(v: float) -> str:
    return f"{v / 1e8:.8f} BTC" if v >= 1e6 else f"{v:,.0f} sat"


FORMATS = {
    "difficulty": format_difficulty,
    "hashrate": format_hashrate,
    "percent": lambda v: f"{v:+.2f}%",
    "satvb": lambda v: f"{v:.1f} sat/vB",
    "mvb": lambda v: f"{v / 1e6:.2f} MvB" if v >= 1e5 else f"{v:,.0f} vB",
    "btc": lambda v: f"{v:.8f}",
    "usd": usd,
    "count": lambda v: f"{v:,.0f}",
}
