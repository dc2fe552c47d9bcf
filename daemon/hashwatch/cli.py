"""Command line: ``hashwatch run|status|check-config|simulate|backfill|alerts|test-alert``.

Exit codes: 0 ok, 1 runtime failure (node unreachable for ``status``), 2 usage or config error
(one line per problem, no traceback). Every command reports errors in one style, through
:func:`print_problems`: ``hashwatch: config error: file:line: key.path: problem and fix`` for
configuration, ``hashwatch: error: ...`` for everything else, on stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import Config, ConfigError, load_config
from .logs import configure as configure_logging

log = logging.getLogger("hashwatch.cli")

DEFAULT_CONFIG_PATHS = ("hashwatch.yaml", "/etc/hashwatch/hashwatch.yaml")
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def print_problems(
    problems: Iterable[str], *, kind: str = "error", stream: TextIO | None = None
) -> None:
    """The one CLI error style: ``hashwatch: <kind>: <problem>``, one line each, on stderr."""
    out = sys.stderr if stream is None else stream
    for problem in problems:
        for line in str(problem).splitlines() or [""]:
            print(f"hashwatch: {kind}: {line}", file=out)


def _add_config_args(p: argparse.ArgumentParser, simulate: bool = True) -> None:
    p.add_argument(
        "--config",
        "-c",
        type=Path,
        help="config file (default: $HASHWATCH_CONFIG, "
        "./hashwatch.yaml, /etc/hashwatch/hashwatch.yaml)",
    )
    if simulate:
        p.add_argument(
            "--simulate",
            action="store_true",
            help="run against the built-in simulated Bitcoin Core node (no node needed)",
        )
        p.add_argument(
            "--scenario",
            default="demo",
            help="simulator scenario name or YAML file (with --simulate; default: demo)",
        )
        p.add_argument(
            "--speed",
            type=float,
            default=None,
            help="simulated seconds per real second (with --simulate)",
        )
    p.add_argument("--state-dir", type=Path, help="where SQLite state lives (overrides config)")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument("--log-format", choices=["logfmt", "json"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashwatch",
        description="Monitor mining health from your own Bitcoin Core node: difficulty and "
        "hashrate, fee pressure, miner economics; Prometheus metrics and alerts.",
    )
    parser.add_argument("--version", action="version", version=f"hashwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon")
    _add_config_args(run)
    run.add_argument("--metrics-listen", help="address for /metrics (default 127.0.0.1)")
    run.add_argument("--metrics-port", type=int, help="port for /metrics (default 9332)")

    status = sub.add_parser("status", help="poll once and print what hashwatch sees")
    _add_config_args(status)

    check = sub.add_parser("check-config", help="validate the config and rule files, then exit")
    _add_config_args(check, simulate=False)

    backfill = sub.add_parser("backfill", help="fetch and store block headers, with progress")
    _add_config_args(backfill)

    alerts = sub.add_parser("alerts", help="show active alerts and the notification outbox")
    _add_config_args(alerts, simulate=False)

    test_alert = sub.add_parser("test-alert", help="send a test notification to one channel")
    _add_config_args(test_alert, simulate=False)
    test_alert.add_argument("--channel", required=True, help="channel name from alerts.channels")

    from .sim import command as sim_command

    sim_command.add_parser(sub)
    return parser


def _find_config(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return args.config
    env = os.environ.get("HASHWATCH_CONFIG")
    if env:
        return Path(env)
    for candidate in DEFAULT_CONFIG_PATHS:
        if Path(candidate).exists():
            return Path(candidate)
    raise ConfigError(
        [
            "no config file: pass --config FILE (see config/hashwatch.example.yaml), "
            "or try the built-in simulated node with --simulate"
        ]
    )


def _apply_overrides(config: Config, args: argparse.Namespace) -> Config:
    updates: dict = {}
    if getattr(args, "state_dir", None):
        updates["state_dir"] = args.state_dir
    logging_updates = {}
    if getattr(args, "log_level", None):
        logging_updates["level"] = args.log_level
    if getattr(args, "log_format", None):
        logging_updates["format"] = args.log_format
    if logging_updates:
        updates["logging"] = config.logging.model_copy(update=logging_updates)
    metrics_updates = {}
    if getattr(args, "metrics_listen", None):
        metrics_updates["listen"] = args.metrics_listen
    if getattr(args, "metrics_port", None) is not None:
        metrics_updates["port"] = args.metrics_port
    if metrics_updates:
        updates["metrics"] = config.metrics.model_copy(update=metrics_updates)
    return config.model_copy(update=updates) if updates else config


class _Session:
    """The config for a command, plus the embedded simulator when ``--simulate`` is given."""

    def __init__(self, args: argparse.Namespace):
        self.sim = None
        if getattr(args, "simulate", False):
            from .simulate import start_embedded

            self.sim, config = start_embedded(
                scenario=args.scenario,
                speed=args.speed,
                config_path=args.config,
                state_dir=args.state_dir,
            )
        else:
            config = load_config(_find_config(args))
        self.config = _apply_overrides(config, args)

    @property
    def clock(self):
        """Simulated time when simulating (scenarios run faster than real time), else wall time."""
        import time

        return self.sim.clock.now if self.sim is not None else time.time

    def close(self) -> None:
        if self.sim is not None:
            self.sim.stop()


def cmd_run(args: argparse.Namespace) -> int:
    from .daemon import Daemon

    session = _Session(args)
    cfg = session.config
    configure_logging(cfg.logging.level, cfg.logging.format)
    if session.sim is not None:
        log.info("event=simulator_started url=%s scenario=%s", session.sim.rpc_url, args.scenario)
    daemon = Daemon(cfg, clock=session.clock)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("event=signal_received signal=%s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.start()
    if daemon.server is not None:
        print(
            f"hashwatch: metrics at {daemon.server.url}",
            file=sys.stderr,
            flush=True,
        )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        daemon.stop()
        session.close()
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    path = _find_config(args)
    config = load_config(path)
    from .alerts import commands as alerts_cli

    rules = alerts_cli.check_rules(config)
    if config.metrics.web_config_file is not None:
        from .serve.webconfig import load_web_config

        load_web_config(config.metrics.web_config_file)
    print(f"{path}: ok ({len(config.nodes)} node(s), {len(rules)} alert rule(s))")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from .status.report import run_status

    session = _Session(args)
    configure_logging(
        session.config.logging.level if args.log_level else "warning", session.config.logging.format
    )
    try:
        return run_status(session.config, sys.stdout, clock=session.clock)
    finally:
        session.close()


def cmd_backfill(args: argparse.Namespace) -> int:
    from .status.report import run_backfill

    session = _Session(args)
    configure_logging(session.config.logging.level, session.config.logging.format)
    try:
        return run_backfill(session.config, clock=session.clock)
    finally:
        session.close()


def cmd_alerts(args: argparse.Namespace) -> int:
    from .alerts import commands as alerts_cli

    config = _apply_overrides(load_config(_find_config(args)), args)
    return alerts_cli.alerts_command(config, Path(config.state_dir))


def cmd_test_alert(args: argparse.Namespace) -> int:
    from .alerts import commands as alerts_cli

    config = _apply_overrides(load_config(_find_config(args)), args)
    configure_logging(config.logging.level, config.logging.format)
    return alerts_cli.test_alert_command(config, Path(config.state_dir), args.channel)


COMMANDS = {
    "run": cmd_run,
    "status": cmd_status,
    "check-config": cmd_check_config,
    "backfill": cmd_backfill,
    "alerts": cmd_alerts,
    "test-alert": cmd_test_alert,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler: Callable[[argparse.Namespace], int | None] | None = COMMANDS.get(args.command)
    if handler is None and args.command == "simulate":
        from .sim import command as sim_command

        handler = sim_command.run
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except ConfigError as exc:
        print_problems(exc.problems, kind="config error")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
