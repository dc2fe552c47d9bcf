"""The daemon's configuration schema (pydantic), one model per section.

Feature sections live in their own modules (``difficulty``, ``fees``, ``economics``, ``pools``,
``alerts``) so each feature owns its keys; this module assembles the root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from .alerts import AlertsConfig
from .difficulty import DifficultyConfig
from .economics import EconomicsConfig
from .fees import FeesConfig
from .pools import PoolsConfig
from .secrets import SecretFileModel, StrictModel
from .urls import check_endpoint_port, check_url_port

Network = Literal["main", "test", "testnet3", "testnet4", "signet", "regtest"]


class NodeConfig(SecretFileModel):
    """One Bitcoin Core node: where it listens and how to authenticate."""

    secret_fields = ("password",)

    name: str
    url: str = "http://127.0.0.1:8332/"
    user: str | None = None
    password: SecretStr | None = None
    cookie_file: Path | None = None
    datadir: Path | None = None
    network: Network = "main"
    # A total deadline per call: connect + send + the whole answer (not per read).
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Answers past this size are refused (kind=protocol) without being read whole; 64 MiB covers
    # the largest call hashwatch makes on mainnet (docs/rpc-calls.md).
    rpc_max_answer_bytes: int = Field(default=64 * 1024 * 1024, ge=1_000_000, le=1 << 30)
    # A keep-alive connection idle longer than this is replaced before use; keep it below the
    # node's -rpcservertimeout (30 s). 0: rely on the resend-once when the node closed it.
    rpc_idle_seconds: float = Field(default=20.0, ge=0, le=3600)
    zmq_sequence: str | None = None
    zmq_hashblock: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v):
            raise ValueError(
                f"node names are 1-64 letters, digits, '_', '.' or '-' (they become the `node` "
                f"label); got {v!r}"
            )
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected a URL like http://127.0.0.1:8332/")
        if parts.username or parts.password:
            raise ValueError("put credentials in user/password(_file) or cookie_file, not the URL")
        check_url_port(v)
        return v

    @field_validator("zmq_sequence", "zmq_hashblock")
    @classmethod
    def _zmq(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("tcp://", "ipc://")):
            raise ValueError("expected a ZMQ endpoint like tcp://127.0.0.1:28332")
        if v is not None:
            check_endpoint_port(v)
        return v

    @model_validator(mode="after")
    def _one_auth(self) -> NodeConfig:
        ways = sum(
            [self.password is not None, self.cookie_file is not None, self.datadir is not None]
        )
        if ways == 0:
            raise ValueError(
                "no credentials: set user + password (or password_file), cookie_file, or datadir"
            )
        if ways > 1:
            raise ValueError("set only one of password, cookie_file or datadir")
        if self.password is not None and not self.user:
            raise ValueError("password given without user")
        return self


class PollingConfig(StrictModel):
    """How often each collector job runs, in seconds."""

    chain_seconds: float = Field(default=15.0, gt=0, le=3600)
    mempool_seconds: float = Field(default=10.0, gt=0, le=3600)
    headers_seconds: float = Field(default=30.0, gt=0, le=3600)
    blocks_seconds: float = Field(default=30.0, gt=0, le=3600)
    price_seconds: float = Field(default=60.0, gt=0, le=86400)
    jitter_seconds: float = Field(default=1.0, ge=0, le=60)


class MetricsConfig(StrictModel):
    """Where ``/metrics`` is served. Loopback by default: exposing it is a deliberate choice."""

    listen: str = "127.0.0.1"
    port: int = Field(default=9332, ge=0, le=65535)
    web_config_file: Path | None = None


class LoggingConfig(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["logfmt", "json"] = "logfmt"


class Config(StrictModel):
    """The root of ``hashwatch.yaml``."""

    nodes: list[NodeConfig]
    polling: PollingConfig = PollingConfig()
    metrics: MetricsConfig = MetricsConfig()
    logging: LoggingConfig = LoggingConfig()
    state_dir: Path = Path("./state")
    difficulty: DifficultyConfig = DifficultyConfig()
    fees: FeesConfig = FeesConfig()
    economics: EconomicsConfig = EconomicsConfig()
    pools: PoolsConfig = PoolsConfig()
    alerts: AlertsConfig = AlertsConfig()

    @field_validator("nodes")
    @classmethod
    def _unique_names(cls, nodes: list[NodeConfig]) -> list[NodeConfig]:
        if not nodes:
            raise ValueError("at least one node is required (a list item with name and url)")
        seen: set[str] = set()
        for node in nodes:
            if node.name in seen:
                raise ValueError(f"duplicate node name {node.name!r}; names must be unique")
            seen.add(node.name)
        return nodes
