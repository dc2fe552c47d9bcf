"""Credentials for Core's RPC: user/password, or the cookie file Core writes at start-up.

Why a class: the cookie changes every time bitcoind restarts, so the client must be able to
re-read it after a 401 without restarting the daemon. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import NodeAuthError, NodeUnavailable

# Where Core puts the cookie below its datadir, per network (mainnet: no subfolder).
NETWORK_SUBDIRS = {
    "main": "",
    "mainnet": "",
    "test": "testnet3",
    "testnet": "testnet3",
    "testnet3": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}


def cookie_path_for(datadir: Path, network: str) -> Path:
    """The ``.cookie`` path Core uses for ``datadir`` and ``network``."""
    sub = NETWORK_SUBDIRS[network]
    return (datadir / sub / ".cookie") if sub else (datadir / ".cookie")


@dataclass
class NodeAuth:
    """Either ``user``+``password`` or a ``cookie_file``; ``credentials()`` gives the pair."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cookie_file: Path | None = None

    def credentials(self) -> tuple[str, str]:
        """The current user and password; reads the cookie file each call (it is tiny)."""
        if self.cookie_file is None:
            if self.user is None or self.password is None:
                raise NodeAuthError("no RPC credentials configured")
            return self.user, self.password
        try:
            text = self.cookie_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise NodeUnavailable(
                f"cookie file {self.cookie_file} not found (is bitcoind running?)"
            ) from None
        except PermissionError:
            raise NodeAuthError(
                f"cookie file {self.cookie_file} is not readable by this user"
            ) from None
        user, sep, password = text.partition(":")
        if not sep or not password:
            raise NodeAuthError(f"cookie file {self.cookie_file} is not in user:password form")
        return user, password

    @property
    def uses_cookie(self) -> bool:
        return self.cookie_file is not None
