"""AlertService: the one object the daemon and the CLI use; wires rules, engine, store, delivery.

Why the order inside :meth:`evaluate`: plan (pure) -> commit state changes, their outbox rows
and history in ONE transaction -> only then update the engine's memory and wake the worker. If
the commit fails (disk full, read-only, locked), the engine stays as before, so the next
snapshot produces the same transition again: nothing is lost and nothing is half-written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client.metrics_core import Metric

from ..config import Config
from ..snapshot.store import Snapshot
from ..state.sqlite import db_path
from .delivery import DeliveryWorker, Fault
from .engine import AlertState, Engine, Transition, flatten
from .listing import describe
from .metrics_collector import alert_metrics
from .notify import Notifier, build_notifier
from .notify.log import LogNotifier
from .resend import Resender
from .routing import route
from .rules import Rule, load_rules
from .store import AlertStore, NewMessage, StoreError
from .windows import History

log = logging.getLogger("hashwatch.alerts")


def build_payload(
    t: Transition, threshold: float | None, grafana_url: str | None
) -> dict[str, Any]:
    """The plain dict stored in the outbox and handed to every notifier."""
    s = t.state
    return {
        "status": "resolved" if t.kind == "resolved" else "firing",
        "transition": t.kind,
        "rule": s.rule,
        "node": s.node,
        "severity": t.severity,
        "labels": dict(t.labels),
        "summary": t.summary,
        "description": t.description,
        "value": s.value,
        "observed": s.observed,
        "reference": s.reference,
        "threshold": threshold,
        "starts_at": s.firing_since,
        "ends_at": s.resolved_at if t.kind == "resolved" else None,
        "fingerprint": s.fingerprint,
        "instance": s.instance,
        "grafana_url": grafana_url,
    }


class AlertService:
    def __init__(
        self,
        config: Config,
        state_dir: Path,
        clock: Callable[[], float] = time.time,
        *,
        fault: Fault | None = None,
        rng: Callable[[], float] | None = None,
        resend_clock: Callable[[], float] | None = None,
    ):
        """Raises ``ConfigError`` for bad rule files and ``StoreError`` if the DB cannot open."""
        self.config = config.alerts
        self._grafana = self.config.grafana_url
        self.clock = clock
        self._fault = fault or (lambda point: None)
        self._lock = threading.Lock()
        self.notifiers: dict[str, Notifier] = {"log": LogNotifier("log")}
        for ch in self.config.channels:
            self.notifiers[ch.name] = build_notifier(ch)
        self.channel_types = {name: n.type for name, n in self.notifiers.items()}
        self.rules: list[Rule] = load_rules(
            self.config.rule_files,
            use_defaults=self.config.use_default_rules,
            channels=self.notifiers,
        )
        self.rules_by_name = {r.name: r for r in self.rules}
        self.node_names = [n.name for n in config.nodes]
        self.store = AlertStore(self.config.db_file or db_path(state_dir, "alerts"))
        history = History(self.config.history_resolution_seconds, Engine.retention(self.rules))
        for key, buckets in self.store.load_history().items():
            if history.wants(key[1]):
                history.load(key, buckets)
        self.engine = Engine(
            self.rules, history, self.store.load_states(), site=self.config.site
        )
        self.resender = Resender(
            self.notifiers,
            self.store,
            self.engine,
            lambda t: build_payload(t, self.rules_by_name[t.state.rule].threshold, self._grafana),
            resend_clock or time.time,
        )
        generator = self.config.external_url or (
            f"http://{config.metrics.listen}:{config.metrics.port}/"
        )
        for name, n in self.notifiers.items():
            if n.type == "alertmanager":
                n.generator_url = generator  # type: ignore[attr-defined]
                n.wanted = lambda p, ch=name: self.resender.wanted(ch, p)  # type: ignore[attr-defined]
        self._unsaved_buckets: list = []
        self.store_errors: Counter[str] = Counter()
        extra = {"rng": rng} if rng is not None else {}
        self.worker = DeliveryWorker(
            self.store, self.notifiers, self.config.delivery, clock, fault=fault, **extra
        )

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the delivery worker (re-queues rows a crash left in ``sending``)."""
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()

    def close(self) -> None:
        self.stop()
        self.store.close()

    # --- evaluation ----------------------------------------------------------------------------
    def evaluate(self, snapshot: Snapshot) -> int:
        """Evaluate every rule against ``snapshot``; returns the number of transitions committed.

        Thread-safe (one evaluation at a time); call after every snapshot update
        (``store.add_listener(service.evaluate)``). Never raises for store problems: they are
        logged and counted, and the same transitions are produced again next time.
        """
        with self._lock:
            now = self.clock()
            networks = {
                name: n.status.chain for name, n in snapshot.nodes.items() if n.status is not None
            }
            plan = self.engine.plan(flatten(snapshot), now, networks)
            buckets = self._unsaved_buckets + plan.buckets
            try:
                states = {**self.engine.states, **plan.states}.values()
                resends = self.resender.messages(states, self.resender.clock())
            except StoreError:
                resends = []  # retried at the next evaluation; a firing is never held up by it
            if not plan.persist and not plan.transitions and not buckets and not resends:
                self.engine.commit(plan)
                return 0
            try:
                messages = [m for t in plan.transitions for m in self._messages(t, now)]
                messages += resends
                cutoffs = {key: self.engine.history.cutoff(key, now) for key, _ in plan.buckets}
                self.store.commit_evaluation(plan.persist, messages, buckets, cutoffs, now)
            except StoreError as exc:
                self.store_errors[exc.kind] += 1
                self._unsaved_buckets = buckets[-10_000:]
                log.error(
                    "event=alert_store_error kind=%s transitions=%d error=%s",
                    exc.kind,
                    len(plan.transitions),
                    exc,
                )
                return 0
            self._unsaved_buckets = []
            self.engine.commit(plan)
            self.resender.committed(resends, self.resender.clock())
            for t in plan.transitions:
                log.info(
                    "event=alert_%s rule=%s node=%s fingerprint=%s instance=%d value=%s",
                    t.kind,
                    t.state.rule,
                    t.state.node or "-",
                    t.state.fingerprint,
                    t.state.instance,
                    t.state.value,
                )
        if plan.transitions:
            self._fault("after_commit")
        if plan.transitions or resends:
            self.worker.wake()
        return len(plan.transitions)

    def _messages(self, t: Transition, now: float) -> list[NewMessage]:
        s = t.state
        rule = self.rules_by_name[s.rule]
        base = f"{s.fingerprint}/{s.instance}"
        payload = build_payload(t, rule.threshold, self.config.grafana_url)
        if t.kind == "firing":
            channels = route(
                t.labels,
                t.severity,
                rule.channels,
                self.config.routes,
                [c.name for c in self.config.channels],
            )
            return [
                NewMessage(
                    f"{base}/firing/{ch}", ch, s.fingerprint, s.instance, "firing", payload, None
                )
                for ch in channels
            ]
        # resolves and repeats go where the firing went, and only after it was delivered
        name = "resolved" if t.kind == "resolved" else f"repeat-{int(now)}"
        return [
            NewMessage(f"{base}/{name}/{ch}", ch, s.fingerprint, s.instance, name, payload, key)
            for ch, key in self.store.firing_channels(s.fingerprint, s.instance).items()
        ]

    # --- CLI helpers ---------------------------------------------------------------------------
    def test_alert(self, channel: str) -> str:
        """Send a test notification through ``channel`` now (not via the outbox).

        Raises ``KeyError`` for an unknown channel and ``NotifyError`` if sending fails.
        """
        if channel not in self.notifiers:
            raise KeyError(
                f"unknown channel {channel!r}; known: {', '.join(sorted(self.notifiers))}"
            )
        now = self.clock()
        payload = {
            "status": "firing",
            "transition": "firing",
            "rule": "hashwatch_test",
            "node": "",
            "severity": "info",
            "labels": {"alertname": "hashwatch_test", "severity": "info"},
            "summary": f"Test notification from hashwatch to channel {channel}",
            "description": "If you can read this, the channel works.",
            "value": None,
            "observed": None,
            "reference": None,
            "threshold": None,
            "starts_at": now,
            "ends_at": None,
            "fingerprint": "test",
            "instance": 0,
            "grafana_url": self.config.grafana_url,
            "test": True,
        }
        self.notifiers[channel].send(payload, f"test/{int(now)}/{channel}")
        return f"sent a test notification to {self.channel_types[channel]} channel {channel!r}"

    def active(self) -> list[AlertState]:
        with self._lock:
            return sorted(
                (s for s in self.engine.states.values() if s.state in ("pending", "firing")),
                key=lambda s: (s.rule, s.node, s.labels),
            )

    def describe(self) -> str:
        return describe(self)

    def metrics(self) -> Iterator[Metric]:
        return alert_metrics(self)
