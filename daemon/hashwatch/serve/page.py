"""The live page at ``/``: server-rendered HTML from the view model, refreshing itself.

Why server-rendered with a meta refresh: no build step, no framework, and it works with
JavaScript off; one request renders the current snapshot, the same one ``/metrics`` renders.
Everything that reaches the markup passes through :func:`esc`: HTML-escaped, with control and
format characters (terminal escapes, bidi overrides) shown as visible ``\\x1b``-style codes,
and bounded in length. The server adds a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable
from typing import Any

from ..snapshot.history import History
from ..snapshot.store import SnapshotStore
from . import svg
from .page_alerts import AlertsView, alerts_view
from .page_data import build_view
from .page_model import FORMATS, Card, Chart, NodeView, PageView

MAX_TEXT = 500  # characters of any one text shown; node strings are not trusted to be short

# Sent with the page: no script, no external loads; inline styles and SVG only.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def visible(text: str) -> str:
    """Control/format characters as visible escapes (``\\x1b``, ``\\u202e``); length bounded."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + "…"
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") and ch != " ":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def esc(text: object) -> str:
    return html.escape(visible(str(text)), quote=True)


def _chart(c: Chart) -> str:
    fmt = FORMATS.get(c.fmt, str)
    if c.kind == "bars":
        body = svg.bar_chart([v for _, v in c.points], c.categories, fmt, title=c.title)
    else:
        body = svg.line_chart(c.points, fmt, title=c.title, refs=c.refs)
    return (f'<figure data-chart="{esc(c.key)}"><figcaption>{esc(c.title)}</figcaption>'
            f"{body}</figure>")


def _card(node: str, c: Card) -> str:
    parts = [f'<section class="card" id="{esc(node)}-{esc(c.key)}" data-card="{esc(c.key)}">'
             f"<h3>{esc(c.title)}</h3>"]
    if c.rows:
        parts.append("<dl>")
        parts += [f'<div class="row" data-key="{esc(r.key)}"><dt>{esc(r.label)}</dt>'
                  f"<dd>{esc(r.value)}</dd></div>" for r in c.rows]
        parts.append("</dl>")
    if c.bars:
        parts.append('<div class="bars">')
        for b in c.bars:
            pct = max(0.0, min(1.0, b.fraction)) * 100
            parts.append(f'<div class="bar-row"><span class="bar-label">{esc(b.label)}</span>'
                         f'<span class="track"><span class="fill" style="width:{pct:.1f}%">'
                         f'</span></span><span class="bar-text">{esc(b.text)}</span></div>')
        parts.append("</div>")
    for t in c.tables:
        head = "".join(f"<th>{esc(h)}</th>" for h in t.headers)
        body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
                       for row in t.rows)
        parts.append(f'<div class="scroll"><table data-key="{esc(t.key)}"><thead><tr>{head}'
                     f"</tr></thead><tbody>{body}</tbody></table></div>")
    parts += [_chart(ch) for ch in c.charts]
    if c.note:
        parts.append(f'<p class="note">{esc(c.note)}</p>')
    parts.append("</section>")
    return "".join(parts)


def _node(n: NodeView) -> str:
    state = '<span class="ok">up</span>' if n.up else '<span class="bad">DOWN</span>'
    cards = "".join(_card(n.name, c) for c in n.cards)
    return (f'<section class="node" id="node-{esc(n.name)}"><h2>node {esc(n.name)} {state}</h2>'
            f'<div class="grid">{cards}</div></section>')


def _table(cls: str, headers: tuple[str, ...], rows: list[tuple[str, ...]], classes: list[str]
           ) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(f'<tr class="{esc(c)}">' + "".join(f"<td>{esc(v)}</td>" for v in row)
                   + "</tr>" for row, c in zip(rows, classes, strict=True))
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _alerts(a: AlertsView) -> str:
    parts = ['<section class="card wide" id="alerts" data-card="alerts"><h3>Alerts</h3>']
    if a.active:
        parts.append(_table(
            "active", ("state", "severity", "rule", "node", "value", "since", "labels"),
            [(x.state, x.severity, x.rule, x.node, x.value, x.since, x.labels) for x in a.active],
            [f"sev-{x.severity} {x.state}" for x in a.active]))
    else:
        parts.append('<p class="note">no active alerts</p>')
    parts.append("<h4>recent notifications</h4>")
    if a.recent:
        parts.append(_table(
            "recent", ("created", "status", "summary", "channel", "delivery", "rule", "node"),
            [(x.created, x.status, x.summary, x.channel, x.delivery, x.rule, x.node)
             for x in a.recent],
            [x.status for x in a.recent]))
    else:
        parts.append('<p class="note">none yet</p>')
    if a.note:
        parts.append(f'<p class="note">{esc(a.note)}</p>')
    parts.append("</section>")
    return "".join(parts)


