"""Re-sends of firing alerts to Alertmanager channels, planned as outbox rows.

Why re-send at all: Alertmanager forgets an alert at its ``endsAt``. Prometheus keeps an alert
alive by re-sending it every ``resend_delay`` with ``endsAt`` a few periods ahead, so when the
sender dies the alert ends by itself instead of firing forever; a member of the cluster that
was down also gets it again. hashwatch does the same, through the outbox so a re-send is retried
like any message: one row per (alert instance, channel, period), keyed ``.../refresh-<period>/``
so replays and restarts add nothing twice. A re-send waits for its firing row to be delivered
(``depends_on``), and the notifier asks :meth:`Resender.wanted` before sending, so a late retry
never re-opens an alert that resolved meanwhile.

Periods are wall-clock time (``clock``), not the engine's clock: ``endsAt`` is compared with
Alertmanager's own clock, so the cadence that keeps it in the future must be on the same one.
After a restart the first evaluation re-sends every firing alert (nothing says when it was last
sent); a new alert's first period is covered by its firing message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .engine import Engine, Transition
from .records import NewMessage
from .state import AlertState
from .store import AlertStore

PayloadOf = Callable[[Transition], dict[str, Any]]


class Resender:
    def __init__(
        self,
        notifiers: Mapping[str, Any],
        store: AlertStore,
        engine: Engine,
        payload_of: PayloadOf,
        clock: Callable[[], float] = time.time,
    ):
        self.delays = {
            name: float(n.resend_delay)
            for name, n in notifiers.items()
            if getattr(n, "type", "") == "alertmanager"
        }
        self.store = store
        self.engine = engine
        self.payload_of = payload_of
        self.clock = clock
        self._done: dict[tuple[str, int, str], int] = {}  # (fp, instance, channel) -> period

    def messages(self, states: Iterable[AlertState], now: float) -> list[NewMessage]:
        """Rows for every firing alert whose current period has no re-send yet."""
        if not self.delays:
            return []
        out: list[NewMessage] = []
        for s in states:
            if s.state != "firing":
                continue
            firing: dict[str, str] | None = None
            for ch, delay in self.delays.items():
                period = int(now // delay)
                key = (s.fingerprint, s.instance, ch)
                if self._done.get(key) == period:
                    continue
                if firing is None:
                    firing = self.store.firing_channels(s.fingerprint, s.instance)
                if ch not in firing:
                    # not routed here, or the firing row is being committed right now (it is
                    # this period's message): look again next period
                    self._done[key] = period
                    continue
                payload = self.payload_of(self.engine.transition(s, "repeat"))
                payload.update(transition="refresh", refresh_at=now)
                out.append(
                    NewMessage(
                        f"{s.fingerprint}/{s.instance}/refresh-{period}/{ch}",
                        ch,
                        s.fingerprint,
                        s.instance,
                        "refresh",
                        payload,
                        firing[ch],
                    )
                )
        return out

    def committed(self, messages: Iterable[NewMessage], now: float) -> None:
        for m in messages:
            self._done[(m.fingerprint, m.instance, m.channel)] = int(now // self.delays[m.channel])
        live = {(fp, s.instance) for fp, s in self.engine.states.items() if s.state == "firing"}
        for key in [k for k in self._done if (k[0], k[1]) not in live]:
            del self._done[key]

    def wanted(self, channel: str, payload: Mapping[str, Any]) -> bool:
        """Still firing, same instance, and no newer period has started since this row."""
        s = self.engine.states.get(str(payload.get("fingerprint")))
        if s is None or s.state != "firing" or s.instance != payload.get("instance"):
            return False
        delay = self.delays.get(channel, 0.0)
        return self.clock() - float(payload.get("refresh_at") or 0.0) < 2 * delay
