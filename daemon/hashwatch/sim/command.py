"""`hashwatch simulate`: run a simulated Bitcoin Core node until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

DEFAULT_PORT = 18443  # regtest's RPC port: obviously not a mainnet node


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "simulate", help="run a simulated Bitcoin Core node (JSON-RPC + ZMQ)",
        description="Serve a simulated Bitcoin Core over HTTP JSON-RPC (cookie auth) and ZMQ, "
                    "playing a scenario on a fast clock.")
    p.add_argument("--scenario", default="demo",
                   help="built-in scenario name (demo, seed-2025-11, hashrate-drop, regtest) "
                        "or a YAML file")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="RPC port (0 = any free)")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (loopback)")
    p.add_argument("--speed", type=float, default=None,
                   help="simulated seconds per real second (default: the scenario's)")
    p.add_argument("--datadir", type=Path, default=None,
                   help="where .cookie is written (default: a temporary directory)")
    p.add_argument("--rpc-user", default=None, help="optional user besides cookie auth")
    p.add_argument("--rpc-password", default=None, help="password for --rpc-user")
    p.add_argument("--zmq-port", type=int, default=None,
                   help="ZMQ PUB port for hashblock/sequence (default: any free port)")
    p.add_argument("--rpcservertimeout", type=float, default=30.0,
                   help="close keep-alive RPC connections idle this many seconds, like Core's "
                        "-rpcservertimeout (default 30; 0 = never)")
    p.add_argument("--no-zmq", action="store_true", help="do not publish ZMQ notifications")
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Start the node, print how to reach it, serve until a signal (or `stop` is set)."""
    from ..cli import print_problems
    from .node import SimNode
    from .scenario import ScenarioError

    if (args.rpc_user is None) != (args.rpc_password is None):
        print_problems(["--rpc-user and --rpc-password go together"])
        return 2
    try:
        node = SimNode(scenario=args.scenario, speed=args.speed, datadir=args.datadir,
                       rpc_user=args.rpc_user, rpc_password=args.rpc_password,
                       zmq=not args.no_zmq, zmq_port=args.zmq_port, bind=args.bind,
                       port=args.port,
                       rpc_idle_timeout=getattr(args, "rpcservertimeout", 30.0) or None)
    except ScenarioError as exc:
        print_problems([str(exc)])
        return 2
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        node.start()
        node.run_scenario(background=True)
        scenario = node.scenario.name if node.scenario is not None else "none"
        print(f"hashwatch simulator: scenario '{scenario}', chain {node.network}, "
              f"height {node.chain.height}, speed {node.speed}x", flush=True)
        print(f"RPC URL:  {node.rpc_url}")
        print(f"cookie:   {node.cookie_path}")
        if node.zmq_url:
            print(f"ZMQ:      {node.zmq_url} (hashblock, sequence)")
        print(f"try:      curl --user \"$(cat {node.cookie_path})\" --data-binary "
              "'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getblockchaininfo\",\"params\":[]}' "
              f"-H 'content-type: application/json' {node.rpc_url}", flush=True)
        stop.wait()
    finally:
        node.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
