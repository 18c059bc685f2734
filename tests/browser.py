"""A real browser for the web UI's tests: Debian's chromium (apt's `chromium`, which .ci/run installs), driven
by Playwright's Python package. Playwright's own browser download cannot be had here, so its executable is given.
Screenshots go to PEOPLEGRAPH_SCREENSHOTS (default `screenshots/` at the repository root; CI keeps it)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from unavailable import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("PEOPLEGRAPH_SCREENSHOTS", ROOT / "screenshots"))


def chromium_path() -> str | None:
    return os.environ.get("PEOPLEGRAPH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


# per module, not per session: Playwright's sync API keeps an event loop running in this thread while it
# lives, and later tests that call asyncio.run() would fail
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        skip_or_fail("no chromium here: the web UI's browser tests need Debian's `chromium` (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the `playwright` Python package is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page, name: str) -> Path:
    """Saves the page as SCREENSHOTS/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
