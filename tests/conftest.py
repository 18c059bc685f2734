"""Shared fixtures. Real photos come from ../shared/data through `shared_data` alone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from unavailable import skip_or_fail

from neo4j_server import neo4j_server  # noqa: F401 - the session's Neo4j (tests/neo4j_server.py)
from milvus_server import milvus_server  # noqa: F401 - the session's Milvus server (tests/milvus_server.py)
from browser import browser  # noqa: F401 - a module's chromium (tests/browser.py)

SHARED = Path(os.environ.get("PEOPLEGRAPH_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


def _shared_path(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        skip_or_fail(f"{path} is missing: these tests need the research data sets in ../shared (see README)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: skips with a clear message on a fresh machine, fails when CI is set."""
    return _shared_path("data")


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models, under the same rule as `shared_data`."""
    return _shared_path("models")


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The model cache tests share: PEOPLEGRAPH_MODEL_DIR or the default one `scripts/setup.sh` prepared,
    so packs are converted once per machine, not once per test."""
    from peoplegraph.settings import Settings

    return Settings().models_path


@pytest.fixture(scope="session")
def face_pack(model_dir: Path):
    """The default pack, prepared (fetching and converting it on first use, as a user's machine would)."""
    from peoplegraph.engine.packs import load_pack
    from peoplegraph.settings import Settings

    pack = load_pack(Settings(model_dir=model_dir))
    pack.prepare()
    return pack


@pytest.fixture
def app_settings(tmp_path: Path, model_dir: Path):
    """Settings for one test: a private data folder, the shared model cache, the embedded stores."""
    from peoplegraph.settings import Settings

    return Settings(data_dir=tmp_path / "data", model_dir=model_dir)


@pytest.fixture
def api(app_settings):
    """The app on the test's data folder (lifespan run), signed in with the folder's first admin key; it
    creates projects with `make_project`."""
    from litestar.testing import TestClient

    from peoplegraph.api.app import create_app

    with TestClient(app=create_app(app_settings)) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.first_admin_key}"
        yield client


JOB_TIMEOUT_S = 300


def wait_for_job(client, job_id: str) -> dict:
    """The job once it has finished (complete or failed); fails the test after JOB_TIMEOUT_S."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        answer = client.get(f"/jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        job = answer.json()
        if job["state"] in ("complete", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT_S} s")


def upload_photos(client, project: str, photos: list[Path]) -> dict:
    """Upload the photos as a browser does and wait for the ingest job."""
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
    answer = client.post(f"/projects/{project}/photos", files=files)
    assert answer.status_code == 202, answer.text
    return wait_for_job(client, answer.json()["jobs"][0])


def make_project(client, name: str) -> None:
    answer = client.post("/projects", json={"name": name})
    assert answer.status_code == 201, answer.text
