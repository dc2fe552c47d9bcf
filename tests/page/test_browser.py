"""The page in a real browser: Debian's chromium (headless) against a daemon on the simulator.

The DOM chromium built after loading the page is asserted on (the projected retarget and its
date, a fee band, a hashprice, an active alert and its notification), with each number checked
against what /metrics exports at the same time; screenshots at desktop and phone widths are
saved under the test's tmp dir; at phone width (DevTools device emulation) the page must not
scroll sideways. A node that sends markup and terminal escapes in its version and
warnings strings has them shown as text: no script element, no raw escape character.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from hashwatch.serve.page_model import usd, utc
from hashwatch.sim import rpc_chain
from hashwatch.sim.rpc_methods import METHODS

from ..support.scrape import scrape, value
from ..support.waiting import wait_for
from .cdp import devtools, phone_screenshot
from .pagekit import (
    dump_dom,
    find_chromium,
    get_page,
    row_value,
    screenshot,
    start_daemon,
    table_rows,
)

HOSTILE = "<script>alert(1)</script> <!channel> \x1b[31mred\x1b[0m"
SHOWN = "<script>alert(1)</script> <!channel> \\x1b[31mred\\x1b[0m"


@pytest.fixture
def browser() -> str:
    return find_chromium()


@pytest.fixture
def running(sim_factory, tmp_path):
    """A daemon polling a simulator whose last retarget dropped difficulty ~7%."""
    sim = sim_factory(start_height=925_300)
    sim.mine(44, interval=3000)  # slow blocks up to the retarget at 925,344
    sim.mempool.add_random(3000)
    daemon = start_daemon(sim, tmp_path)
    try:
        yield sim, daemon
    finally:
        daemon.stop()


def wait_complete(port: int) -> str:
    needed = ('data-key="hashprice-usd"', 'data-key="fee-bands"', 'class="active"',
              'data-card="pools"', 'data-key="retarget-date"', "Difficulty dropped")

    def ready() -> str | None:
        page = get_page(port)
        if all(k in page for k in needed) and "not computed" not in page:
            return page
        return None

    return wait_for(ready, timeout=90, what="every card on the page")


def grow_history(sim, daemon, steps: int = 4) -> None:
    """Let the simulated clock pass a few history buckets, each followed by a poll."""
    for _ in range(steps):
        sim.clock.advance(120)
        seen = daemon.store.current().taken_at
        wait_for(lambda t=seen: daemon.store.current().taken_at > t + 60, what="a poll")


def test_chromium_renders_the_live_page_with_the_metrics_numbers(browser, running, tmp_path):
    sim, daemon = running
    port = daemon.server.port
    wait_complete(port)
    grow_history(sim, daemon)
    url = f"http://127.0.0.1:{port}/"
    dom = dump_dom(browser, url)
    m = scrape(port)

    change = value(m, "hashwatch_difficulty_projected_change_percent", node="n1")
    when = value(m, "hashwatch_difficulty_projected_retarget_time_seconds", node="n1")
    assert row_value(dom, "next-retarget") == f"{change:+.2f}%"
    date = row_value(dom, "retarget-date")
    assert re.fullmatch(rf"{re.escape(utc(when))}, in \d+\.\d days", date), date
    median = value(m, "hashwatch_fees_next_block_percentile_sat_per_vbyte", node="n1",
                   block="1", percentile="50")
    assert table_rows(dom, "fee-bands")[0][3] == f"{median:.1f}"
    hp = value(m, "hashwatch_hashprice_usd_per_phs_day", node="n1")
    assert row_value(dom, "hashprice-usd").startswith(f"{usd(hp)}/PH/s/day")

    active = re.search(r'<table class="active">.*?</table>', dom, re.S).group(0)
    # a network-wide alert: identified by its network, not by the node that saw it
    assert re.search(r'<tr class="sev-critical firing"><td>firing</td><td>critical</td>'
                     r"<td>difficulty_drop_critical</td><td>-</td>.*?network=main", active)
    recent = re.search(r'<table class="recent">.*?</table>', dom, re.S).group(0)
    last = value(m, "hashwatch_difficulty_last_retarget_change_percent", node="n1")
    assert f"Difficulty dropped {last:.2f}% at the last retarget (n1)" in recent
    # charts drawn from the in-memory history: a line with one point per poll bucket
    assert dom.count('<path class="line"') >= 3
    assert '<rect class="bar"' in dom

    desktop = screenshot(browser, url, tmp_path / "page-desktop.png", 1280, 2000)
    phone = tmp_path / "page-phone.png"
    with devtools(browser) as cdp:  # a phone: 390 CSS px, viewport meta honoured
        dims = phone_screenshot(cdp, url, phone)
    assert dims["inner"] == 390 and dims["scroll"] <= 390, dims  # no sideways scrolling
    assert phone.stat().st_size > 10_000
    print(f"screenshots: {desktop} {phone}")


def test_hostile_node_strings_are_shown_as_text(browser, monkeypatch, sim_factory, tmp_path):
    monkeypatch.setattr(rpc_chain, "WARNING", HOSTILE)
    original = METHODS["getnetworkinfo"]

    def hostile_networkinfo(node):
        return {**original.func(node), "subversion": HOSTILE}

    monkeypatch.setitem(METHODS, "getnetworkinfo",
                        dataclasses.replace(original, func=hostile_networkinfo))
    sim = sim_factory(network="regtest", start_height=101)
    daemon = start_daemon(sim, tmp_path, alerts={"enabled": False})
    try:
        port = daemon.server.port
        wait_for(lambda: 'data-key="warnings"' in get_page(port), what="node row")
        url = f"http://127.0.0.1:{port}/"
        dom = dump_dom(browser, url)
        screenshot(browser, url, tmp_path / "page-hostile.png", 800, 900)
    finally:
        daemon.stop()
    assert row_value(dom, "warnings") == SHOWN
    assert row_value(dom, "version") == f"{SHOWN} (300000)"
    assert "<script" not in dom.lower() and "\x1b" not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;" in dom
