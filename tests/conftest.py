"""Shared fixtures. Real photos come from ../shared/data through `shared_data` alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("PEOPLEGRAPH_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


def _shared_path(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        message = f"{path} is missing: these tests need the research data sets in ../shared (see README)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: skips with a clear message on a fresh machine, fails when CI is set."""
    return _shared_path("data")


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models, under the same rule as `shared_data`."""
    return _shared_path("models")
