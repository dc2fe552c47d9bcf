"""Config keys of the alerts feature: channels, routes, delivery, where the rules come from.

Why here and not in the rules file: channels hold secrets (webhook URLs, SMTP passwords) and
belong to the operator's main config with its ``*_file``/``${ENV}`` handling; rules are shared,
reviewed files (``rule_files``) merged over the packaged defaults by ``hashwatch.alerts.rules``.
"""

from __future__ import annotations

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


class LogChannel(StrictModel):
    """Writes each notification as one log line (always available as ``log``)."""

    name: ChannelName
    type: Literal["log"]


ChannelConfig = Annotated[
    SlackChannel | EmailChannel | WebhookChannel | LogChannel, Field(discriminator="type")
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
    # SQLite file for alert state, outbox and history; default <state_dir>/alerts.sqlite3.
    db_file: Path | None = None
    # Resolution of the history kept for change/baseline/new-low rules.
    history_resolution_seconds: float = Field(default=300.0, ge=1, le=86_400)
    delivery: DeliveryConfig = DeliveryConfig()

    @field_validator("grafana_url")
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
