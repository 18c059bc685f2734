"""schemathesis against a real `peoplegraph serve`: every REST operation of the OpenAPI description, with requests
generated from its schemas (valid and not), on a project holding real photos; no answer may be a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from live_server import running_server

EXAMPLES = 25  # per operation and phase
PROJECT = "fuzzed"


@pytest.mark.slow
def test_no_request_the_openapi_description_allows_gets_a_server_error(shared_data: Path, model_dir: Path,
                                                                       tmp_path: Path) -> None:
    with running_server(tmp_path / "data", model_dir) as server:
        colin = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:6]
        server.cli("ingest", "--project", PROJECT, *map(str, colin))
        key = server.key("fuzzer")
        config = tmp_path / "schemathesis.toml"
        config.write_text(f'headers = {{ Authorization = "Bearer {key}" }}\n[parameters]\nproject = "{PROJECT}"\n')
        run = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run",
             f"{server.url}/schema/openapi.json", "--checks", "not_a_server_error,response_schema_conformance",
             "--max-examples", str(EXAMPLES), "--seed", "1",
             "--exclude-path", "/projects/{project}",  # deleting the project ends the run early
             "--request-timeout", "60"],
            cwd=tmp_path, capture_output=True, text=True, timeout=1200)
        served = server.log_tail()
    summary = run.stdout[run.stdout.rfind("SUMMARY"):]
    assert run.returncode == 0, run.stdout[-6000:] + served
    assert "Tested: " in summary and "passed" in summary, summary
    if "Authentication failed" in run.stdout:  # the key was sent: every route ran, but the browser's session one
        refused = run.stdout.split("401 Unauthorized (", 1)[1].split("\n\n", 1)[0]
        assert [line.strip() for line in refused.splitlines() if line.strip().startswith("- ")] == \
            ["- GET /session"], refused
