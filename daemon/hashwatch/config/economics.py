"""Config keys of the economics feature: the BTC price source and the operator's cost scenarios.

Why here: the economics feature owns its keys (see docs/config-economics.yaml for a commented
example). Validation errors say which key is wrong and how to fix it; scenario names become a
metric label, so they are short and label-safe.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from .secrets import StrictModel
from .urls import check_url_port

_FIELD_PATH = r"^[^.\s]+(\.[^.\s]+)*$"


class PriceConfig(StrictModel):
    """Where the BTC/USD price comes from: a fixed value or an HTTP JSON endpoint.

    ``min_usd``/``max_usd`` bound what a source may claim: a quote outside is refused (logged,
    USD series absent) so a broken or hostile source cannot fake a margin. ``timestamp_field``
    names the source's own quote time (seconds, milliseconds or ISO 8601): staleness is then
    measured from it, not from when hashwatch happened to fetch.
    """

    static_usd: float | None = Field(default=None, gt=0, le=100_000_000)
    url: str | None = None
    field: str | None = Field(default=None, pattern=_FIELD_PATH, max_length=200)
    timestamp_field: str | None = Field(default=None, pattern=_FIELD_PATH, max_length=200)
    min_usd: float = Field(default=100.0, gt=0)
    max_usd: float = Field(default=10_000_000.0, gt=0, le=1e12)
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_age_seconds: float = Field(default=900.0, gt=0, le=7 * 86400)
    user_agent: str = Field(default="hashwatch (+https://github.com/hashwatch)", min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected a URL like https://api.example.com/price")
        check_url_port(v)
        return v

    @model_validator(mode="after")
    def _one_source(self) -> PriceConfig:
        if (self.static_usd is None) == (self.url is None):
            raise ValueError("set exactly one of static_usd or url")
        if self.url is not None and not self.field:
            raise ValueError(
                "url needs field: the dotted path to the price in the JSON answer, "
                "e.g. bitcoin.usd or data.0.price"
            )
        if self.static_usd is not None and (self.field or self.timestamp_field):
            raise ValueError(
                "field and timestamp_field only apply to url; remove them, or use url, not "
                "static_usd"
            )
        if self.min_usd >= self.max_usd:
            raise ValueError(f"min_usd {self.min_usd:g} must be below max_usd {self.max_usd:g}")
        if self.static_usd is not None and not self.min_usd <= self.static_usd <= self.max_usd:
            raise ValueError(
                f"static_usd {self.static_usd:g} is outside min_usd..max_usd "
                f"({self.min_usd:g}..{self.max_usd:g}); fix the price or widen the range"
            )
        return self


class ScenarioConfig(StrictModel):
    """One named cost profile. Ratios are fractions: 0.25 means 25 %."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    efficiency_j_per_th: float = Field(gt=0, le=10_000)
    power_price_usd_per_kwh: float = Field(ge=0, le=10)
    power_tariff_ratio: float = Field(default=0.0, ge=0, le=10)
    hardware_usd_per_th: float = Field(default=0.0, ge=0, le=100_000)
    hardware_tariff_ratio: float = Field(default=0.0, ge=0, le=10)
    hardware_amortisation_days: float = Field(default=1095.0, gt=0, le=36_500)
    curtailment_ratio: float = Field(default=0.0, ge=0, lt=1)
    pool_fee_ratio: float = Field(default=0.0, ge=0, lt=1)
    other_opex_usd_per_phs_day: float = Field(default=0.0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _hardware(self) -> ScenarioConfig:
        if self.hardware_tariff_ratio > 0 and self.hardware_usd_per_th == 0:
            raise ValueError(
                "hardware_tariff_ratio needs hardware_usd_per_th (the machine price it applies to)"
            )
        return self


class EconomicsConfig(StrictModel):
    """Hashprice inputs and cost scenarios. Without ``price`` only BTC hashprice is exported."""

    price: PriceConfig | None = None
    fee_window_blocks: int = Field(default=144, ge=1, le=10_000)
    scenarios: list[ScenarioConfig] = Field(default_factory=list, max_length=32)

    @field_validator("scenarios")
    @classmethod
    def _unique_names(cls, scenarios: list[ScenarioConfig]) -> list[ScenarioConfig]:
        seen: set[str] = set()
        for s in scenarios:
            if s.name in seen:
                raise ValueError(f"duplicate scenario name {s.name!r}; names must be unique")
            seen.add(s.name)
        return scenarios
