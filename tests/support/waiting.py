"""Wait on a condition with a deadline: the only way tests synchronise with threads and processes.

Why a poll and not a sleep: a fixed sleep is either too short on a busy CI box (flaky) or too
long everywhere else; polling returns as soon as the condition holds and the deadline decides
failure.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, poll: float = 0.02,
               alive: Callable[[], None] | None = None) -> bool:
    """Poll ``predicate`` until truthy or ``timeout``; returns its last truth value.

    For tests that assert on the outcome themselves (``assert wait_until(...)``) or expect
    a condition *not* to become true within the deadline. ``alive`` as for :func:`wait_for`.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        if predicate():
            return True
        pause.wait(poll)
    return bool(predicate())


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 20.0,
    what: str = "condition",
    *,
    poll: float = 0.05,
    ignore: tuple[type[BaseException], ...] = (),
    alive: Callable[[], None] | None = None,
) -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail naming ``what``.

    ``ignore``: exceptions that mean "not yet" (a server still starting); the last one is shown
    in the failure. ``alive``: called before each poll, raises when a watched process died, so
    the test fails at once instead of at the deadline.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    last_error: BaseException | None = None
    pause = threading.Event()
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            last = predicate()
        except ignore as exc:
            last_error = exc
        else:
            if last:
                return last  # type: ignore[return-value]
        pause.wait(poll)
    detail = f"last: {last!r}" + (f", last error: {last_error!r}" if last_error else "")
    raise AssertionError(f"timed out after {timeout}s waiting for {what} ({detail})")
