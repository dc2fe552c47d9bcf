"""The delivery worker: works the outbox until every notification is delivered or given up.

Why this shape (alertmanager's notify pipeline, made durable): a row is marked ``sending`` in
the database before the send and ``delivered`` after it, both committed. On restart, rows still
``sending`` go back to ``pending`` and are sent again: delivery is at-least-once. The ONLY
duplicate risk is a crash in the short window after the remote accepted a message and before
``delivered`` was committed; webhook receivers get the same ``Idempotency-Key`` header and
e-mails the same ``Message-ID`` in that case. A resolve (or repeat) row is only claimed after its
firing row was delivered, so a resolve never overtakes its firing; if the firing is given up,
the resolve is dropped rather than sent about an alert nobody saw.

Retries: exponential backoff with jitter (half fixed, half random), Slack's ``Retry-After`` on
429 is honoured as given, and errors only the operator can fix (auth, bad_config, 4xx, a
redirect) are held: retried at the longest backoff and at once after a restart, so fixing the
config loses nothing. The budget is ``max_attempts`` or ``max_age_seconds``, whichever ends
first; a retry that would fall past the age budget is not dropped but becomes one last attempt,
at the end of the budget, or when the receiver's ``Retry-After`` allows (honoured, capped at an
hour): a long Retry-After never loses a notification after a single attempt, nor its resolve.

One thread per channel (each claims only its own channel's rows): a receiver that trickles its
answer holds its own channel until the client's total deadline, never another channel's. All
threads share the one outbox, whose transactions keep claims exclusive.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping

from ..config.alerts import DeliveryConfig
from .notify import Notifier, NotifyError
from .store import AlertStore, OutboxRow, StoreError

log = logging.getLogger("hashwatch.alerts.delivery")
Fault = Callable[[str], None]
MAX_RETRY_AFTER_SECONDS = 3600.0
PRUNE_AFTER_SECONDS = 30 * 86_400.0


def backoff(attempt: int, policy: DeliveryConfig, rnd: float) -> float:
    """Delay before retry number ``attempt`` (1 = first retry); ``rnd`` in [0, 1)."""
    base = min(policy.backoff_max_seconds, policy.backoff_initial_seconds * 2 ** (attempt - 1))
    return base / 2 + base / 2 * rnd


def last_chance(now: float, delay: float, budget_end: float, *, honour: bool) -> float | None:
    """When to retry, or None to give up: within the age budget as planned; past it, one last
    attempt (at the budget's end, or as late as a receiver's Retry-After asks); none after the
    attempt made at or after the budget's end."""
    if now + delay <= budget_end:
        return now + delay
    if now >= budget_end:
        return None
    return now + delay if honour else budget_end


# Failures the operator fixes in the config (credentials, URL): held, not dropped.
HELD_REASONS = ("auth", "bad_config", "http_4xx", "redirect")


