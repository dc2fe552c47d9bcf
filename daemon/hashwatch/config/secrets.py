"""``*_file`` keys for secrets: ``password_file: /run/secrets/rpc`` fills ``password``.

Why: secrets belong in files or the environment, not in a YAML file that gets pasted into
tickets. The value is read once at load time into a ``SecretStr`` (never printed); errors name
the key and the file path, never the content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator


class StrictModel(BaseModel):
    """Base for every config model: unknown keys are errors (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


MAX_SECRET_BYTES = 64 * 1024


def read_secret_file(path: str | Path) -> str:
    """The stripped content of a regular, non-empty secret file of at most 64 KiB.

    A FIFO or device is refused without blocking (it would hang start-up or be read forever);
    an empty file is refused (an empty password is never what was meant).
    """
    from .loader import ConfigError, read_regular_file  # loader imports nothing from here

    p = Path(path).expanduser()
    try:
        raw = read_regular_file(p, MAX_SECRET_BYTES, "secret")
        text = raw.decode("utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"secret file {p} not found") from None
    except ConfigError as exc:
        raise ValueError(exc.problems[0]) from None
    except UnicodeDecodeError:
        raise ValueError(f"cannot read secret file {p}: UnicodeDecodeError") from None
    if not text:
        raise ValueError(f"secret file {p} is empty; put the secret in it")
    return text


class SecretFileModel(StrictModel):
    """A model whose fields named in ``secret_fields`` may be given as ``<field>_file``."""

    secret_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in cls.secret_fields:
            key = f"{name}_file"
            if key not in data:
                continue
            path = data.pop(key)
            if data.get(name) not in (None, ""):
                raise ValueError(f"give either {name} or {key}, not both")
            if path in (None, ""):
                continue
            try:
                data[name] = read_secret_file(path)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return data
