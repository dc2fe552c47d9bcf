"""The shared mainnet data (real headers, pools list), found beside the repository.

The data lives in ``../shared`` relative to the repository root (the folder holding
pyproject.toml), never at a machine path. When it is absent the test is skipped with a reason
naming the path it looked at, so a clone without the data says so instead of passing quietly.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest


@cache
def repo_root() -> Path:
    """The nearest folder above this file that holds pyproject.toml."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "pyproject.toml").is_file():
            return folder
    raise RuntimeError(f"no pyproject.toml above {here}")


def shared_dir() -> Path:
    return repo_root().parent / "shared"


def mainnet_file(name: str) -> Path:
    """``<shared>/mainnet/<name>``, or skip the calling test saying where it looked."""
    path = shared_dir() / "mainnet" / name
    if not path.is_file():
        pytest.skip(f"shared mainnet data absent: {path} (../shared beside the repository)")
    return path


def needs_mainnet_file(name: str) -> pytest.MarkDecorator:
    """A skipif marker for module level, with the same visible reason."""
    path = shared_dir() / "mainnet" / name
    return pytest.mark.skipif(not path.is_file(), reason=f"shared mainnet data absent: {path} "
                              "(../shared beside the repository)")
