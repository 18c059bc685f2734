"""`peoplegraph backup` and `restore`: a library restored into a fresh folder is the library backed up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peoplegraph.linking import service as linking
from peoplegraph.services.backup import BackupError, backup, restore
from peoplegraph.services.clustering import cluster_project
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

PROJECT = "archive"


def _library(runtime: Runtime) -> dict:
    """Everything an editor or a search sees of the project."""
    return {
        "photos": sorted((p.photo_id, p.path, p.face_count) for p in runtime.graph.photos(PROJECT)),
        "faces": sorted((f.face_id, f.photo_id, f.cluster_id) for f in runtime.vectors.faces(PROJECT)),
        "clusters": sorted((c.cluster_id, c.size, c.person_id or "") for c in runtime.graph.clusters(PROJECT)),
        "people": sorted((p.person_id, p.name) for p in runtime.graph.people(PROJECT)),
        "decisions": sorted((d.face_id, d.confirmed_as or "", d.method) for d in runtime.graph.face_decisions(PROJECT).values()),
    }


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(settings.data_dir), PEOPLEGRAPH_MODEL_DIR=str(settings.models_path))
    return subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def test_a_restored_library_is_the_library_backed_up(app_settings: Settings, shared_data: Path, tmp_path: Path) -> None:
    photos = sorted((shared_data / "lfw-devtrain").glob("A*/*.jpg"))[:12]
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(photos, IngestReport()))
        cluster_project(runtime, PROJECT)
        largest = max(runtime.graph.clusters(PROJECT), key=lambda c: c.size)
        linking.confirm_cluster(runtime, PROJECT, largest.cluster_id, name="Archived Person")
        before = _library(runtime)
        # the stores are held: a backup from another process is refused, clearly
        busy = _cli(app_settings, "backup", str(tmp_path / "while-serving"))
        assert busy.returncode != 0 and "in use by another process" in busy.stderr and "Traceback" not in busy.stderr
    assert before["decisions"] and before["clusters"]
    done = _cli(app_settings, "backup", str(tmp_path / "backup"), "--json")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["projects"] == {PROJECT: {"photos": len(before["photos"]), "faces": len(before["faces"]), "bodies": 0}}
    fresh = Settings(data_dir=tmp_path / "restored", model_dir=app_settings.model_dir)
    restored = _cli(fresh, "restore", str(tmp_path / "backup"), "--json")
    assert restored.returncode == 0, restored.stderr
    with Runtime(fresh) as runtime:
        assert _library(runtime) == before
    # nothing is restored over a library, or from a backup that is not what it was
    with pytest.raises(BackupError, match="already holds a library"):
        restore(fresh, tmp_path / "backup")
    part = next(p for p in (tmp_path / "backup" / "milvus.db").rglob("*") if p.is_file() and p.stat().st_size > 100)
    data = part.read_bytes()
    part.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(BackupError, match="not as backed up"):
        restore(Settings(data_dir=tmp_path / "third", model_dir=app_settings.model_dir), tmp_path / "backup")
    assert not (tmp_path / "third" / "milvus.db").exists()
    with pytest.raises(BackupError, match="already exists"):
        backup(app_settings, tmp_path / "backup")
