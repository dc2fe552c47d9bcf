"""Config keys of the pools feature: the pool definition file and the trailing windows.

Why: operators keep the community pool list up to date themselves; hashwatch ships only a small
built-in list of the biggest pools and uses the file, when given, first.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from .secrets import StrictModel


class PoolsConfig(StrictModel):
    """Pool attribution and concentration windows (in blocks)."""

    definitions_file: Path | None = None
    windows: list[int] = Field(default_factory=lambda: [144, 1008], min_length=1, max_length=8)

    @field_validator("definitions_file")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is None:
            return v
        v = v.expanduser()
        if not v.is_file():
            raise ValueError(
                f"pool definitions file {v} not found; point it at a pools-v2.json "
                "or remove the key to use the built-in list"
            )
        return v

    @field_validator("windows")
    @classmethod
    def _windows(cls, v: list[int]) -> list[int]:
        if any(w < 1 or w > 10_000 for w in v):
            raise ValueError("each window is a number of blocks from 1 to 10000")
        if len(set(v)) != len(v):
            raise ValueError("windows must not repeat")
        return sorted(v)
