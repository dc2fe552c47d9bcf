"""Fixtures for the reliability suite: captured daemon logs and a secrets check on every output.

Why autouse: passwords, cookies, webhook URLs and SMTP passwords must never reach logs,
metrics, ``status`` output or error messages. Each fault test registers the secrets it
used and every text it saw (scrapes, status output, exception messages); at teardown the
captured log stream and all of those texts are grepped for every secret.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from hashwatch import logs

from ..support.alertkit import make_service


class Outputs:
    """Everything a test saw the daemon print, plus the secrets that must not be in it."""

    def __init__(self, stream: io.StringIO):
        self.stream = stream
        self.texts: list[tuple[str, str]] = []
        self.secrets: set[str] = set()

    def secret(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)

    def add(self, where: str, text: str) -> str:
        self.texts.append((where, text))
        return text

    @property
    def log_text(self) -> str:
        return self.stream.getvalue()

    def log_lines(self, event: str) -> list[str]:
        return [line for line in self.log_text.splitlines() if f"event={event}" in line]

    def leaks(self) -> list[str]:
        found = []
        for where, text in [("logs", self.log_text), *self.texts]:
            for s in self.secrets:
                if s in text:
                    found.append(f"{where} contains secret {s[:4]}...")
        return found


@pytest.fixture(autouse=True)
def outputs() -> Iterator[Outputs]:
    """Install the daemon's own log handler (formatter + scrubber) on a buffer for the test."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    logs.configure("info", "logfmt", stream=stream)
    out = Outputs(stream)
    try:
        yield out
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "_hashwatch", False):
                root.removeHandler(handler)
        root.setLevel(level)
    assert out.leaks() == []


@pytest.fixture
def services():
    """Alert services made by the test (``services(config)``), all closed at teardown."""
    made = []

    def make(config):
        svc = make_service(config)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.close()
