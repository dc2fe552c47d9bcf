"""Wiring in one place: config -> node clients -> collector jobs -> scheduler -> registry -> server.

Why here and nowhere else: features stay independent (``features.py`` lists each one's jobs,
renderer and triggers); this module decides what runs, how often, and how failures are contained.
A failing job is logged once per change of error and counted; it never kills the daemon, and
``max_instances=1`` + ``coalesce`` + per-call RPC timeouts keep jobs from piling up behind a hung
node.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import CollectorRegistry

from . import features
from .collect.context import DaemonContext, JobSpec
from .config import Config, NodeConfig
from .config.loader import ConfigError
from .logs import register_secret
from .metrics import SnapshotCollector
from .metrics.selfmetrics import DaemonMetrics
from .node.auth import NodeAuth, cookie_path_for
from .node.rpc import NodeClient
from .safetext import change_key
from .serve.exposition import Exposition, Part
from .serve.page import page_source, refresh_seconds
from .serve.page_data import SERIES, history_samples
from .serve.server import MetricsServer
from .snapshot.history import History
from .snapshot.store import Snapshot, SnapshotStore
from .state.check import StateDirError, check_state_dir  # noqa: I001

log = logging.getLogger("hashwatch.daemon")

STOP_GRACE_SECONDS = 3.0  # SIGTERM must stop the daemon within 5 s


def node_auth(node: NodeConfig) -> NodeAuth:
    """Turn a node's config into credentials (cookie path derived from datadir + network)."""
    if node.password is not None:
        secret = node.password.get_secret_value()
        register_secret(secret)
        return NodeAuth(user=node.user, password=secret)
    if node.cookie_file is not None:
        return NodeAuth(cookie_file=node.cookie_file)
    assert node.datadir is not None
    return NodeAuth(cookie_file=cookie_path_for(node.datadir, node.network))


def build_clients(config: Config, metrics: DaemonMetrics | None) -> dict[str, NodeClient]:
    return {
        node.name: NodeClient(
            node.name,
            node.url,
            node_auth(node),
            timeout=node.timeout_seconds,
            observer=metrics.rpc_observer(node.name) if metrics else None,
            max_answer_bytes=node.rpc_max_answer_bytes,
            idle_seconds=node.rpc_idle_seconds,
        )
        for node in config.nodes
    }


def _load_alert_service(config: Config, state_dir: Path, clock: Callable[[], float]) -> Any:
    """The alert engine and its delivery worker, or None when alerting is switched off."""
    if not config.alerts.enabled:
        return None
    from .alerts.service import AlertService

    return AlertService(config, state_dir, clock=clock)


