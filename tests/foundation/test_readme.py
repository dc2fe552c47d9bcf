"""The README's simulator example works as written: `hashwatch simulate` + curl-style query."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.request

from ..support.ports import free_port
from ..support.waiting import wait_for


def test_simulate_command_serves_seed_scenario_to_a_plain_http_client(tmp_path):
    port, datadir = free_port(), tmp_path / "hwsim"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashwatch", "simulate", "--scenario", "seed-2025-11",
         "--port", str(port), "--datadir", str(datadir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        cookie = datadir / ".cookie"

        def query():
            if not cookie.exists():
                return None
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/",
                data=json.dumps({"jsonrpc": "1.0", "id": 1, "method": "getblockchaininfo",
                                 "params": []}).encode(),
                headers={"content-type": "application/json",
                         "Authorization": "Basic "
                         + base64.b64encode(cookie.read_bytes()).decode()},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    return json.loads(resp.read())
            except OSError:
                return None

        answer = wait_for(query, timeout=30, what="the simulator answering getblockchaininfo")
        assert answer["error"] is None
        assert answer["result"]["chain"] == "main"
        assert answer["result"]["blocks"] >= 925_300
        # the seed's retarget at 925,344: 0x1701d936 before it, 0x1701e2a0 (-1.95 %) after
        expected_bits = "1701d936" if answer["result"]["blocks"] < 925_344 else "1701e2a0"
        assert answer["result"]["bits"] == expected_bits
    finally:
        proc.terminate()
        proc.wait(timeout=10)
