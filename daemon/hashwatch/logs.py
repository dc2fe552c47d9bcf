"""Structured logging: one line per event, ``logfmt`` or JSON, with secrets scrubbed.

Modules log ``"event=name key=value ..."`` messages; this formatter adds time, level and logger
and, for JSON, splits the pairs into fields. A filter replaces every registered secret (RPC
password, cookie, webhook URL, SMTP password) with ``***`` as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import TextIO

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


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
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
        return f"ts={_ts(record)} level={record.levelname.lower()} logger={record.name} {msg}"


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
                if value[:1] in "\"'" and value[-1:] == value[:1]:
                    value = value[1:-1]
                out.setdefault(key, value)
        else:
            out["msg"] = msg
        return json.dumps(out, ensure_ascii=False)


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