class Daemon:
    """The running daemon. ``start()`` returns at once; ``stop()`` finishes within seconds."""

    def __init__(
        self,
        config: Config,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
        job_modules: Sequence[str] = features.JOB_NAMES,
        serve_metrics: bool = True,
        alerts: bool = True,
    ):
        self.config = config
        self.clock = clock
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = DaemonMetrics(self.registry)
        self.clients = build_clients(config, self.metrics)
        self.metrics.watch_clients(self.clients)
        self.store = SnapshotStore((n.name for n in config.nodes), clock=clock)
        # The last 24 h of a few series in memory, for the page's charts (snapshot/history.py).
        self.history = History(SERIES, history_samples, config.polling.chain_seconds)
        self.store.add_listener(self.history.on_snapshot)
        self.state_dir = Path(config.state_dir)
        alert_db = config.alerts.db_file or self.state_dir / "alerts.sqlite3"
        try:  # before anything is served: one line, exit 2 (ConfigError in the CLI)
            check_state_dir(self.state_dir, alert_db if alerts and config.alerts.enabled else None)
        except StateDirError as exc:
            raise ConfigError([str(exc)]) from None
        self.ctx = DaemonContext(
            config=config,
            clients=self.clients,
            store=self.store,
            state_dir=self.state_dir,
            clock=clock,
            trigger=self.trigger,
        )
        self.jobs = features.make_jobs(self.ctx, job_modules)
        self._job_errors: dict[str, str] = {}
        # The snapshot renders into its own registry so its text can be cached per version.
        self.snapshot_registry = CollectorRegistry()
        self.snapshot_registry.register(SnapshotCollector(self.store.current))
        self.alerts = _load_alert_service(config, self.state_dir, clock) if alerts else None
        if self.alerts is not None:
            from .alerts.metrics_collector import AlertsCollector

            self.store.add_listener(self._evaluate_alerts)
            self.registry.register(AlertsCollector(self.alerts))
        self._executor = ThreadPoolExecutor(max_workers=max(4, len(self.jobs) + 2))
        self.scheduler = BackgroundScheduler(
            executors={"default": self._executor},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=dt.timezone.utc,
        )
        self.server: MetricsServer | None = None
        if serve_metrics:
            exposition = Exposition(
                [
                    Part(self.snapshot_registry, lambda: self.store.current().version),
                    Part(self.registry),
                ]
            )
            self.server = MetricsServer(
                exposition,
                listen=config.metrics.listen,
                port=config.metrics.port,
                health=lambda: self.scheduler.running,
                page=page_source(self.store, self.history, self.alerts, clock,
                                 refresh_seconds(config.polling.chain_seconds)),
                **_web_options(config),
            )
        self._stopped = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self.server is not None:
            self.server.start()
            log.info(
                "event=metrics_listening address=%s port=%d", self.server.address, self.server.port
            )
        for spec in self.jobs:
            if spec.start is not None:
                spec.start()
        now = dt.datetime.now(dt.timezone.utc)
        for spec in self.jobs:
            self.scheduler.add_job(
                self._wrap(spec),
                "interval",
                seconds=spec.interval,
                jitter=self.config.polling.jitter_seconds or None,
                id=_job_id(spec.name, spec.node),
                name=_job_id(spec.name, spec.node),
                next_run_time=now,
                misfire_grace_time=max(1, int(spec.interval)),
            )
        self.scheduler.start()
        if self.alerts is not None:
            self.alerts.start()
        log.info("event=started nodes=%s jobs=%d", ",".join(self.clients), len(self.jobs))

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        log.info("event=stopping")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        # Unblock jobs waiting on a hung node, then give running jobs a moment to finish before
        # their resources (SQLite files, ZMQ sockets) are closed under them.
        for client in self.clients.values():
            client.close()
        self._wait_for_running_jobs(STOP_GRACE_SECONDS)
        for spec in self.jobs:
            if spec.stop is not None:
                try:
                    spec.stop()
                except Exception:  # noqa: BLE001
                    log.exception("event=job_stop_failed job=%s", spec.name)
        if self.alerts is not None:
            self.alerts.close()
        if self.server is not None:
            self.server.stop()
        log.info("event=stopped")

    def _wait_for_running_jobs(self, timeout: float) -> None:
        """Wait for running jobs, at most ``timeout`` (a job stuck past it is left behind)."""
        waiter = threading.Thread(
            target=self._executor.shutdown, kwargs={"wait": True}, daemon=True
        )
        waiter.start()
        waiter.join(timeout)
        if waiter.is_alive():
            log.warning("event=stop_jobs_still_running grace_seconds=%g", timeout)

    def wait(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    # -- jobs -----------------------------------------------------------------------------------

    def trigger(self, job: str, node: str | None = None) -> None:
        """Run a job now (e.g. on a ZMQ hashblock) instead of waiting for its next tick."""
        if not self.scheduler.running:
            return
        j = self.scheduler.get_job(_job_id(job, node))
        if j is not None:
            j.modify(next_run_time=dt.datetime.now(dt.timezone.utc))

    def run_job_now(self, job: str, node: str | None = None) -> None:
        """Run one job synchronously in the caller's thread (CLI ``status``, tests)."""
        for spec in self.jobs:
            if spec.name == job and spec.node == node:
                self._wrap(spec)()
                return
        raise KeyError(_job_id(job, node))

    def _wrap(self, spec: JobSpec) -> Callable[[], None]:
        node = spec.node or ""
        key = _job_id(spec.name, spec.node)

        def run() -> None:
            started = time.perf_counter()
            self.metrics.job_runs.labels(node, spec.name).inc()
            try:
                spec.run()
            except Exception as exc:  # noqa: BLE001 - a failing job never kills the daemon
                self.metrics.job_failures.labels(node, spec.name).inc()
                if getattr(exc, "kind", None) == "protocol" and spec.node:
                    self._drop_untrusted_section(spec)
                text = change_key(f"{type(exc).__name__}: {exc}")  # counts vary, errors don't
                if self._stopped.is_set():
                    log.debug("event=job_interrupted_by_stop job=%s node=%s", spec.name, node)
                elif self._job_errors.get(key) != text:
                    self._job_errors[key] = text
                    kind = getattr(exc, "kind", type(exc).__name__)
                    log.warning(
                        "event=job_failed job=%s node=%s kind=%s error=%r",
                        spec.name,
                        node,
                        kind,
                        str(exc),
                    )
                    if not hasattr(exc, "kind"):
                        log.debug("event=job_traceback job=%s", spec.name, exc_info=True)
            else:
                self.metrics.last_success.labels(node, spec.name).set(self.clock())
                for follower in features.follow_ups(spec.name):
                    for target in [spec.node] if spec.node else list(self.clients):
                        self.trigger(follower, target)
                if self._job_errors.pop(key, None) is not None:
                    log.info("event=job_recovered job=%s node=%s", spec.name, node)
            finally:
                self.metrics.job_duration.labels(node, spec.name).observe(
                    time.perf_counter() - started
                )

        return run

    def _drop_untrusted_section(self, spec: JobSpec) -> None:
        """A job whose node answered something impossible (kind=protocol) must not leave its
        last section exported as if it were live: the section goes until an answer is sane."""
        for feature in features.FEATURES:
            if feature.job == spec.name and feature.section not in (None, "status", "price"):
                assert spec.node is not None and feature.section is not None
                self.store.set_section(spec.node, feature.section, None)  # type: ignore[call-overload]
                log.warning("event=section_dropped job=%s node=%s section=%s reason=protocol",
                            spec.name, spec.node, feature.section)

    def _evaluate_alerts(self, snapshot: Snapshot) -> None:
        assert self.alerts is not None  # registered only when alerting is on
        try:
            self.alerts.evaluate(snapshot)
        except Exception:  # noqa: BLE001 - alerting trouble must not stop collection
            log.exception("event=alert_evaluation_failed")


def _job_id(name: str, node: str | None) -> str:
    return f"{name}:{node}" if node else name


def _web_options(config: Config) -> dict[str, Any]:
    """Basic auth / TLS options for the metrics server from ``metrics.web_config_file``."""
    if config.metrics.web_config_file is None:
        return {}
    from .serve.webconfig import load_web_config

    return load_web_config(config.metrics.web_config_file).server_options()
