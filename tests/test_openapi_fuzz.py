"""schemathesis against a real `peoplegraph serve`: every REST operation of the OpenAPI description, with requests
generated from its schemas (valid and not), on a project holding real photos; no answer may be a 5xx."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = 25  # per operation and phase
PROJECT = "fuzzed"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_no_request_the_openapi_description_allows_gets_a_server_error(shared_data: Path, model_dir: Path,
                                                                       tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PEOPLEGRAPH_DATA_DIR": str(tmp_path / "data"), "PEOPLEGRAPH_MODEL_DIR": str(model_dir),
           "PEOPLEGRAPH_PORT": str(port), "PEOPLEGRAPH_WARM_FACE_INDEX": "false"}
    colin = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:6]
    _cli(env, "ingest", "--project", PROJECT, *map(str, colin))
    key = json.loads(_cli(env, "keys", "create", "--name", "fuzzer", "--role", "admin", "--json"))["secret"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'headers = {{ Authorization = "Bearer {key}" }}\n[parameters]\nproject = "{PROJECT}"\n')
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "peoplegraph.cli", "serve"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.5)
        run = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
             f"{url}/schema/openapi.json", "--checks", "not_a_server_error,response_schema_conformance", "--max-examples", str(EXAMPLES),
             "--seed", "1", "--exclude-path", "/projects/{project}",  # deleting the project ends the run early
             "--request-timeout", "60"],
            cwd=tmp_path, capture_output=True, text=True, timeout=1200)
        assert server.poll() is None, "serve died"
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    summary = run.stdout[run.stdout.rfind("SUMMARY"):]
    assert run.returncode == 0, run.stdout[-6000:] + (tmp_path / "serve.log").read_text()[-4000:]
    assert "Tested: " in summary and "passed" in summary, summary
    if "Authentication failed" in run.stdout:  # the key was sent: every route ran, but the browser's session one
        refused = run.stdout.split("401 Unauthorized (", 1)[1].split("\n\n", 1)[0]
        assert [line.strip() for line in refused.splitlines() if line.strip().startswith("- ")] == \
            ["- GET /session"], refused
