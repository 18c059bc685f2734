"""What the tests do when something they need (the research data, a server) cannot be had here."""

from __future__ import annotations

import os

import pytest


class Unavailable(Exception):
    """Something the tests need cannot be had here; the message says why."""


def skip_or_fail(message: str) -> None:
    """Skip with the message on a user's machine; fail when CI is set (CI must have everything)."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
