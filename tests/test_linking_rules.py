"""The linking layer's rules on synthetic faces (no model): decisions never contradict each other, actions
on unnamed clusters keep individuals apart, merges carry every face and membership, undo restores exactly,
and random sequences of editor actions always leave the two stores agreeing."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import numpy as np
import pytest

from synthetic_runtime import PROJECT, layout, synthetic_runtime
from peoplegraph.identity.records import PERSON_FIELDS, MembershipRecord, OrganisationRecord
from peoplegraph.linking import people
from peoplegraph.linking import service as linking
from peoplegraph.linking.repair import check
from peoplegraph.services.clustering import cluster_project


def _cluster_of(runtime, face: int) -> int:
    (found,) = runtime.vectors.faces_by_id(PROJECT, [face])
    return found.cluster_id


def test_faces_removed_from_two_unnamed_clusters_at_once_keep_the_clusters_apart(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [4, 3])
    cluster_project(runtime, PROJECT)
    assert layout(runtime) == [{0, 1, 2, 3}, {4, 5, 6}]
    linking.remove_faces(runtime, PROJECT, [0, 4])
    groups = {face: d.grouped_as for face, d in runtime.graph.face_decisions(PROJECT).items() if d.grouped_as}
    assert groups[1] != groups[5]  # two individuals, two groups
    linking.reset(runtime, PROJECT)
    assert {1, 2, 3} in layout(runtime) and {5, 6} in layout(runtime) and check(runtime, PROJECT) == []
    with pytest.raises(ValueError, match="every face of cluster"):
        linking.remove_faces(runtime, PROJECT, [5, 6])


def test_naming_both_halves_of_a_split_as_one_person_supersedes_the_split(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [6])
    cluster_project(runtime, PROJECT)
    linking.split_cluster(runtime, PROJECT, _cluster_of(runtime, 0), [0, 1, 2])
    assert layout(runtime) == [{0, 1, 2}, {3, 4, 5}]
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 3), name="Alice")
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 0), person_id="alice")  # the editor's latest word
    assert layout(runtime) == [{0, 1, 2, 3, 4, 5}] and check(runtime, PROJECT) == []
    assert not any(d.removed_from for d in runtime.graph.face_decisions(PROJECT).values())


def test_undoing_a_split_or_a_merge_lets_the_machine_place_the_faces_again(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [6, 4])
    cluster_project(runtime, PROJECT)
    linking.split_cluster(runtime, PROJECT, _cluster_of(runtime, 0), [0, 1])
    linking.undo(runtime, PROJECT)
    assert layout(runtime) == [{0, 1, 2, 3, 4, 5}, {6, 7, 8, 9}]
    linking.merge_clusters(runtime, PROJECT, [_cluster_of(runtime, 0), _cluster_of(runtime, 6)])
    assert layout(runtime) == [set(range(10))]
    linking.undo(runtime, PROJECT)
    assert layout(runtime) == [{0, 1, 2, 3, 4, 5}, {6, 7, 8, 9}] and check(runtime, PROJECT) == []


def test_merged_people_keep_the_faces_that_only_joined_their_clusters(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [5, 5])
    cluster_project(runtime, PROJECT)
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 0), name="Alice")
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 5), name="Bob")
    rng = np.random.default_rng(1)
    for i, like in enumerate((6, 7, 8)):  # new photos of Bob join his cluster, with no decision of their own
        (face,) = runtime.vectors.faces_by_id(PROJECT, [like])
        embedding = face.embedding + 0.02 * rng.normal(size=face.embedding.shape)
        runtime.vectors.upsert([dataclasses.replace(
            face, face_id=100 + i, cluster_id=-1, embedding=(embedding / np.linalg.norm(embedding)).astype(np.float32))])
    cluster_project(runtime, PROJECT, mode="missing")
    assert {100, 101, 102} <= layout(runtime)[0]
    people.merge_people(runtime, PROJECT, "alice", "bob")
    assert layout(runtime) == [set(range(10)) | {100, 101, 102}]
    assert [(p.person_id, p.photo_count) for p in runtime.graph.people(PROJECT)] == [("alice", 10)]  # 13 faces, 10 photos
    assert check(runtime, PROJECT) == []


def _joins(runtime, like: dict[int, int]) -> None:
    """New faces, near these faces (new id -> like), clustered with no decision of their own."""
    rng = np.random.default_rng(1)
    for new, old in like.items():
        (face,) = runtime.vectors.faces_by_id(PROJECT, [old])
        embedding = face.embedding + 0.02 * rng.normal(size=face.embedding.shape)
        runtime.vectors.upsert([dataclasses.replace(
            face, face_id=new, cluster_id=-1, embedding=(embedding / np.linalg.norm(embedding)).astype(np.float32))])
    cluster_project(runtime, PROJECT, mode="missing")


def _clusters_of_people(runtime) -> dict[str, set[int]]:
    groups = layout(runtime)
    named = {p.person_id: p.cluster_ids for p in runtime.graph.people(PROJECT)}
    return {person: set().union(*(g for g in groups if _cluster_of(runtime, min(g)) in clusters))
            for person, clusters in named.items()}


def test_undo_gives_each_person_back_their_faces_after_a_merge_of_people_or_a_naming(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [5, 5, 4])
    cluster_project(runtime, PROJECT)
    with pytest.raises(ValueError, match="neither was given"):
        linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 0))
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 0), name="Alice")
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 5), name="Bob")
    _joins(runtime, {100: 6, 101: 7, 102: 1, 103: 2})  # new photos join each cluster, no decision of their own
    before = _clusters_of_people(runtime)
    assert before == {"alice": {0, 1, 2, 3, 4, 102, 103}, "bob": {5, 6, 7, 8, 9, 100, 101}}
    people.merge_people(runtime, PROJECT, "alice", "bob")
    assert _clusters_of_people(runtime) == {"alice": before["alice"] | before["bob"]}
    linking.undo(runtime, PROJECT)  # the faces that only followed Bob's faces go back with them
    assert _clusters_of_people(runtime) == before and check(runtime, PROJECT) == []
    # a cluster named as someone already known joins their cluster; undone, it is no one's again
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 10), person_id="alice")
    assert _clusters_of_people(runtime)["alice"] == before["alice"] | {10, 11, 12, 13}
    linking.undo(runtime, PROJECT)
    assert _clusters_of_people(runtime) == before and {10, 11, 12, 13} in layout(runtime)
    assert check(runtime, PROJECT) == []


def test_resetting_a_cluster_whose_faces_stay_together_keeps_its_id(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [5, 5, 4])
    cluster_project(runtime, PROJECT)
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 0), name="Alice")
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 5), name="Bob")
    ids = [_cluster_of(runtime, f) for f in (0, 5, 10)]
    for face in (0, 5, 0, 10):  # named, named, named again, unnamed: an editor's id list stays true
        linking.reset(runtime, PROJECT, _cluster_of(runtime, face))
        assert [_cluster_of(runtime, f) for f in (0, 5, 10)] == ids
    assert _clusters_of_people(runtime) == {"alice": {0, 1, 2, 3, 4}, "bob": {5, 6, 7, 8, 9}}
    assert check(runtime, PROJECT) == []


def test_merges_show_clashing_memberships_and_impossible_lives_and_undo_keeps_later_work(tmp_path: Path) -> None:
    runtime = synthetic_runtime(tmp_path, [3, 3])
    cluster_project(runtime, PROJECT)
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 0), name="Alice")
    linking.confirm_cluster(runtime, PROJECT, _cluster_of(runtime, 3), name="Bob")
    graph = runtime.graph
    graph.add_organisation(OrganisationRecord(PROJECT, "lions", "Lions"))
    graph.add_membership(MembershipRecord(PROJECT, "alice", "lions", "player", "2000"))  # still playing
    graph.add_membership(MembershipRecord(PROJECT, "bob", "lions", "player", "2000", "2001"))
    people.edit_person(runtime, PROJECT, "alice", died="1940-01-01")
    people.edit_person(runtime, PROJECT, "bob", born="1950-01-01")
    with pytest.raises(people.MergeConflictError) as refused:
        people.merge_people(runtime, PROJECT, "alice", "bob")
    assert [c["field"] for c in refused.value.conflicts] == ["lifetime", "membership lions 'player' since 2000: until"]
    people.merge_people(runtime, PROJECT, "alice", "bob", prefer="alice")
    (alice,) = graph.people(PROJECT)
    assert (alice.born, alice.died) == ("", "1940-01-01") and "1950-01-01" in alice.notes
    assert [m.until for m in graph.memberships(PROJECT, person_id="alice")] == [""]  # hers, not Bob's
    linking.undo(runtime, PROJECT)
    assert [m.until for m in graph.memberships(PROJECT, person_id="bob")] == ["2001"]
    # an edit undone takes back the edit only: a membership added after it stays
    people.edit_person(runtime, PROJECT, "alice", biography="Founder.")
    graph.add_membership(MembershipRecord(PROJECT, "alice", "lions", "coach", "2010"))
    linking.undo(runtime, PROJECT)
    assert graph.person(PROJECT, "alice").biography == ""
    assert sorted(m.role for m in graph.memberships(PROJECT, person_id="alice")) == ["coach", "player"]


def _random_action(runtime, rnd: random.Random):
    clusters = sorted({f.cluster_id for f in runtime.vectors.faces(PROJECT)} - {-1})
    known = [p.person_id for p in runtime.graph.people(PROJECT)]
    members = {c: [f.face_id for f in runtime.vectors.faces_of_clusters(PROJECT, [c])] for c in clusters}
    # by id, not by the most recent first: two runtimes acting a second apart order their ignores apart
    ignored = sorted(d.face_id for d in linking.ignored_faces(runtime, PROJECT))
    choices = [("reset", lambda: linking.reset(runtime, PROJECT)), ("undo", lambda: linking.undo(runtime, PROJECT))]
    if clusters:
        c = rnd.choice(clusters)
        choices += [
            ("confirm", lambda: linking.confirm_cluster(runtime, PROJECT, c, name=rnd.choice("ABCD"))),
            ("ignore", lambda: linking.ignore_cluster(runtime, PROJECT, c)),
            ("remove", lambda: linking.remove_faces(runtime, PROJECT, rnd.sample(members[c], min(2, len(members[c]))))),
            ("reset cluster", lambda: linking.reset(runtime, PROJECT, c)),
        ]
        if len(members[c]) >= 2:
            chosen = rnd.sample(members[c], rnd.randint(1, len(members[c]) - 1))
            choices.append(("split", lambda: linking.split_cluster(runtime, PROJECT, c, chosen)))
        if known:
            choices.append(("confirm as", lambda: linking.confirm_cluster(runtime, PROJECT, c, person_id=rnd.choice(known))))
    if len(clusters) >= 2:
        choices.append(("merge", lambda: linking.merge_clusters(runtime, PROJECT, rnd.sample(clusters, 2))))
    if len(known) >= 2:
        a, b = rnd.sample(known, 2)
        choices.append(("merge people", lambda: people.merge_people(runtime, PROJECT, a, b, prefer=a)))
    if ignored:
        choices.append(("unignore", lambda: linking.unignore_faces(runtime, PROJECT, ignored[:2])))
    return rnd.choice(choices)


REFUSALS = ("two people, not one cluster", "nothing to undo", "every face of cluster", "in no cluster",
            "holds faces confirmed as")


def _state(runtime):
    """Decisions and people as editors set them (cluster ids and counts are the machine's to change)."""
    return runtime.graph.face_decisions(PROJECT), [
        {field: getattr(p, field) for field in ("person_id", *PERSON_FIELDS)} for p in runtime.graph.people(PROJECT)]


@pytest.mark.parametrize("seeds", [pytest.param(range(12), id="12 sequences"),
                                   pytest.param(range(12, 212), id="200 sequences", marks=pytest.mark.slow)])
def test_random_editor_sessions_keep_the_stores_agreeing_and_undo_exact(tmp_path: Path, seeds: range) -> None:
    for seed in seeds:
        rnd = random.Random(seed)
        runtime = synthetic_runtime(tmp_path / str(seed), [6, 5, 4, 4, 3], seed=seed, noise=0.25)
        cluster_project(runtime, PROJECT)
        done = []
        for _ in range(20):
            name, action = _random_action(runtime, rnd)
            before = _state(runtime)
            try:
                action()
            except ValueError as refused:  # the refusals an editor can meet; nothing is written then
                assert any(reason in str(refused) for reason in REFUSALS), (seed, done, name, refused)
                assert _state(runtime) == before, (seed, done, name)
                continue
            done.append(name)
            assert check(runtime, PROJECT) == [], (seed, done)
            if name not in ("undo", "reset", "reset cluster") and rnd.random() < 0.4:
                linking.undo(runtime, PROJECT)
                assert _state(runtime) == before, (seed, done, "undo")
                assert check(runtime, PROJECT) == [], (seed, done, "undo")
        runtime.graph.close()


def _untimed(runtime):
    """`_state` without the times in it (the two runtimes act a moment apart): the decisions' and those a
    merge writes into the kept person's notes."""
    decisions, people_now = _state(runtime)
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    return ({f: dataclasses.replace(d, decided_at="") for f, d in decisions.items()},
            [{**p, "notes": stamp.sub("", p["notes"])} for p in people_now])


class _WholeReads:
    """A graph store whose decision reads ignore their filters: every call reads every decision."""

    def __init__(self, graph) -> None:
        self._graph = graph

    def face_decisions(self, project: str, **_filters):
        return self._graph.face_decisions(project)

    def __getattr__(self, name: str):
        return getattr(self._graph, name)


@pytest.mark.parametrize("seeds", [pytest.param(range(4), id="4 sequences"),
                                   pytest.param(range(4, 64), id="60 sequences", marks=pytest.mark.slow)])
def test_actions_reading_only_the_decisions_around_them_decide_as_with_every_decision(
        tmp_path: Path, seeds: range) -> None:
    """Each action reads the decisions of its faces and of the individuals they name, not the project's:
    the same random sessions run with whole-project reads end in the same decisions, people and clusters."""
    for seed in seeds:
        scoped = synthetic_runtime(tmp_path / f"scoped-{seed}", [6, 5, 4, 4, 3], seed=seed, noise=0.25)
        whole = synthetic_runtime(tmp_path / f"whole-{seed}", [6, 5, 4, 4, 3], seed=seed, noise=0.25)
        whole.graph = _WholeReads(whole.graph)
        for runtime in (scoped, whole):
            cluster_project(runtime, PROJECT)
        rnds = random.Random(seed), random.Random(seed)
        for step in range(25):
            outcomes = []
            for runtime, rnd in zip((scoped, whole), rnds):
                name, action = _random_action(runtime, rnd)
                try:
                    action()
                    outcomes.append(name)
                except ValueError as refused:
                    outcomes.append(f"{name} refused: {refused}")
            assert outcomes[0] == outcomes[1], (seed, step)
            assert _untimed(scoped) == _untimed(whole), (seed, step, outcomes[0])
            assert layout(scoped) == layout(whole), (seed, step, outcomes[0])
        scoped.graph.close()
        whole.graph._graph.close()


def test_photo_dates_are_compared_with_lifetimes_as_dates() -> None:
    from peoplegraph.identity.records import outside_lifetime

    assert not outside_lifetime("9999-01-01T00:00:00", "1950", "")  # alive: a far date excludes no one
    assert outside_lifetime("1949-12-31T23:00:00", "1950", "")
    assert not outside_lifetime("1950-06-30T00:00:00", "1950-06", "1950-06")
    assert outside_lifetime("1991-01-01T00:00:00", "", "1990")
    assert not outside_lifetime("1990-12-31T00:00:00", "", "1990")
    assert not outside_lifetime("", "1950", "1960") and not outside_lifetime("2001-02-30", "1950", "1960")


def test_a_reset_reports_each_stage_with_counts_and_keeps_the_cluster_ids(tmp_path: Path) -> None:
    from peoplegraph.services.clustering import cluster_project

    runtime = synthetic_runtime(tmp_path, [5, 4, 3])
    steps: list[tuple[str, int, int]] = []
    cluster_project(runtime, PROJECT, lambda stage, done, total: steps.append((stage, done, total)))
    stages = list(dict.fromkeys(s for s, _, _ in steps))
    assert stages == ["reading faces", "clustering", "writing clusters"]
    faces = len(runtime.vectors.project_faces(PROJECT))
    assert ("clustering", faces, faces) in steps  # the k-NN graph reports the faces it has done
    for stage in stages:
        counts = [(d, t) for s, d, t in steps if s == stage]
        assert all(0 <= d <= t for d, t in counts) and [d for d, _ in counts] == sorted(d for d, _ in counts)
    assert steps[-1][1] == steps[-1][2]
    ids = runtime.vectors.project_faces(PROJECT).cluster_ids.copy()
    runtime.vectors.set_clusters(PROJECT, {int(f): -1 for f in runtime.vectors.project_faces(PROJECT).face_ids[:2]})
    cluster_project(runtime, PROJECT)  # the same faces together again: the same ids
    assert (runtime.vectors.project_faces(PROJECT).cluster_ids == ids).all()


def test_a_new_person_id_reads_as_the_name_in_any_script(tmp_path: Path) -> None:
    assert linking.person_id_of("Zoë Ñandú 李小龍 🎬") == "zoe-nandu-李小龍"
    assert linking.person_id_of("  O'Brien, Seán ") == "o-brien-sean"
    assert linking.person_id_of("🎬") == "person" and len(linking.person_id_of("a" * 300)) == 64
    runtime = synthetic_runtime(tmp_path, [3, 3])
    cluster_project(runtime, PROJECT)
    first = linking.confirm_cluster(runtime, PROJECT, 0, name="Zoë Ñandú")
    second = linking.confirm_cluster(runtime, PROJECT, 1, name="Zoe Nandu")  # another person, the same letters
    assert (first.person_id, second.person_id) == ("zoe-nandu", "zoe-nandu-2")
    with pytest.raises(ValueError, match="name: at most 200 characters"):
        linking.confirm_cluster(runtime, PROJECT, 1, name="x" * 201)
