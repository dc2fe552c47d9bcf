"""The inline SVG charts: pure functions of numbers and labels, with every label escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hashwatch.serve import svg

NS = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # well-formed XML or the test fails


def test_line_chart_draws_one_segment_per_point_and_labels_min_max_now():
    pts = [(0.0, 10.0), (600.0, 30.0), (1200.0, 20.0)]
    root = parse(svg.line_chart(pts, lambda v: f"{v:.0f} u", title="t"))
    path = root.find(f"{NS}path").get("d")
    assert len(re.findall(r"[ML]", path)) == 3
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "max 30 u" in texts and "now 20 u" in texts
    assert any(t.startswith("min 10 u") and "-20 min" in t for t in texts)
    # the highest value is drawn at the top of the plot, the lowest at the bottom
    ys = [float(y) for y in re.findall(r"[ML][\d.]+,([\d.]+)", path)]
    assert ys[1] == min(ys) and ys[0] == max(ys)


def test_line_chart_reference_lines_and_flat_series():
    root = parse(svg.line_chart([(0, 5.0), (60, 5.0)], str, refs=[(8.0, "break-even a")]))
    assert len(root.findall(f"{NS}line")) == 1
    assert any("break-even a 8.0" == t.text for t in root.iter(f"{NS}text"))


def test_line_chart_with_too_few_points_says_so():
    root = parse(svg.line_chart([(0.0, 1.0)], str, title="x"))
    assert root.find(f"{NS}path") is None
    assert "collecting history" in "".join(root.itertext())


def test_bar_chart_one_bar_per_category_scaled_to_the_largest():
    root = parse(svg.bar_chart([1.0, 4.0, 0.0, 2.0], ["1", "2", "3", "more"], str))
    rects = root.findall(f"{NS}rect")
    assert len(rects) == 4
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] == max(heights) and heights[2] == 0.0
    assert heights[3] == heights[1] / 2


def test_hostile_labels_are_escaped_in_the_markup():
    hostile = '<script>alert(1)</script>" onload="x'
    markup = svg.line_chart([(0, 1.0), (1, 2.0)], lambda v: hostile, title=hostile,
                            refs=[(1.5, hostile)])
    markup += svg.bar_chart([1.0], [hostile], str, title=hostile)
    assert "<script" not in markup and 'onload="x' not in markup
    assert "&lt;script&gt;" in markup


def test_a_full_day_is_thinned_to_the_chart_width_keeping_spikes():
    pts = [(i * 30.0, 1.0) for i in range(2880)]
    pts[1234] = (1234 * 30.0, 50.0)  # one spike
    pts[2000] = (2000 * 30.0, -7.0)  # one dip
    thinned = svg.thin(pts, 640)
    assert len(thinned) <= 641 and thinned[-1] == pts[-1]
    assert (1234 * 30.0, 50.0) in thinned and (2000 * 30.0, -7.0) in thinned
    assert [t for t, _ in thinned] == sorted(t for t, _ in thinned)
    path = parse(svg.line_chart(pts, str)).find(f"{NS}path").get("d")
    assert len(re.findall(r"[ML]", path)) <= 641
