"""Small inline SVG charts for the page, as pure functions of numbers and label text.

Why hand-written SVG: the page has no build step, no framework and works with JavaScript off;
a line or a row of bars is a few dozen lines of markup. Every text that reaches the markup goes
through :func:`html.escape`; numbers are formatted here, never interpolated raw.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

Fmt = Callable[[float], str]

WIDTH, HEIGHT = 320, 96
_PAD_TOP, _PAD_BOTTOM, _PAD_X = 14.0, 14.0, 2.0


def _svg(body: str, title: str, width: int, height: int) -> str:
    t = html.escape(title)
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{t}</title>{body}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "lbl") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{cls}">'
            f"{html.escape(text)}</text>")


def _span_label(seconds: float) -> str:
    return f"-{seconds / 3600:.1f} h" if seconds >= 3600 else f"-{seconds / 60:.0f} min"


def thin(points: Sequence[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most about ``limit`` points, keeping each bucket's min and max so spikes stay visible.

    Why: a day at 30 s is 2,880 points for a chart a few hundred pixels wide.
    """
    if len(points) <= limit:
        return list(points)
    buckets = max(1, limit // 2)
    size = len(points) / buckets
    out: list[tuple[float, float]] = []
    for b in range(buckets):
        chunk = points[int(b * size): int((b + 1) * size)]
        if chunk:
            lo = min(chunk, key=lambda p: p[1])
            hi = max(chunk, key=lambda p: p[1])
            out.extend(sorted({lo, hi}))
    if out[-1] != points[-1]:
        out.append(points[-1])
    return out


def empty_chart(title: str, message: str, width: int = WIDTH, height: int = HEIGHT) -> str:
    return _svg(_text(width / 2, height / 2, message, "middle", "muted"), title, width, height)


def line_chart(
    points: Sequence[tuple[float, float]],
    fmt: Fmt,
    *,
    title: str = "",
    refs: Sequence[tuple[float, str]] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """A line over time (x = unix seconds) with min/max/last labels and dashed reference lines."""
    pts = [(t, v) for t, v in points if math.isfinite(t) and math.isfinite(v)]
    if len(pts) < 2:
        return empty_chart(title, "collecting history…", width, height)
    values = [v for _, v in pts] + [v for v, _ in refs if math.isfinite(v)]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):  # a flat line sits in the middle
        pad = abs(hi) * 0.01 or 1.0
        lo, hi = lo - pad, hi + pad
    t0, t1 = pts[0][0], pts[-1][0]
    span = max(t1 - t0, 1e-9)
    plot_w, plot_h = width - 2 * _PAD_X, height - _PAD_TOP - _PAD_BOTTOM

    def xy(t: float, v: float) -> tuple[float, float]:
        return (_PAD_X + (t - t0) / span * plot_w, _PAD_TOP + (hi - v) / (hi - lo) * plot_h)

    path = " ".join(
        f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}"
        for i, (x, y) in enumerate(xy(t, v) for t, v in thin(pts, 2 * width))
    )
    parts = [f'<path class="line" d="{path}"/>']
    for v, label in refs:
        if not math.isfinite(v):
            continue
        _, y = xy(t0, v)
        parts.append(f'<line class="ref" x1="{_PAD_X}" x2="{width - _PAD_X}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text(width / 2, y - 2, f"{label} {fmt(v)}", "middle", "ref-lbl"))
    lx, ly = xy(*pts[-1])
    parts.append(f'<circle class="dot" cx="{lx:.1f}" cy="{ly:.1f}" r="2.5"/>')
    parts.append(_text(_PAD_X, 10, f"max {fmt(max(v for _, v in pts))}"))
    parts.append(_text(width - _PAD_X, 10, f"now {fmt(pts[-1][1])}", "end", "lbl strong"))
    parts.append(_text(_PAD_X, height - 3, f"min {fmt(min(v for _, v in pts))}  "
                                            f"{_span_label(t1 - t0)}"))
    return _svg("".join(parts), title, width, height)


def bar_chart(
    values: Sequence[float],
    categories: Sequence[str],
    fmt: Fmt,
    *,
    title: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
    ticks: int = 6,
) -> str:
    """Vertical bars, one per category (e.g. mempool vsize per fee band), a few tick labels."""
    vals = [v if math.isfinite(v) and v > 0 else 0.0 for v in values]
    if not vals or max(vals) <= 0:
        return empty_chart(title, "empty", width, height)
    top = max(vals)
    n = len(vals)
    plot_w, plot_h = width - 2 * _PAD_X, height - _PAD_TOP - _PAD_BOTTOM
    step = plot_w / n
    parts = []
    for i, v in enumerate(vals):
        h = v / top * plot_h
        label = html.escape(f"≤ {categories[i]}: {fmt(v)}" if i < len(categories) else fmt(v))
        parts.append(
            f'<rect class="bar" x="{_PAD_X + i * step + 0.5:.1f}" y="{_PAD_TOP + plot_h - h:.1f}" '
            f'width="{max(step - 1, 0.5):.1f}" height="{h:.1f}"><title>{label}</title></rect>'
        )
    every = max(1, math.ceil(n / ticks))
    for i in range(0, min(n, len(categories)), every):
        parts.append(_text(_PAD_X + (i + 0.5) * step, height - 3, categories[i], "middle"))
    parts.append(_text(_PAD_X, 10, f"max {fmt(top)}"))
    return _svg("".join(parts), title, width, height)
