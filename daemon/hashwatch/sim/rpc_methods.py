"""JSON-RPC method table, Core-style parameter checking and response encoding.

Methods register themselves (rpc_chain.py, rpc_node.py) with their argument specs so that
wrong types, too many params and named params fail exactly the way Core fails: -3 "Wrong
type passed" with the per-position message, -1 with the help text, -8 unknown named param.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Core's error codes (src/rpc/protocol.h)
RPC_MISC_ERROR = -1
RPC_TYPE_ERROR = -3
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_INVALID_PARAMETER = -8
RPC_IN_WARMUP = -28
RPC_WALLET_NOT_FOUND = -18
RPC_INVALID_REQUEST = -32600
RPC_METHOD_NOT_FOUND = -32601
RPC_PARSE_ERROR = -32700


class RPCError(Exception):
    """An error object Core would return: {"code": code, "message": message}."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message}


class Amount:
    """A satoshi amount that serializes as a JSON number with 8 decimals, like Core's
    ValueFromAmount (also used for fee rates in BTC/kvB)."""

    __slots__ = ("sats",)

    def __init__(self, sats: int | float) -> None:
        self.sats = int(round(sats))

    def __repr__(self) -> str:
        sign = "-" if self.sats < 0 else ""
        q, r = divmod(abs(self.sats), 100_000_000)
        return f"{sign}{q}.{r:08d}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Amount) and other.sats == self.sats


class Real:
    """A double printed like UniValue does (16 significant digits: 1.0 -> 1)."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __repr__(self) -> str:
        return format(self.value, ".16g")


_MARK_OPEN, _MARK_CLOSE = "@@amt:", ":amt@@"


def _default(obj: Any) -> Any:
    if isinstance(obj, (Amount, Real)):
        return f"{_MARK_OPEN}{obj!r}{_MARK_CLOSE}"
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def encode(obj: Any) -> bytes:
    """json.dumps once, then turn amount markers into bare 8-decimal numbers."""
    text = json.dumps(obj, default=_default, ensure_ascii=False, separators=(",", ":"))
    if _MARK_OPEN in text:
        text = text.replace('"' + _MARK_OPEN, "").replace(_MARK_CLOSE + '"', "")
    return text.encode("utf-8")


# ----- argument specs ------------------------------------------------------------------
@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # number | string | bool | array | object | any
    required: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Method:
    name: str
    func: Callable[..., Any]
    args: tuple[Arg, ...]
    summary: str
    category: str


METHODS: dict[str, Method] = {}


def rpc(category: str, summary: str, *args: Arg):
    """Register fn(node, *params) as an RPC named like the function."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        METHODS[fn.__name__] = Method(fn.__name__, fn, tuple(args), summary, category)
        return fn

    return wrap


def json_type(value: Any) -> str:
    """UniValue's type name for a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def help_text(m: Method) -> str:
    """Our own short help page (same shape as Core's: usage line, arguments, examples)."""
    usage = " ".join([m.name] + [a.name if a.required else f"( {a.name} )" for a in m.args])
    lines = [usage, "", m.summary]
    if m.args:
        lines += ["", "Arguments:"]
        lines += [f"{i}. {a.name}    ({a.type}, {'required' if a.required else 'optional'})"
                  f" {a.doc}".rstrip() for i, a in enumerate(m.args, 1)]
    lines += ["", "Examples:", f"> bitcoin-cli {m.name} ",
              "> curl --user myusername --data-binary '{\"jsonrpc\": \"2.0\", \"id\": "
              f"\"curltest\", \"method\": \"{m.name}\", \"params\": []}}' -H "
              "'content-type: application/json' http://127.0.0.1:8332/", ""]
    return "\n".join(lines)


def _positional(m: Method, params: Any) -> list[Any]:
    if params is None:
        return []
    if isinstance(params, list):
        return params
    if isinstance(params, dict):
        names = [a.name for a in m.args]
        for key in params:
            if key not in names:
                raise RPCError(RPC_INVALID_PARAMETER, f"Unknown named parameter {key}")
        out = [params.get(n) for n in names]
        while out and out[-1] is None:
            out.pop()
        return out
    raise RPCError(RPC_INVALID_REQUEST, "Params must be an array or object")


def check_params(m: Method, params: Any) -> list[Any]:
    values = _positional(m, params)
    required = sum(1 for a in m.args if a.required)
    if len(values) > len(m.args) or len(values) < required or any(
            values[i] is None for i, a in enumerate(m.args[:len(values)]) if a.required):
        raise RPCError(RPC_MISC_ERROR, help_text(m))
    errors = {}
    for i, (arg, val) in enumerate(zip(m.args, values, strict=False), 1):
        if val is None or arg.type == "any":
            continue
        got = json_type(val)
        if got != arg.type:
            errors[f"Position {i} ({arg.name})"] = (
                f"JSON value of type {got} is not of expected type {arg.type}")
    if errors:
        raise RPCError(RPC_TYPE_ERROR, "Wrong type passed:\n" + json.dumps(errors, indent=4))
    return values


def dispatch(node: Any, method: str, params: Any) -> Any:
    """Run one call under the node's lock; raises RPCError like Core would answer."""
    m = METHODS.get(method)
    if m is None:
        raise RPCError(RPC_METHOD_NOT_FOUND, "Method not found")
    values = check_params(m, params)
    with node.lock:
        return m.func(node, *values)


def parse_hash(value: Any, name: str = "hash") -> str:
    """ParseHashV: 64 hex characters, with Core's error messages."""
    if not isinstance(value, str):
        raise RPCError(RPC_TYPE_ERROR,
                       f"JSON value of type {json_type(value)} is not of expected type string")
    if len(value) != 64:
        raise RPCError(RPC_INVALID_PARAMETER,
                       f"{name} must be of length 64 (not {len(value)}, for '{value}')")
    try:
        int(value, 16)
    except ValueError:
        raise RPCError(RPC_INVALID_PARAMETER,
                       f"{name} must be hexadecimal string (not '{value}')") from None
    return value.lower()


def as_int(value: Any, default: int) -> int:
    return default if value is None else int(value)


@rpc("control", "List all commands, or get help for a specified command.",
     Arg("command", "string"))
def help(node: Any, command: str | None = None) -> str:  # noqa: A001 - Core's RPC name
    if command:
        m = METHODS.get(command)
        return help_text(m) if m else f"help: unknown command: {command}"
    out = []
    for cat in sorted({m.category for m in METHODS.values()}):
        out.append(f"== {cat.capitalize()} ==")
        out += [help_text(m).splitlines()[0] for m in sorted(METHODS.values(),
                                                               key=lambda m: m.name)
                if m.category == cat]
        out.append("")
    return "\n".join(out).rstrip("\n")
