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


def read_secret_file(path: str | Path) -> str:
    p = Path(path).expanduser()
    try:
        return p.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"secret file {p} not found") from None
    except (PermissionError, IsADirectoryError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read secret file {p}: {type(exc).__name__}") from None


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
