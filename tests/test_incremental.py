"""Partial runs against whole-project runs, on real faces (lfw-devtrain).

Every editor action and every ingest places only what it touched (`place_faces`, `cluster_new_faces`).
The same long random session of ingests and actions runs on two copies of one library: one as the product
runs it, one where each of those partial runs is replaced by a whole-project `missing` run (what every
action cost before). After every step the two clusterings are compared (BCubed F of one against the
other), the stores must agree and every decision must hold; at the end both are compared with a `reset`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from peoplegraph.engine.metrics import bcubed
from peoplegraph.linking import service as linking
from peoplegraph.linking.repair import check
from peoplegraph.observations.model import UNCLUSTERED
from peoplegraph.services import clustering
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

PROJECT = "session"
STEPS = 60
# the measured bound (README, "Scale"): the partial runs agree with whole-project runs at least this well
# at every step of the session
BOUND = 0.98


def _photos(lfw: Path, rng: np.random.Generator) -> list[list[Path]]:
    """Four batches of photos: 40 people seen 6-8 times and 150 people seen once, shuffled."""
    folders = sorted(d for d in lfw.iterdir() if d.is_dir())
    many = [d for d in folders if len(list(d.glob("*.jpg"))) >= 6]
    once = [d for d in folders if len(list(d.glob("*.jpg"))) == 1]
    chosen = [p for d in rng.choice(many, 40, replace=False) for p in sorted(d.glob("*.jpg"))[:8]]
    chosen += [next(d.glob("*.jpg")) for d in rng.choice(once, 150, replace=False)]
    order = rng.permutation(len(chosen))
    return [[chosen[i] for i in part] for part in np.array_split(order, 4)]


def _labels(runtime: Runtime) -> dict[int, int]:
    faces = runtime.vectors.project_faces(PROJECT)
    return dict(zip(faces.face_ids.tolist(), faces.cluster_ids.tolist()))


def _agreement(a: dict[int, int], b: dict[int, int]) -> float:
    """BCubed F of one clustering against the other (unclustered faces each their own cluster)."""
    ids = sorted(a)
    def singled(labels: dict[int, int]) -> np.ndarray:
        values = np.array([labels[i] for i in ids], np.int64)
        alone = values == UNCLUSTERED
        values[alone] = values.max(initial=0) + 1 + np.arange(alone.sum())
        return values
    return bcubed(singled(a), singled(b))[2]


class _Session:
    """One random editor session, applied to both runtimes only where it is valid in both."""

    def __init__(self, partial: Runtime, whole: Runtime, rng: np.random.Generator) -> None:
        self.both = (partial, whole)
        self.rng = rng
        self.step = 0

    def clusters_of(self, runtime: Runtime, face: int) -> tuple[int, list[int]]:
        faces = runtime.vectors.project_faces(PROJECT)
        (row,) = faces.rows([face])
        cluster = int(faces.cluster_ids[row])
        return cluster, sorted(faces.face_ids[faces.members([cluster])].tolist()) if cluster != UNCLUSTERED else []

    def person(self, runtime: Runtime, cluster: int) -> str | None:
        return next((c.person_id for c in runtime.graph.clusters(PROJECT) if c.cluster_id == cluster), None)

    def clustered_face(self) -> int | None:
        labels = _labels(self.both[0])
        clustered = sorted(f for f, c in labels.items() if c != UNCLUSTERED)
        return int(self.rng.choice(clustered)) if clustered else None

    def act(self) -> str:
        self.step += 1
        kind = self.rng.choice(["confirm", "confirm", "remove", "merge", "split", "ignore", "undo"])
        face = self.clustered_face()
        if face is None:
            return "nothing clustered"
        where = [self.clusters_of(r, face) for r in self.both]
        if kind == "undo":
            for runtime in self.both:
                linking.undo(runtime, PROJECT)
            return kind
        if kind in ("confirm", "ignore", "merge", "split") and any(self.person(r, c) for r, (c, _) in zip(self.both, where)):
            kind = "remove"
        if kind == "confirm":
            for runtime, (cluster, _) in zip(self.both, where):
                linking.confirm_cluster(runtime, PROJECT, cluster, name=f"Person {self.step}", actor="test")
        elif kind == "ignore":
            if any(len(members) > 4 for _, members in where):
                return "ignore skipped"
            for runtime, (cluster, _) in zip(self.both, where):
                linking.ignore_cluster(runtime, PROJECT, cluster, actor="test")
        elif kind == "remove":
            if any(len(members) < 3 for _, members in where):
                return "remove skipped"
            for runtime in self.both:
                linking.remove_faces(runtime, PROJECT, [face], actor="test")
        elif kind == "merge":
            other = self.clustered_face()
            there = [self.clusters_of(r, other)[0] for r in self.both]
            if any(c == t or self.person(r, t) for r, (c, _), t in zip(self.both, where, there)):
                return "merge skipped"
            for runtime, (cluster, _), target in zip(self.both, where, there):
                linking.merge_clusters(runtime, PROJECT, [cluster, target], actor="test")
        elif kind == "split":
            leaving = where[0][1][: len(where[0][1]) // 2]
            if len(where[0][1]) < 4 or any(set(leaving) >= set(m) or not set(leaving) <= set(m) for _, m in where):
                return "split skipped"
            for runtime, (cluster, _) in zip(self.both, where):
                linking.split_cluster(runtime, PROJECT, cluster, leaving, actor="test")
        return kind


@pytest.mark.slow
def test_partial_runs_agree_with_whole_project_runs_through_a_long_session(
        app_settings: Settings, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    batches = _photos(shared_data / "lfw-devtrain", rng)
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(batches[0], IngestReport()))
        clustering.cluster_project(runtime, PROJECT)
    whole_settings = app_settings.model_copy(update={"data_dir": tmp_path / "whole"})
    shutil.copytree(app_settings.data_dir, whole_settings.data_dir)

    agreements, done = [], []
    with Runtime(app_settings) as partial, Runtime(whole_settings) as whole:
        def placed(runtime, project, *args, **kwargs):
            if runtime is whole:
                return clustering.cluster_project(runtime, project, mode="missing")
            return clustering.place_faces(runtime, project, *args, **kwargs)

        monkeypatch.setattr(linking, "place_faces", placed)
        session = _Session(partial, whole, rng)
        for step in range(STEPS):
            if step in (15, 30, 45):
                for runtime in (partial, whole):
                    report = IngestService(runtime).ingest(PROJECT, collect_sources(batches[step // 15], IngestReport()))
                    if runtime is partial:
                        clustering.cluster_new_faces(runtime, PROJECT, report.face_ids)
                    else:
                        clustering.cluster_project(runtime, PROJECT, mode="missing")
                done.append("ingest")
            done.append(session.act())
            assert check(partial, PROJECT) == [], done
            assert check(whole, PROJECT) == [], done
            agreements.append(_agreement(_labels(whole), _labels(partial)))
        print(f"partial against whole-project runs: BCubed F min {min(agreements):.4f}, mean "
              f"{np.mean(agreements):.4f} over {len(agreements)} steps")
        assert min(agreements) >= BOUND, list(zip(done, agreements))
        assert sum(d not in ("ingest",) and "skipped" not in d for d in done) >= STEPS // 2, done
        clustering.cluster_project(partial, PROJECT, mode="reset")
        assert check(partial, PROJECT) == []
