"""Human decisions as clustering constraints (engine/decisions.py)."""

from __future__ import annotations

import numpy as np
import pytest

from peoplegraph.engine.decisions import Decisions, constrained_labels


def test_two_people_the_machine_merged_are_split() -> None:
    machine = np.array([0, 0, 0, 0, 0, 0])  # look-alike brothers in one cluster
    labels, people = constrained_labels(machine, Decisions(confirmed={0: "george", 1: "george", 2: "jeb"}))
    assert labels[0] == labels[1] != labels[2]
    assert people[labels[0]] == "george" and people[labels[2]] == "jeb"
    assert (labels[3:] == labels[0]).all()  # undecided faces stay with the cluster the machine chose


def test_a_person_the_machine_split_is_one_cluster() -> None:
    machine = np.array([0, 0, 0, 1, 1, -1])
    labels, people = constrained_labels(machine, Decisions(confirmed={0: "ann", 3: "ann", 5: "ann"}))
    assert labels[0] == labels[3] == labels[5] and people == {labels[0]: "ann"}
    assert labels[1] == labels[2] == labels[0] and labels[4] != labels[0]  # cluster 1's other face stays
    # a cluster most of whose faces are the person goes with them whole: its other faces joined it as them
    labels, _ = constrained_labels(np.array([0, 0, 0, 1, 1, 1]),
                                   Decisions(confirmed={0: "ann", 1: "ann", 2: "ann", 3: "ann", 4: "ann"}))
    assert len(set(labels.tolist())) == 1


def test_removed_and_ignored_faces_leave_the_cluster_and_everything_else_is_kept() -> None:
    machine = np.array([0, 0, 0, 1, 1, 2, 2])
    decisions = Decisions(confirmed={0: "ann"}, removed={2: frozenset({"ann"}), 3: frozenset({"ann"})},
                          ignored=frozenset({5, 6}))
    labels, people = constrained_labels(machine, decisions)
    assert labels[2] == -1  # removed from ann and the machine put it back with her: out
    assert labels[3] == labels[4] != -1  # removed from ann but not in her cluster: untouched
    assert (labels[5:] == -1).all()
    assert people == {labels[0]: "ann"} and labels[1] == labels[0]
    sizes = np.bincount(labels[labels >= 0])
    assert (np.diff(sizes) <= 0).all()  # 0..K-1 by decreasing size


def test_a_confirmed_face_the_machine_left_alone_still_makes_its_persons_cluster() -> None:
    labels, people = constrained_labels(np.array([-1, -1, 0, 0]), Decisions(confirmed={0: "solo"}))
    assert labels[0] != -1 and people[labels[0]] == "solo" and labels[1] == -1


def test_re_running_gives_the_same_decisions_back() -> None:
    rng = np.random.default_rng(0)
    machine = rng.integers(-1, 6, size=60)
    decisions = Decisions(confirmed={i: "p" + str(i % 3) for i in range(0, 30, 2)},
                          removed={i: frozenset({"p0"}) for i in range(31, 40)}, ignored=frozenset(range(50, 55)))
    first, people = constrained_labels(machine, decisions)
    second, people_again = constrained_labels(first, decisions)
    assert {people[first[i]] for i in decisions.confirmed} == {"p0", "p1", "p2"}
    for face, person in decisions.confirmed.items():
        assert people[first[face]] == person and people_again[second[face]] == person
    assert all(first[f] == -1 or people.get(first[f]) != "p0" for f in decisions.removed)


def test_contradictory_or_out_of_range_decisions_are_refused() -> None:
    with pytest.raises(ValueError, match="both confirmed as and removed"):
        constrained_labels(np.zeros(3), Decisions(confirmed={1: "ann"}, removed={1: frozenset({"ann"})}))
    with pytest.raises(ValueError, match="outside 0..2"):
        constrained_labels(np.zeros(3), Decisions(ignored=frozenset({7})))


def test_reset_and_missing_runs_keep_every_decision_on_real_photos(app_settings, shared_data) -> None:
    import hashlib

    from peoplegraph.identity.records import FaceDecision
    from peoplegraph.services.clustering import cluster_project
    from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
    from peoplegraph.services.runtime import Runtime

    lfw = shared_data / "lfw-devtrain"
    colin = sorted((lfw / "Colin_Powell").glob("*.jpg"))
    tony = sorted((lfw / "Tony_Blair").glob("*.jpg"))[:5]
    hugo = sorted((lfw / "Hugo_Chavez").glob("*.jpg"))[:4]
    photo_of = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in colin[:8] + tony + hugo}
    with Runtime(app_settings) as runtime:
        ingest = IngestService(runtime)
        ingest.ingest("film", collect_sources(colin[:5] + tony + hugo, IngestReport()))
        assert cluster_project(runtime, "film").clusters == 3

        def tony_partition() -> set[frozenset[int]]:
            now = {f.face_id: f.cluster_id for f in runtime.vectors.faces("film")}
            groups: dict[int, set[int]] = {}
            for f in faces_of(tony):
                groups.setdefault(now[f.face_id] if now[f.face_id] != -1 else -f.face_id, set()).add(f.face_id)
            return {frozenset(g) for g in groups.values()}

        def faces_of(photos):
            names = {p.name for p in photos}
            return [f for f in runtime.vectors.faces("film") if photo_of[f.photo_id].name in names]

        colin_faces, hugo_faces = faces_of(colin[:5]), faces_of(hugo)
        tony_before = tony_partition()
        removed = colin_faces[0].face_id
        runtime.graph.add_person("film", "colin", "Colin Powell")
        runtime.graph.set_face_decisions("film", [
            *(FaceDecision(f.face_id, confirmed_as="colin") for f in colin_faces[1:]),
            FaceDecision(removed, removed_from=frozenset({"colin"})),  # the editor pulled it out
            *(FaceDecision(f.face_id, ignored=True) for f in hugo_faces),  # background extras
        ])

        def check() -> None:
            now = {f.face_id: f.cluster_id for f in runtime.vectors.faces("film")}
            colin_cluster = {now[f.face_id] for f in colin_faces[1:]}
            assert len(colin_cluster) == 1 and -1 not in colin_cluster
            assert now[removed] not in colin_cluster
            assert all(now[f.face_id] == -1 for f in hugo_faces)
            assert tony_partition() == tony_before  # undecided faces grouped as before
            named = {c.cluster_id: c.person_id for c in runtime.graph.clusters("film") if c.person_id}
            assert named == {next(iter(colin_cluster)): "colin"}  # the name follows the faces, not an id

        for _ in range(2):  # a second reset undoes nothing either
            cluster_project(runtime, "film")
            check()
        ingest.ingest("film", collect_sources(colin[5:8], IngestReport()))
        cluster_project(runtime, "film", mode="missing")
        check()
        now = {f.face_id: f.cluster_id for f in runtime.vectors.faces("film")}
        assert {now[f.face_id] for f in faces_of(colin[5:8])} == {now[colin_faces[1].face_id]}
