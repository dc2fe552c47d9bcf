"""A minimal Chrome DevTools Protocol client (stdlib only) for layout checks in headless chromium.

Why: ``--dump-dom`` shows what the browser parsed but not how it laid it out; "readable on a
phone" is a layout question (does the page scroll sideways at 390 CSS px with the viewport meta
honoured?). Only what the tests need: a WebSocket text-frame client (RFC 6455, client frames
masked), ``call(method, **params)``, and a context manager that starts chromium with
``--remote-debugging-port=0`` on a fresh profile and stops it by its process id.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .pagekit import CHROMIUM_FLAGS


class CDP:
    def __init__(self, ws_url: str, timeout: float = 30.0):
        u = urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("devtools closed the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))
        self._buf = head.split(b"\r\n\r\n", 1)[1]
        self._id = 0

    def close(self) -> None:
        self.sock.close()

    def _read(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("devtools closed the connection")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _send(self, text: str) -> None:
        payload = text.encode()
        n = len(payload)
        if n < 126:
            head = bytes([0x81, 0x80 | n])
        elif n < 65536:
            head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict[str, Any]:
        data = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            data += self._read(n)
            if b0 & 0x80:  # FIN
                return json.loads(data)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self._send(json.dumps({"id": self._id, "method": method, "params": params}))
        for _ in range(10_000):  # events may come first; bounded
            msg = self._message()
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
        raise TimeoutError(f"no answer to {method}")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@contextmanager
def devtools(binary: str, timeout: float = 30.0) -> Iterator[CDP]:
    """Headless chromium with DevTools on a free loopback port; yields its page's client."""
    with tempfile.TemporaryDirectory(prefix="hashwatch-cdp-") as profile:
        proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client: CDP | None = None
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.exists() and port_file.read_text().strip()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chromium did not open its DevTools port")
                time.sleep(0.05)  # polling a file chromium writes; the deadline decides
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            client = CDP(pages[0]["webSocketDebuggerUrl"], timeout)
            yield client
        finally:
            if client is not None:
                client.close()
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def load(cdp: CDP, url: str, timeout: float = 30.0) -> None:
    cdp.call("Page.enable")
    cdp.call("Page.navigate", url=url)
    deadline = time.monotonic() + timeout
    while cdp.evaluate("document.readyState + '|' + location.href") != f"complete|{url}":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not load")
        time.sleep(0.05)  # polling the page's state; the deadline decides


def phone_screenshot(cdp: CDP, url: str, path: Path, width: int = 390) -> dict[str, int]:
    """Emulate a phone (viewport meta honoured), load ``url``, save a full-page PNG.

    Returns the page's ``scrollWidth`` and ``innerWidth`` (equal when nothing overflows).
    """
    cdp.call("Emulation.setDeviceMetricsOverride", width=width, height=844,
             deviceScaleFactor=2, mobile=True)
    load(cdp, url)
    sizes = cdp.evaluate("JSON.stringify({scroll: document.documentElement.scrollWidth, "
                         "inner: window.innerWidth, "
                         "height: document.documentElement.scrollHeight})")
    dims = json.loads(sizes)
    shot = cdp.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                    clip={"x": 0, "y": 0, "width": width, "height": dims["height"], "scale": 1})
    path.write_bytes(base64.b64decode(shot["data"]))
    return dims