def render_page(view: PageView) -> str:
    price = (f'<p class="price" data-key="{esc(view.price.key)}">{esc(view.price.label)}: '
             f"{esc(view.price.value)}</p>" if view.price is not None else "")
    alerts = _alerts(view.alerts) if view.alerts is not None else ""
    nodes = "".join(_node(n) for n in view.nodes)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="refresh" content="{int(view.refresh_seconds)}">'
        f"<title>hashwatch</title><style>{CSS}</style></head><body>"
        f'<header><h1>hashwatch</h1><p class="meta">as of {esc(view.generated)} · refreshes every '
        f'{int(view.refresh_seconds)} s · <a href="/metrics">/metrics</a></p>{price}</header>'
        f"<main>{alerts}{nodes}</main></body></html>"
    )


def refresh_seconds(poll_seconds: float) -> int:
    """Refresh at the poll interval, but no faster than 5 s and no slower than a minute."""
    return int(min(60, max(5, round(poll_seconds))))


def page_source(store: SnapshotStore, history: History | None, alerts: Any,
                clock: Callable[[], float], refresh: int = 15) -> Callable[[], bytes]:
    """What the server calls for ``GET /``: render the current snapshot to UTF-8 HTML."""

    def render() -> bytes:
        view = build_view(store.current(), history, clock(), alerts_view(alerts), refresh)
        return render_page(view).encode("utf-8")

    return render


CSS = """
:root{--bg:#f6f7f9;--fg:#1c2330;--muted:#677085;--card:#fff;--line:#dde1e8;--accent:#e07b00;
--ok:#1a7f37;--bad:#c62828;--warn:#b26a00}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--fg:#e4e8ef;--muted:#9aa3b5;
--card:#1b2029;--line:#2d3441;--accent:#ffa53d;--ok:#4cc36b;--bad:#ff6b6b;--warn:#ffb547}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{padding:12px 16px;border-bottom:1px solid var(--line);background:var(--card)}
h1{margin:0;font-size:20px}h2{font-size:17px;margin:16px 4px 8px}
h3{margin:0 0 8px;font-size:15px}h4{margin:12px 0 4px;font-size:13px;color:var(--muted)}
.meta,.note{color:var(--muted);margin:2px 0}.price{margin:4px 0 0;font-weight:600}
main{padding:8px 12px 24px;max-width:1400px;margin:0 auto}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,340px),1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px;
min-width:0;overflow-wrap:anywhere}
.wide{margin-top:12px}
dl{margin:0}.row{display:flex;gap:8px;padding:3px 0;border-bottom:1px dotted var(--line)}
dt{color:var(--muted);flex:0 0 40%}dd{margin:0;flex:1;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;margin-top:8px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:12.5px}
th,td{text-align:left;padding:3px 5px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:500}
table.recent td:nth-child(3){white-space:normal;min-width:16em}
.bars{margin-top:6px}.bar-row{display:flex;align-items:center;gap:6px;margin:3px 0}
.bar-label{flex:0 0 34%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{flex:1;height:10px;background:var(--line);border-radius:5px;overflow:hidden}
.fill{display:block;height:100%;background:var(--accent)}
.bar-text{flex:0 0 4.5em;text-align:right;font-variant-numeric:tabular-nums}
figure{margin:10px 0 0}figcaption{color:var(--muted);font-size:12px}
svg.chart{width:100%;height:auto;display:block}
.line{fill:none;stroke:var(--accent);stroke-width:1.6}.dot{fill:var(--accent)}
.ref{stroke:var(--muted);stroke-dasharray:3 3;stroke-width:1}
.bar{fill:var(--accent)}
.lbl,.ref-lbl,.muted{font-size:9px;fill:var(--muted)}.strong{fill:var(--fg);font-weight:600}
.ok{color:var(--ok)}.bad{color:var(--bad)}
tr.sev-critical td{color:var(--bad);font-weight:600}tr.sev-warning td{color:var(--warn)}
@media (max-width:600px){main{padding:6px}dt{flex-basis:45%}.card{padding:10px}
table.active thead,table.recent thead{display:none}
table.active tr,table.recent tr{display:block;padding:4px 0;border-bottom:1px solid var(--line)}
table.active td,table.recent td{display:inline;border:0;padding:0 6px 0 0;white-space:normal;
overflow-wrap:normal}
table.recent td:nth-child(3){display:block;min-width:0}}
"""
