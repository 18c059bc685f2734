"""A process killed between the vector-store and graph writes: `check` finds the disagreement, and
`repair` (or simply the next operation) fixes it, without losing a decision."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import pytest

from processes import run_python
from peoplegraph.linking import service as linking
from peoplegraph.linking.repair import check, repair
from peoplegraph.services.clustering import cluster_project
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

PROJECT = "crash"

# Runs one operation in a fresh process and SIGKILLs it when it is about to write the graph, after its
# vector-store writes (no `finally`, no atexit: what a power cut or the OOM killer does).
KILLED_BETWEEN_WRITES = """
import os, signal
from peoplegraph.linking import service as linking
from peoplegraph.services.clustering import cluster_project
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

runtime = Runtime(Settings())
runtime.graph.replace_clusters = runtime.graph.update_clusters = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
{call}
"""


def _largest_faces(runtime: Runtime, photos: list[Path]) -> list[int]:
    ids = {hashlib.sha256(p.read_bytes()).hexdigest() for p in photos}
    best: dict[str, tuple[float, int]] = {}
    for f in runtime.vectors.faces(PROJECT):
        area = (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])
        if f.photo_id in ids and area > best.get(f.photo_id, (0.0, 0))[0]:
            best[f.photo_id] = (area, f.face_id)
    return [face for _, face in best.values()]


@pytest.fixture
def library(app_settings: Settings, shared_data: Path) -> dict:
    lfw = shared_data / "lfw-devtrain"
    photos = {name: sorted((lfw / name).glob("*.jpg"))[:4] for name in ("Colin_Powell", "Tony_Blair")}
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(photos["Colin_Powell"] + photos["Tony_Blair"],
                                                               IngestReport()))
        cluster_project(runtime, PROJECT)
        return {**{name: _largest_faces(runtime, p) for name, p in photos.items()},
                "more": sorted((lfw / "Colin_Powell").glob("*.jpg"))[4]}


def _killed(app_settings: Settings, call: str, extra_env: dict[str, str] | None = None) -> None:
    env = {"PEOPLEGRAPH_DATA_DIR": str(app_settings.data_dir), "PEOPLEGRAPH_MODEL_DIR": str(app_settings.models_path),
           **(extra_env or {})}
    done = run_python(KILLED_BETWEEN_WRITES.format(call=call), env=env)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


def _clusters_of(runtime: Runtime, faces: list[int]) -> set[int]:
    return {f.cluster_id for f in runtime.vectors.faces_by_id(PROJECT, faces)}


def test_a_merge_killed_between_the_writes_is_found_and_repaired(app_settings: Settings, library) -> None:
    with Runtime(app_settings) as runtime:
        (colin,), (tony,) = _clusters_of(runtime, library["Colin_Powell"]), _clusters_of(runtime, library["Tony_Blair"])
        assert colin != tony and check(runtime, PROJECT) == []
    _killed(app_settings, f"linking.merge_clusters(runtime, {PROJECT!r}, [{colin}, {tony}])")
    with Runtime(app_settings) as runtime:
        found = check(runtime, PROJECT)
        assert any("stopped between" in p for p in found) and any("clusters differ" in p for p in found)
        report = repair(runtime, PROJECT)
        assert report.repaired and report.problems == found and check(runtime, PROJECT) == []
        merged = _clusters_of(runtime, library["Colin_Powell"] + library["Tony_Blair"])
        assert len(merged) == 1 and -1 not in merged  # the merge the editor asked for is done, not lost
        (record,) = [c for c in runtime.graph.clusters(PROJECT) if c.cluster_id in merged]
        assert record.size == len([f for f in runtime.vectors.faces(PROJECT) if f.cluster_id in merged])
        assert repair(runtime, PROJECT).repaired is False  # nothing left to do


def test_a_reset_killed_between_the_writes_is_finished_by_the_next_operation(app_settings: Settings, library) -> None:
    with Runtime(app_settings) as runtime:
        (colin,) = _clusters_of(runtime, library["Colin_Powell"])
        linking.confirm_cluster(runtime, PROJECT, colin, name="Colin Powell")
    # a looser threshold makes one cluster of the two: the kill leaves new ids in the vector store only
    _killed(app_settings, f"cluster_project(runtime, {PROJECT!r}, mode='reset')",
            {"PEOPLEGRAPH_CLUSTER_SIMILARITY": "0.05"})
    with Runtime(app_settings) as runtime:
        found = check(runtime, PROJECT)
        assert any("reset clustering run stopped" in p for p in found) and any("clusters differ" in p for p in found)
        # the next operation: one more photo comes in and is clustered, as `peoplegraph ingest` does
        IngestService(runtime).ingest(PROJECT, collect_sources([library["more"]], IngestReport()))
        report = cluster_project(runtime, PROJECT, mode="missing")
        assert report.recovered == "reset" and report.mode == "reset"  # the dead run's renumbering is redone
        assert check(runtime, PROJECT) == []
        colin_faces = library["Colin_Powell"] + _largest_faces(runtime, [library["more"]])
        (colin_now,) = _clusters_of(runtime, colin_faces)
        (tony_now,) = _clusters_of(runtime, library["Tony_Blair"])
        named = {c.cluster_id: c.person_id for c in runtime.graph.clusters(PROJECT) if c.person_id}
        assert named == {colin_now: "colin-powell"} and tony_now not in (colin_now, -1)  # as before the crash
        people = runtime.graph.people(PROJECT)
        assert [(p.person_id, p.photo_count) for p in people] == [("colin-powell", len(colin_faces))]
