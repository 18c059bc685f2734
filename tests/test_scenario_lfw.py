"""The editor's day on real photos (lfw-devtrain): twenty people confirmed, a wrong face removed, more
photos of the same people ingested and auto-tagged, a reset; every name, removal and confirmation holds."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from peoplegraph.linking import service as linking
from peoplegraph.linking.matching import match_new_faces
from peoplegraph.linking.repair import check
from peoplegraph.services.clustering import cluster_project
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

PROJECT = "archive"
PEOPLE = 20
FIRST, MORE = 5, 3  # photos of each person ingested first, then later


@pytest.mark.slow
def test_twenty_people_survive_removal_new_photos_and_reset(app_settings: Settings, shared_data: Path) -> None:
    lfw = shared_data / "lfw-devtrain"
    folders = sorted((d for d in lfw.iterdir() if d.is_dir() and len(list(d.glob("*.jpg"))) >= FIRST + MORE),
                     key=lambda d: (-len(list(d.glob("*.jpg"))), d.name))[:PEOPLE]
    photos = {d.name: sorted(d.glob("*.jpg"))[:FIRST + MORE] for d in folders}
    owner = {hashlib.sha256(p.read_bytes()).hexdigest(): name for name, ps in photos.items() for p in ps}
    with Runtime(app_settings) as runtime:
        ingest = IngestService(runtime)
        ingest.ingest(PROJECT, collect_sources([p for ps in photos.values() for p in ps[:FIRST]], IngestReport()))
        cluster_project(runtime, PROJECT)

        def main_faces() -> dict[int, str]:
            """The largest face of each photo, with the person the photo is labelled as."""
            largest: dict[str, tuple[float, int]] = {}
            for f in runtime.vectors.faces(PROJECT):
                area = (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])
                if area > largest.get(f.photo_id, (0.0, 0))[0]:
                    largest[f.photo_id] = (area, f.face_id)
            return {face: owner[photo] for photo, (_, face) in largest.items()}

        def clusters() -> dict[int, int]:
            return {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)}

        first_faces, where = main_faces(), clusters()
        person_id = {}
        for name in photos:  # the editor confirms the cluster holding most of each person's photos
            theirs = [where[f] for f, who in first_faces.items() if who == name and where[f] != -1]
            cluster = max(set(theirs), key=theirs.count)
            result = linking.confirm_cluster(runtime, PROJECT, cluster, name=name.replace("_", " "), actor="ed")
            person_id[name] = result.person_id
        assert len(set(person_id.values())) == PEOPLE
        named = {c.cluster_id: c.person_id for c in runtime.graph.clusters(PROJECT) if c.person_id}
        assert len(named) == PEOPLE
        # the wrong faces in confirmed clusters (other people's photos, bystanders) are removed; at least one
        where = clusters()
        main_of = {face: who for face, who in first_faces.items()}
        wrong = [f for f, c in where.items() if c in named and main_of.get(f) != next(
            name for name, pid in person_id.items() if pid == named[c])]
        if not wrong:  # a clean clustering: the editor still takes one face out
            wrong = [next(f for f, c in where.items() if c in named)]
        removed = linking.remove_faces(runtime, PROJECT, wrong, actor="ed")
        assert removed.faces == wrong
        confirmed = {f: d.confirmed_as for f, d in runtime.graph.face_decisions(PROJECT).items() if d.confirmed_as}
        removals = {f: d.removed_from for f, d in runtime.graph.face_decisions(PROJECT).items() if d.removed_from}
        assert set(wrong) <= set(removals)

        # more photos of the same people: matched against the confirmed faces, then clustered (as `ingest` does)
        ingest.ingest(PROJECT, collect_sources([p for ps in photos.values() for p in ps[FIRST:]], IngestReport()))
        matching = match_new_faces(runtime, PROJECT)
        cluster_project(runtime, PROJECT, mode="missing")
        new_faces = {f: who for f, who in main_faces().items() if f not in first_faces}
        decisions = runtime.graph.face_decisions(PROJECT)
        tagged = {f: decisions[f].confirmed_as for f in new_faces if f in decisions and decisions[f].method == "auto"}
        assert len(tagged) >= 0.8 * len(new_faces) and matching.auto >= len(tagged)
        assert sum(tagged[f] == person_id[new_faces[f]] for f in tagged) >= len(tagged) - 1

        def intact() -> None:
            where = clusters()
            cluster_of_person = {pid: c for c, pid in ((c.cluster_id, c.person_id)
                                                       for c in runtime.graph.clusters(PROJECT)) if pid}
            assert {p.person_id: p.name for p in runtime.graph.people(PROJECT)} == {
                pid: name.replace("_", " ") for name, pid in person_id.items()}
            for face, person in confirmed.items():
                assert where[face] == cluster_of_person[person], f"face {face} left {person}"
            for face, people in removals.items():
                assert all(where[face] != cluster_of_person.get(p) for p in people), f"face {face} is back"
            for face, person in tagged.items():
                assert where[face] == cluster_of_person[person]
            for person in runtime.graph.people(PROJECT):  # APPEARS_IN: one photo per face in the person's cluster
                shown = {f.photo_id for f in runtime.vectors.faces(PROJECT) if
                         f.cluster_id == cluster_of_person[person.person_id]}
                assert person.photo_count == len(shown) >= FIRST - 1
            assert check(runtime, PROJECT) == []

        intact()
        linking.reset(runtime, PROJECT, actor="ed")
        intact()
