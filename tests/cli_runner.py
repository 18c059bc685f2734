"""The CLI as a user runs it (a subprocess on a data folder), for tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from peoplegraph.settings import Settings


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEOPLEGRAPH_MODEL_DIR=str(settings.models_path))
    return subprocess.run([sys.executable, "-m", "peoplegraph.cli", "--data-dir", str(settings.data_dir), *args],
                          env=env, capture_output=True, text=True, timeout=600)


def cli_json(settings: Settings, *args: str) -> dict:
    """A command's --json answer; fails the test on a non-zero exit or a traceback."""
    done = run_cli(settings, *args, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout)
