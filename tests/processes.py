"""Other processes for the stores' tests: a fresh reader or writer, and a holder like a running `serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def held_by_another_process(open_store: str) -> Iterator[None]:
    """Runs `open_store` (Python that binds `store`) in a child process until the block ends."""
    code = "import sys\n" + textwrap.dedent(open_store) + '\nprint("ready", flush=True)\nsys.stdin.read()\nstore.close()\n'
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh Python process (what a restart looks like to a store)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
