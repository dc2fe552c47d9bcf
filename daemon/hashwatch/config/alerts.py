"""Config keys of the alerts feature: channels, routes, delivery, where the rules come from.

Why here and not in the rules file: channels hold secrets (webhook URLs, SMTP passwords) and
belong to the operator's main config with its ``*_file``/``${ENV}`` handling; rules are shared,
reviewed files (``rule_files``) merged over the packaged defaults by ``hashwatch.alerts.rules``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from .secrets import SecretFileModel, StrictModel
from .urls import check_url_port

Severity = Literal["info", "warning", "critical"]
ChannelName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


def _check_http_url(url: str) -> None:
    """Validate without echoing the URL: webhook URLs are secrets (the path is the token)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http(s) URL (value not shown: it is a secret)")
    check_url_port(url)


class SlackChannel(SecretFileModel):
    """Slack incoming webhook (``webhook_url`` or ``webhook_url_file``)."""

    secret_fields = ("webhook_url",)

    name: ChannelName
    type: Literal["slack"]
    webhook_url: SecretStr
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, v: SecretStr) -> SecretStr:
        _check_http_url(v.get_secret_value())
        return v


class EmailChannel(SecretFileModel):
    """SMTP with STARTTLS (port 587), implicit TLS (``ssl``, port 465) or none (local relay)."""

    secret_fields = ("password",)

    name: ChannelName
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[hashwatch]"
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # For tests and private CAs: verify the server certificate against this CA bundle.
    ca_file: Path | None = None

    @model_validator(mode="after")
    def _auth(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password (or password_file), or neither")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class WebhookChannel(SecretFileModel):
    """Generic receiver of Alertmanager's webhook JSON (version 4)."""

    secret_fields = ("url", "bearer_token")

    name: ChannelName
    type: Literal["webhook"]
    url: SecretStr
    bearer_token: SecretStr | None = None
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, v: SecretStr) -> SecretStr:
        _check_http_url(v.get_secret_value())
        return v


class BasicAuth(SecretFileModel):
    """HTTP basic auth for Alertmanager (``password`` or ``password_file``), as in Prometheus."""

    secret_fields = ("password",)

    username: str = Field(min_length=1)
    password: SecretStr


class TLSOptions(StrictModel):
    """Prometheus' ``tls_config``: private CA, client certificate, expected server name."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _pair(self) -> TLSOptions:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("set both cert_file and key_file for a client certificate, or neither")
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, key)
            if path is not None and not Path(path).expanduser().is_file():
                raise ValueError(f"{key}: file {path} not found")
        return self


class AlertmanagerChannel(SecretFileModel):
    """Alertmanager API v2: every alert goes to EVERY URL (the members of one HA cluster), is
    re-sent every ``resend_delay`` while it fires with ``endsAt`` = now + ``resend_delay`` x
    ``ends_at_resends`` (Alertmanager resolves it by itself if hashwatch stops), and routing,
    grouping, silences and inhibition are Alertmanager's. Like Prometheus' ``alertmanagers:``."""

    secret_fields = ("bearer_token",)

    name: ChannelName
    type: Literal["alertmanager"]
    urls: list[str] = Field(min_length=1, max_length=16)  # http(s)://host:port[/path_prefix]
    basic_auth: BasicAuth | None = None
    bearer_token: SecretStr | None = None
    tls: TLSOptions = TLSOptions()
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    resend_delay: Annotated[float, Field(ge=1, le=3600)] = 60.0
    ends_at_resends: int = Field(default=4, ge=2, le=100)

    @field_validator("resend_delay", mode="before")
    @classmethod
    def _dur(cls, v: object) -> object:
        if isinstance(v, str) and (m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", v)):
            return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        return v

    @field_validator("urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            parts = urlsplit(url)
            if parts.username or parts.password or parts.query or parts.fragment:
                raise ValueError("put credentials in basic_auth / bearer_token_file, not the URL")
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"expected http(s)://host:port of an Alertmanager (got {parts.scheme}://"
                    f"{parts.hostname or ''})"
                )
        if len(set(v)) != len(v):
            raise ValueError("an Alertmanager is listed twice")
        return v

    @model_validator(mode="after")
    def _auth(self) -> AlertmanagerChannel:
        if self.basic_auth is not None and self.bearer_token is not None:
            raise ValueError("set basic_auth or bearer_token (or bearer_token_file), not both")
        return self


class LogChannel(StrictModel):
    """Writes each notification as one log line (always available as ``log``)."""

    name: ChannelName
    type: Literal["log"]


ChannelConfig = Annotated[
    SlackChannel | EmailChannel | WebhookChannel | AlertmanagerChannel | LogChannel,
    Field(discriminator="type"),
]


class RouteConfig(StrictModel):
    """Send alerts matching ``severity`` (any of) and every ``match`` label to ``channels``.

    Routes are tried in order; all matching routes contribute channels unless one says
    ``continue: false``, which stops the search after it (Alertmanager's habit).
    """

    severity: list[Severity] | None = None
    match: dict[str, str] = Field(default_factory=dict)
    channels: list[ChannelName] = Field(min_length=1)
    continue_: bool = Field(default=True, alias="continue")


class DeliveryConfig(StrictModel):
    """Outbox retry policy: exponential backoff with jitter, give up by attempts or age."""

    max_attempts: int = Field(default=20, ge=1, le=1000)
    max_age_seconds: float = Field(default=86_400.0, gt=0)
    backoff_initial_seconds: float = Field(default=5.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=900.0, gt=0, le=86_400)


class AlertsConfig(StrictModel):
    """The ``alerts:`` section of ``hashwatch.yaml``."""

    enabled: bool = True
    use_default_rules: bool = True
    rule_files: list[Path] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    grafana_url: str | None = None
    # Fleets: the site this daemon watches; added as a ``site`` label to node alerts.
    site: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"
    )
    # Where people reach this daemon (``generatorURL`` of Alertmanager alerts), like Prometheus'
    # --web.external-url; default http://<metrics.listen>:<metrics.port>/.
    external_url: str | None = None
    # SQLite file for alert state, outbox and history; default <state_dir>/alerts.sqlite3.
    db_file: Path | None = None
    # Resolution of the history kept for change/baseline/new-low rules.
    history_resolution_seconds: float = Field(default=300.0, ge=1, le=86_400)
    delivery: DeliveryConfig = DeliveryConfig()

    @field_validator("grafana_url", "external_url")
    @classmethod
    def _grafana(cls, v: str | None) -> str | None:
        if v is not None:
            _check_http_url(v)
        return v

    @model_validator(mode="after")
    def _names(self) -> AlertsConfig:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate channel name(s) {', '.join(dupes)}; names must be unique")
        known = set(names) | {"log"}
        for i, route in enumerate(self.routes):
            for ch in route.channels:
                if ch not in known:
                    raise ValueError(
                        f"routes[{i}] names channel {ch!r}, which is not defined under "
                        f"alerts.channels (known: {', '.join(sorted(known))})"
                    )
        return self