class DeliveryWorker:
    def __init__(
        self,
        store: AlertStore,
        notifiers: Mapping[str, Notifier],
        policy: DeliveryConfig,
        clock: Callable[[], float] = time.time,
        *,
        rng: Callable[[], float] = random.random,
        fault: Fault | None = None,
    ):
        self.store = store
        self.notifiers = dict(notifiers)
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.fault = fault or (lambda point: None)
        self._stop = threading.Event()
        self._threads: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._prune_lock = threading.Lock()
        self._last_prune = 0.0

    def start(self) -> None:
        if self._threads:
            return
        recovered = self.store.recover_sending()
        if recovered:
            log.info("event=outbox_recovered rows=%d", recovered)
        released = self.store.release_held(self.clock(), HELD_REASONS)
        if released:
            log.info("event=outbox_held_released rows=%d", released)
        self._stop.clear()
        # configured channels, plus any with rows left from an older config (held as bad_config)
        channels = sorted(set(self.notifiers) | set(self.store.outbox_depth()))
        for channel in channels:
            wake = threading.Event()
            thread = threading.Thread(
                target=self._loop, args=(channel, wake), daemon=True,
                name=f"hashwatch-alerts-delivery-{channel}",
            )
            self._threads[channel] = (thread, wake)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        end = time.monotonic() + timeout
        for thread, _ in self._threads.values():
            thread.join(max(0.0, end - time.monotonic()))
        self._threads.clear()

    def wake(self) -> None:
        """New rows were committed: look now instead of at the next due time."""
        for _, event in list(self._threads.values()):
            event.set()

    def _loop(self, channel: str, wake: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once(channel):
                    continue
                due = self.store.next_due(channel)
                wait = 30.0 if due is None else min(30.0, max(0.05, due - self.clock()))
            except StoreError as exc:
                log.error("event=outbox_error channel=%s kind=%s error=%s", channel, exc.kind, exc)
                wait = 5.0
            wake.wait(wait)
            wake.clear()

    def run_once(self, channel: str | None = None) -> int:
        """Send every row due now (one pass) of ``channel``, or of all channels when None;
        returns how many were attempted."""
        now = self.clock()
        with self._prune_lock:
            if now - self._last_prune > 3600:
                self._last_prune = now
                self.store.prune(now - PRUNE_AFTER_SECONDS)
        rows = self.store.claim_due(now, channel=channel)
        for row in rows:
            if self._stop.is_set():
                break
            self._deliver(row)
        return len(rows)

    def _deliver(self, row: OutboxRow) -> None:
        notifier = self.notifiers.get(row.channel)
        try:
            if notifier is None:
                raise NotifyError(
                    "bad_config",
                    f"channel {row.channel!r} is no longer configured",
                    retryable=False,
                )
            notifier.send(row.payload, row.idem_key)
        except NotifyError as exc:
            self._failed(row, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a broken notifier must not kill the worker
            log.exception("event=notify_bug channel=%s", row.channel)
            self._failed(row, NotifyError("connection", type(exc).__name__, retryable=True))
            return
        self.fault("after_send")
        now = self.clock()
        self.store.mark_delivered(row, now)
        log.info(
            "event=notification_sent channel=%s key=%s status=%s attempts=%d",
            row.channel,
            row.idem_key,
            row.payload.get("status"),
            row.attempts + 1,
        )

    def _failed(self, row: OutboxRow, exc: NotifyError) -> None:
        now = self.clock()
        attempt = row.attempts + 1
        retry_at: float | None = None
        if attempt < self.policy.max_attempts:
            if not exc.retryable:
                # A wrong password or webhook URL is fixed by the operator, not by time: hold
                # the message and try again only at the longest backoff (and at once after a
                # restart, see ``start``), so fixing the config loses nothing.
                delay = self.policy.backoff_max_seconds
            elif exc.retry_after is not None:
                delay = min(exc.retry_after, MAX_RETRY_AFTER_SECONDS)
            else:
                delay = backoff(attempt, self.policy, self.rng())
            retry_at = last_chance(now, delay, row.created_at + self.policy.max_age_seconds,
                                   honour=exc.retry_after is not None)
        self.store.mark_failed(row, now, exc.reason, str(exc), retry_at)
        if retry_at is None:
            log.error(
                "event=notification_dropped channel=%s key=%s reason=%s attempts=%d error=%s",
                row.channel,
                row.idem_key,
                exc.reason,
                attempt,
                exc,
            )
        elif not exc.retryable:
            log.error(
                "event=notification_held channel=%s key=%s reason=%s attempts=%d "
                "retry_in=%.0fs error=%s fix=check the channel's settings; held messages are "
                "retried at once after a restart",
                row.channel,
                row.idem_key,
                exc.reason,
                attempt,
                retry_at - now,
                exc,
            )
        else:
            log.warning(
                "event=notification_retry channel=%s key=%s reason=%s attempts=%d "
                "retry_in=%.1fs error=%s",
                row.channel,
                row.idem_key,
                exc.reason,
                attempt,
                retry_at - now,
                exc,
            )
