"""The CLI as a newcomer meets it: `demo`, settings flags, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peoplegraph.access.keys import KeyService
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEOPLEGRAPH_MODEL_DIR=str(settings.models_path))
    return subprocess.run([sys.executable, "-m", "peoplegraph.cli", "--data-dir", str(settings.data_dir), *args],
                          env=env, capture_output=True, text=True, timeout=600)


def test_demo_finds_the_six_people_of_the_sample_photo(app_settings: Settings) -> None:
    pytest.importorskip("insightface")
    done = _run(app_settings, "demo", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    demo = json.loads(done.stdout)
    assert demo["ingest"]["new_photos"] == 1 and len(demo["faces"]) == 6
    assert len(demo["clusters"]) == 6 and all(c["size"] == 1 for c in demo["clusters"])
    assert (app_settings.data_dir / "milvus.db").is_dir() and (app_settings.data_dir / "graph.lbug").exists()
    # it ends with the web UI's address and a key that opens the demo project; a second run replaces the key
    assert demo["web_ui"]["url"] == app_settings.local_url + "/"
    again = json.loads(_run(app_settings, "demo", "--json").stdout)["web_ui"]["key"]
    with Runtime(app_settings) as runtime:
        keys = KeyService(runtime.graph)
        assert keys.authenticate(demo["web_ui"]["key"]) is None
        live = keys.authenticate(again)
        assert live is not None and (live.project, live.role) == ("demo", "owner")


def test_a_bad_setting_is_named(app_settings: Settings) -> None:
    done = _run(app_settings, "--min-cluster-size", "0", "cluster", "--project", "p")
    assert done.returncode == 2
    assert "min_cluster_size" in done.stderr and "Traceback" not in done.stderr


def test_a_mistyped_project_is_named_not_read_as_empty(app_settings: Settings) -> None:
    for command in (("people", "list"), ("clusters", "list"), ("undo",)):
        done = _run(app_settings, *command, "--project", "weding")
        assert done.returncode == 1, (command, done.stdout)
        assert "no project 'weding'" in done.stderr and "Traceback" not in done.stderr, command


def test_serve_on_a_taken_port_refuses_before_it_issues_the_admin_key(app_settings: Settings) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run(app_settings, "--port", str(port), "serve")
    assert done.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in done.stderr, done.stderr[-2000:]
    assert "admin key" not in done.stderr and "Traceback" not in done.stderr
    assert _run(app_settings, "keys", "list").stdout.strip() == "no keys"  # the next start shows the key


def test_an_unknown_model_pack_is_named(app_settings: Settings) -> None:
    done = _run(app_settings, "--model-pack", "nope", "models", "prepare")
    assert done.returncode == 1
    assert "unknown pack 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    missing = [name for name in Settings.model_fields
               if f"`PEOPLEGRAPH_{name.upper()}` / `--{name.replace('_', '-')}`" not in readme]
    assert not missing, f"settings missing from README's table: {missing}"
