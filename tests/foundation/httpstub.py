"""A node stand-in that replays Bitcoin Core's *recorded* answers (tests/fixtures/core).

Why not the simulator: these node-client tests replay Core's exact recorded bytes and
protocol faults, one request at a time; the simulator computes its answers. The server is the
shared recording server (tests/support/httpsink.py) with keep-alive like Core's.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from ..support.httpsink import Answer, RecordingServer, Responder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "core"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture_answer(name: str) -> Answer:
    fx = fixture(name)
    body = b"" if fx["response"] is None else json.dumps(fx["response"]).encode()
    headers = {k: v for k, v in fx["headers"].items() if k.lower() != "content-length"}
    return fx["http_status"], headers, body


def node_stub(responder: Responder) -> RecordingServer:
    """Serves ``responder(request_json, request_headers)`` over HTTP/1.1 at ``url`` (".../")."""
    return RecordingServer(responder=responder, path="/", http11=True, content_type=None)


def basic_user(headers: dict[str, str]) -> tuple[str, str] | None:
    auth = headers.get("authorization", "")
    if not auth.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
    return user, password
