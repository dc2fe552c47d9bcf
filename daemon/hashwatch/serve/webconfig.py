"""Basic auth and TLS for ``/metrics`` from a web config file (Prometheus exporter-toolkit format).

Why this format: operators already write it for node_exporter and friends, and Prometheus'
``scrape_config`` (``basic_auth``, ``tls_config``) pairs with it. The subset hashwatch honours::

    tls_server_config:
      cert_file: server.crt          # relative paths are relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
      client_ca_file: clients-ca.crt
      min_version: TLS12             # TLS10 ... TLS13
      max_version: TLS13
    basic_auth_users:
      prometheus: $2b$10$...         # bcrypt hash, never a plain password

Design choices:
- every problem is a ``ConfigError`` line ``file:line: key.path: message`` naming the fix, and the
  certificate and key are loaded at start-up so a bad pair fails ``hashwatch run`` at once;
- an empty file is an error (exporter-toolkit treats it as "no protection"; silently serving
  unprotected metrics because a file was truncated is the wrong failure);
- bcrypt hashes are checked for shape here but never echoed (a typed plain password must not
  reach the log).

What serves requests lives next door, one job each: :mod:`.auth` (basic auth, bcrypt) and
:mod:`.tls` (the SSL context, certificate reloading, lazy handshakes).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from ..config.describe import describe
from ..config.loader import ConfigError, LineMap, format_loc, load_yaml
from ..config.secrets import StrictModel
from .auth import BasicAuth
from .tls import TLS_VERSIONS, TLSFiles, tls_wrapper

__all__ = [
    "ClientAuth", "TLSServerConfig", "TLSVersion", "WebConfig", "WebConfigModel", "load_web_config",
]

TLSVersion = Literal["TLS10", "TLS11", "TLS12", "TLS13"]
ClientAuth = Literal["NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"]
# exporter-toolkit options this small server cannot honour: refused by name, never ignored.
_UNSUPPORTED = {
    "http_server_config", "rate_limit", "cert", "key", "client_ca", "cipher_suites",
    "curve_preferences", "prefer_server_cipher_suites", "client_allowed_sans",
}
_NO_VERIFY_TYPES = ("RequestClientCert", "RequireAnyClientCert")
_BCRYPT_RE = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
_HASH_HOWTO = (
    "python3 -c 'import bcrypt,getpass; "
    "print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt()).decode())'"
)
_NOT_A_HASH = f"not a bcrypt hash (value not shown); create one with: {_HASH_HOWTO}"


class TLSServerConfig(StrictModel):
    cert_file: Path
    key_file: Path
    client_auth_type: ClientAuth = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: TLSVersion = "TLS12"
    max_version: TLSVersion | None = None


class WebConfigModel(StrictModel):
    tls_server_config: TLSServerConfig | None = None
    basic_auth_users: dict[str, str] = Field(default_factory=dict)


# -- loading and validation --------------------------------------------------------------------


def _special(err: Mapping[str, Any]) -> str | None:
    """What only a web config says: unsupported exporter-toolkit keys, client auth types that
    skip verification, and bcrypt hashes (never echoed: a plain password may have been typed)."""
    loc = tuple(err["loc"])
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if key in _UNSUPPORTED:
            return "not supported by hashwatch's metrics server; remove it"
        if len(loc) > 1 and loc[0] == "tls_server_config":
            return ("unknown key; tls_server_config takes cert_file, key_file, client_auth_type, "
                    "client_ca_file, min_version, max_version")
        return None
    if kind == "literal_error" and loc[-1] == "client_auth_type" and err.get("input") in (
        _NO_VERIFY_TYPES
    ):
        return (f"{err['input']} is not supported (it accepts unverified certificates); use "
                "VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file")
    if loc[:1] == ("basic_auth_users",) and kind != "missing":
        if len(loc) == 2:
            return _NOT_A_HASH
        return "expected a mapping of user name to bcrypt hash, like prometheus: $2b$10$..."
    return None


def _describe(err: Mapping[str, Any]) -> str:
    return describe(err, special=_special, unknown_key=(
        "a web config file takes tls_server_config and basic_auth_users (Prometheus "
        "exporter-toolkit format)"))


def _problem(lines: LineMap, loc: tuple[Any, ...], message: str) -> str:
    return f"{lines.where(loc)}: {format_loc(loc)}: {message}"


def _resolve(base: Path, p: Path) -> Path:
    p = p.expanduser()
    return p if p.is_absolute() else base / p


def _check_users(users: Mapping[str, str], lines: LineMap) -> list[str]:
    out = []
    for user, hashed in users.items():
        loc = ("basic_auth_users", user)
        if not user or ":" in user:
            out.append(_problem(lines, loc, "user names must be non-empty and contain no ':'"))
        elif not _BCRYPT_RE.match(hashed):
            # never echo the value: it may be a plain password typed by mistake
            out.append(_problem(lines, loc, _NOT_A_HASH))
    return out


def _check_tls(
    tls: TLSServerConfig, base: Path, lines: LineMap
) -> tuple[TLSFiles | None, list[str]]:
    out: list[str] = []
    at = ("tls_server_config",)
    files = TLSFiles(
        cert=_resolve(base, tls.cert_file), key=_resolve(base, tls.key_file),
        ca=_resolve(base, tls.client_ca_file) if tls.client_ca_file else None,
        client_auth=tls.client_auth_type, min_version=tls.min_version,
        max_version=tls.max_version,
    )
    for key, path in (("cert_file", files.cert), ("key_file", files.key),
                      ("client_ca_file", files.ca)):
        if path is not None and not path.is_file():
            out.append(_problem(lines, at + (key,), f"file {path} not found (relative "
                                "paths start at the web config file's folder)"))
    if tls.client_auth_type != "NoClientCert" and files.ca is None:
        out.append(_problem(lines, at + ("client_auth_type",),
                            f"{tls.client_auth_type} needs client_ca_file (the CA that signs "
                            "client certificates)"))
    if tls.client_auth_type == "NoClientCert" and files.ca is not None:
        out.append(_problem(lines, at + ("client_ca_file",),
                            "client_ca_file is set but client_auth_type is NoClientCert; set "
                            "client_auth_type: RequireAndVerifyClientCert or remove "
                            "client_ca_file"))
    if tls.max_version and TLS_VERSIONS[tls.max_version] < TLS_VERSIONS[tls.min_version]:
        out.append(_problem(lines, at + ("max_version",),
                            f"max_version {tls.max_version} is below min_version "
                            f"{tls.min_version}"))
    if out:
        return None, out
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        probe.load_cert_chain(str(files.cert), str(files.key))
    except (ssl.SSLError, OSError):
        return None, [_problem(lines, at + ("cert_file",),
                               "cannot load the certificate and key; check that both are PEM "
                               "and that key_file belongs to cert_file")]
    if files.ca is not None:
        try:
            probe.load_verify_locations(cafile=str(files.ca))
        except (ssl.SSLError, OSError):
            return None, [_problem(lines, at + ("client_ca_file",),
                                   "cannot load the CA certificates; expected PEM certificates")]
    return files, []


def load_web_config(path: str | Path) -> WebConfig:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem."""
    path = Path(path)
    if not path.exists():  # anything else (a FIFO, a directory) is load_yaml's to refuse
        raise ConfigError([f"{path}: web config file not found; create it or fix "
                           "metrics.web_config_file"])
    data, lines = load_yaml(path, what="web config")
    if data is None:
        raise ConfigError([f"{path}: web config file is empty; add tls_server_config and/or "
                           "basic_auth_users, or remove metrics.web_config_file"])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the top level must be a mapping "
                           "(tls_server_config:, basic_auth_users:)"])
    try:
        model = WebConfigModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_problem(lines, tuple(e["loc"]), _describe(e))
                           for e in exc.errors(include_url=False)]) from None
    problems = _check_users(model.basic_auth_users, lines)
    tls_files = None
    if model.tls_server_config is not None:
        tls_files, tls_problems = _check_tls(model.tls_server_config, path.parent, lines)
        problems += tls_problems
    if problems:
        raise ConfigError(problems)
    return WebConfig(users=dict(model.basic_auth_users), tls=tls_files)


# -- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebConfig:
    users: dict[str, str]
    tls: TLSFiles | None

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~hashwatch.metrics_server.MetricsServer`."""
        out: dict[str, Any] = {}
        if self.users:
            out["authorize"] = BasicAuth(self.users).authorize
        if self.tls is not None:
            out["wrap_socket"] = tls_wrapper(self.tls)
        return out

    def describe(self) -> str:
        """One line for the start-up log (no secrets: user names and file paths only)."""
        tls = f"tls={self.tls.min_version}+" if self.tls else "tls=off"
        if self.tls and self.tls.client_auth != "NoClientCert":
            tls += f" client_auth={self.tls.client_auth}"
        return f"{tls} basic_auth_users={len(self.users)}"
