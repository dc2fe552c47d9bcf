"""Structured logging: one line per event, ``logfmt`` or JSON, with secrets scrubbed.

Modules log ``"event=name key=%s ..."`` messages; this formatter adds time, level and logger
and, for JSON, splits the pairs into fields. A filter replaces every registered secret (RPC
password, cookie, webhook URL, SMTP password) with ``***`` as a last line of defence.

Values come from outside (a node's error text, a receiver's answer, a price source), so they
must not forge fields or drive a terminal: every ``%s`` argument of an ``event=`` message that
is not a number is written as a logfmt value (quoted and escaped when it holds a space, ``=``,
a quote or a control character; see :func:`hashwatch.safetext.logfmt_value`), and whatever
control characters remain in the finished line (from f-strings, tracebacks) are escaped.
"""

from __future__ import annotations

import json
import logging
import numbers
import re
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from .safetext import escape_controls, json_controls, logfmt_value

_PAIR_RE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|\S+)')
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never let ``value`` reach a log line (ignored when short enough to be a common word)."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def scrub(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


class _Field:
    """An argument rendered as one logfmt value, whatever it contains."""

    __slots__ = ("value",)

    def __init__(self, value: object):
        self.value = value

    def __str__(self) -> str:
        # scrubbed before quoting: an escaped secret would no longer match the scrubber
        return logfmt_value(scrub(str(self.value)))

    def __repr__(self) -> str:
        # ``%r`` of a string: the same logfmt value (double quotes, which logfmt parsers read)
        text = self.value if isinstance(self.value, str) else repr(self.value)
        return logfmt_value(scrub(text))


def _field(value: object) -> object:
    return value if isinstance(value, numbers.Number) else _Field(value)


def _safe_args(record: logging.LogRecord) -> None:
    if not isinstance(record.msg, str) or not record.msg.startswith("event=") or not record.args:
        return
    if isinstance(record.args, Mapping):
        record.args = {k: _field(v) for k, v in record.args.items()}
    else:
        record.args = tuple(_field(v) for v in record.args)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _safe_args(record)
        message = record.getMessage()
        if record.exc_info:
            message += " " + logging.Formatter().formatException(record.exc_info).replace(
                "\n", " | "
            )
            record.exc_info = None
            record.exc_text = None
        record.msg = scrub(message)
        record.args = ()
        return True


def _ts(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{stamp}.{int(record.msecs):03d}Z"


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\n", " | ")
        if not msg.startswith("event="):
            msg = f"msg={json.dumps(msg)}"
        msg = escape_controls(msg)
        return f"ts={_ts(record)} level={record.levelname.lower()} logger={record.name} {msg}"


def _unquote(value: str) -> str:
    if value[:1] == '"' and value[-1:] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value[1:-1]
    if value[:1] == "'" and value[-1:] == "'":
        return value[1:-1]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage().replace("\n", " | ")
        out: dict[str, object] = {
            "ts": _ts(record),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if msg.startswith("event="):
            for key, value in _PAIR_RE.findall(msg):
                out.setdefault(key, _unquote(value))
        else:
            out["msg"] = msg
        return json_controls(json.dumps(out, ensure_ascii=False))


def configure(level: str = "info", fmt: str = "logfmt", stream: TextIO | None = None) -> None:
    """Install one handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_hashwatch", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._hashwatch = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    handler.addFilter(_ScrubFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # APScheduler reports skipped runs at WARNING on every tick; we count them instead.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("BitcoinRPC").setLevel(logging.WARNING)
