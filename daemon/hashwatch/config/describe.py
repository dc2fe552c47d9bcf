"""One describer for pydantic errors in every file hashwatch reads (config, rules, web config).

Why one: three copies had drifted (one kept the ``Value error,`` prefix, one never showed the
offending value, one showed it for every kind). Every file now says the same things the same
way; a file type supplies only what is its own: the hint for an unknown key and, optionally,
special wording for some of its keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Special = Callable[[Mapping[str, Any]], "str | None"]
_PREFIXES = ("Value error, ", "Assertion failed, ")
_SHOWS_INPUT = ("literal_error", "enum")


def describe(err: Mapping[str, Any], *, unknown_key: str, special: Special | None = None) -> str:
    """The message part of ``file:line: key.path: message`` for one pydantic error.

    ``unknown_key`` ends "unknown key; ..." (where to look up the right keys). The offending
    value is shown for type, parsing and choice errors, never for collections (too long) and
    never by validators, which decide themselves (secrets must not be echoed).
    """
    if special is not None:
        said = special(err)
        if said is not None:
            return said
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        return f"unknown key; {unknown_key}"
    if kind == "missing":
        return "required key is missing"
    msg = str(err.get("msg", ""))
    for prefix in _PREFIXES:
        msg = msg.removeprefix(prefix)
    inp = err.get("input")
    if kind == "path_type":
        return f"expected a file or directory path (got {inp!r})"
    if kind.endswith(("_type", "_parsing")) or kind in _SHOWS_INPUT:
        if not isinstance(inp, (dict, list)):
            return f"{msg} (got {inp!r})"
    return msg
