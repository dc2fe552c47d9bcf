"""Text from outside (node answers, receivers, the price source, files) made safe to show.

Why one module: the same few rules protect three outputs. A value must not forge log fields
(``x level=error event=fake``), must not carry terminal control sequences (ESC, CSI, BEL, bidi
overrides) into a log viewer or ``hashwatch status``, and must not grow a metric label without
bound. Pure functions, no I/O: used by :mod:`hashwatch.logs`, status rendering and metrics.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

MAX_TEXT = 200
MAX_LABEL = 128


def _is_control(ch: str) -> bool:
    # Cc: C0/C1 controls incl. ESC and CSI; Cf: format characters incl. bidi overrides (U+202E)
    return unicodedata.category(ch) in ("Cc", "Cf")


def escape_controls(text: str) -> str:
    """Every control or format character as a visible ``\\xNN``/``\\uNNNN`` escape."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if _is_control(ch) or ch in "\u2028\u2029":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """One display line: controls escaped, at most ``limit`` characters (``…`` marks a cut)."""
    text = escape_controls(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def logfmt_value(value: object) -> str:
    """A logfmt value: bare when it is a plain token, else a JSON-style quoted string.

    Quoting covers spaces, ``=``, quotes and backslashes, so a value can never end its field
    and start another; controls are escaped inside the quotes.
    """
    text = str(value)
    if text and all(c.isprintable() and c not in ' ="\\\'' for c in text):
        return text
    return json_controls(json.dumps(text, ensure_ascii=False))


def json_controls(encoded: str) -> str:
    """JSON text with the controls ``json.dumps(ensure_ascii=False)`` leaves raw (C1, bidi and
    other format characters, line separators) escaped as ``\\uXXXX``: still valid JSON."""
    if encoded.isprintable():
        return encoded
    return "".join(
        json.dumps(ch)[1:-1] if _is_control(ch) or ch in "\u2028\u2029" else ch for ch in encoded
    )


def cap_label(value: str, limit: int = MAX_LABEL) -> str:
    """A label value of at most ``limit`` characters; a long one keeps a hash of the rest, so
    two long values that share a prefix stay two series."""
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{value[: limit - 11]}~{digest}"


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def change_key(text: str) -> str:
    """What "the same error again" means for log-once-per-change: the text with every number
    replaced, so ``IncompleteRead(1234 bytes read)`` and ``(1240 bytes read)`` are one error."""
    return _NUMBER.sub("#", text)[:500]
