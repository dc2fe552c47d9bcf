"""Text from the node, a receiver or the price source cannot forge log fields or drive a terminal.

Each class of hostile value (field forging with spaces and ``=``, quotes, newlines, C0 escape
sequences, the C1 CSI, bidi overrides, very long text) goes through the daemon's own log
handler in both formats, and through ``hashwatch status`` rendering. A line is checked by
parsing it back: exactly the fields the code wrote, and no raw control character anywhere.
"""

from __future__ import annotations

import io
import json
import logging
import re
import unicodedata
from types import MappingProxyType

import pytest

from hashwatch import logs
from hashwatch.safetext import cap_label, safe_text
from hashwatch.snapshot.store import NodeSnapshot, Snapshot
from hashwatch.status.report import render_status

from ..support.alertkit import status

HOSTILE = {
    "forge": 'x level=error event=admin_login user=root',
    "quote": 'a" event="forged',
    "backslash": 'a\\" event=forged',
    "newline": "ok\nts=2026 level=error event=forged",
    "ansi": "\x1b[2J\x1b[31mRED\x1b]0;title\x07",
    "c1_csi": "\x9b2J\x9b31m",
    "bidi": "\u202egnp.exe",
    "nul": "a\x00b",
    "separator": "a\u2028b\u2029c",
}
_LOGFMT = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def _raw_controls(text: str) -> list[str]:
    return [hex(ord(c)) for c in text if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]


def _emit(fmt: str, value: str) -> str:
    stream = io.StringIO()
    logs.configure("info", fmt, stream=stream)
    try:
        logging.getLogger("hashwatch.collect.chain").warning(
            "event=node_poll_failed node=%s kind=%s error=%s retry_in=%.1f", "n1", "rpc", value,
            2.5,
        )
        logging.getLogger("hashwatch.collect.price").warning(
            "event=price_fetch_failed reason=%s detail=%r", "bad_json", value
        )
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_hashwatch", False):
                logging.getLogger().removeHandler(handler)
        logs.configure("info", "logfmt", stream=io.StringIO())
    return stream.getvalue()


@pytest.mark.parametrize("case", HOSTILE)
def test_logfmt_hostile_value_stays_one_field_without_controls(case):
    out = _emit("logfmt", HOSTILE[case])
    lines = out.splitlines()
    assert len(lines) == 2
    assert _raw_controls(out) == []
    first = dict(_LOGFMT.findall(lines[0]))
    keys = [k for k, _ in _LOGFMT.findall(lines[0])]
    assert keys == ["ts", "level", "logger", "event", "node", "kind", "error", "retry_in"]
    assert first["event"] == "node_poll_failed" and first["level"] == "warning"
    assert json.loads(first["error"]) == HOSTILE[case] or first["error"] == HOSTILE[case]
    assert [k for k, _ in _LOGFMT.findall(lines[1])][3:] == ["event", "reason", "detail"]


@pytest.mark.parametrize("case", HOSTILE)
def test_json_hostile_value_round_trips_and_forges_nothing(case):
    out = _emit("json", HOSTILE[case])
    assert _raw_controls(out) == []
    first, second = (json.loads(line) for line in out.splitlines())
    assert set(first) == {"ts", "level", "logger", "event", "node", "kind", "error", "retry_in"}
    assert first["error"] == HOSTILE[case]
    assert first["event"] == "node_poll_failed" and first["level"] == "warning"
    assert set(second) == {"ts", "level", "logger", "event", "reason", "detail"}


def test_numbers_keep_their_format_and_plain_tokens_stay_bare():
    out = _emit("logfmt", "plain-token")
    assert "error=plain-token retry_in=2.5" in out


def _status_text(value: str) -> str:
    up = NodeSnapshot(node="n1", up=True, status=status(1_764_000_000.0), status_time=1.0,
                      sections=MappingProxyType({}))
    object.__setattr__(up.status, "subversion", value)
    object.__setattr__(up.status, "warnings", value)
    down = NodeSnapshot(node="n2", up=False, last_error_kind="rpc", last_error=value)
    return render_status(Snapshot(nodes=MappingProxyType({"n1": up, "n2": down}),
                                  taken_at=1_764_000_100.0), 1_764_000_100.0)


@pytest.mark.parametrize("case", HOSTILE)
def test_status_output_escapes_node_text(case):
    text = _status_text(HOSTILE[case])
    assert _raw_controls(text) == []
    # a newline or separator inside a value never starts a row of its own
    assert len(text.splitlines()) == len(_status_text("benign").splitlines())


def test_safe_text_caps_length_and_cap_label_keeps_distinct_values_distinct():
    assert len(safe_text("x" * 5000)) == 200
    a, b = cap_label("p" * 300 + "a"), cap_label("p" * 300 + "b")
    assert len(a) == len(b) == 128 and a != b
    assert cap_label("short") == "short"


def test_change_key_treats_errors_differing_only_in_counts_as_one():
    from hashwatch.safetext import change_key

    a = change_key("IncompleteRead: IncompleteRead(1234 bytes read, 99 more expected)")
    b = change_key("IncompleteRead: IncompleteRead(1240 bytes read, 93 more expected)")
    assert a == b
    assert change_key("timeout") != change_key("refused")


def test_gauge_label_values_from_outside_are_capped_and_distinct():
    from prometheus_client import CollectorRegistry, generate_latest

    from hashwatch.metrics import gauge

    family = gauge("probe_ratio", "A probe.", ("node", "pool"))
    family.add_metric(["n1", "pool-" + "x" * 10_000], 0.5)
    family.add_metric(["n1", "pool-" + "x" * 9_999 + "y"], 0.25)

    class C:
        def collect(self):
            yield family

    registry = CollectorRegistry()
    registry.register(C())
    lines = [ln for ln in generate_latest(registry).decode().splitlines()
             if ln.startswith("hashwatch_probe_ratio{")]
    assert len(lines) == 2 and all(len(ln) < 200 for ln in lines)
