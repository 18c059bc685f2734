"""GraphStore contract: every adapter must pass these. The embedded store (LadybugDB) always runs; the
Neo4j store runs when NEO4J_URI (with NEO4J_USER / NEO4J_PASSWORD) names a server, each test in its own
project, dropped afterwards."""

from __future__ import annotations

import os
import textwrap
import uuid
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path

import pytest

from processes import held_by_another_process, run_python
from peoplegraph.identity import cypher
from peoplegraph.identity.embedded import EmbeddedGraphStore
from peoplegraph.identity.factory import open_graph_store
from peoplegraph.identity.records import ClusterRecord, PhotoRecord
from peoplegraph.observations.store import StoreBusyError
from peoplegraph.settings import Settings

NEO4J_URI = os.environ.get("NEO4J_URI")




def neo4j_open_code() -> str:
    return (
        "from peoplegraph.identity.neo4j_store import Neo4jGraphStore\n"
        "import os\n"
        "store = Neo4jGraphStore(os.environ['NEO4J_URI'], os.environ.get('NEO4J_USER', 'neo4j'), "
        "os.environ.get('NEO4J_PASSWORD', ''))\n"
    )


class Backend:
    """Opens stores of one kind and says how a fresh process opens the same store."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.path = tmp_path / "graph" / "graph.lbug"

    def open(self):
        if self.kind == "embedded":
            return EmbeddedGraphStore(self.path)
        from peoplegraph.identity.neo4j_store import Neo4jGraphStore

        return Neo4jGraphStore(NEO4J_URI, os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))

    def open_code(self) -> str:
        if self.kind == "embedded":
            return f"from peoplegraph.identity.embedded import EmbeddedGraphStore\nstore = EmbeddedGraphStore({str(self.path)!r})\n"
        return neo4j_open_code()


@pytest.fixture(params=["embedded", "neo4j"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "neo4j" and not NEO4J_URI:
        pytest.skip("set NEO4J_URI (and NEO4J_USER / NEO4J_PASSWORD) to run the contract against Neo4j")
    return Backend(request.param, tmp_path)


@pytest.fixture
def project() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(backend: Backend, project: str) -> Iterator[cypher.CypherGraphStore]:
    opened = backend.open()
    try:
        yield opened
    finally:
        try:
            opened.drop_project(project)
        finally:
            opened.close()


def photo(project: str, i: int, path: str | None = None) -> PhotoRecord:
    return PhotoRecord(project, f"{i:064x}", path or f"/photos/{i:05d}.jpg", 640 + i, 480, i % 4)


def cluster(project: str, cluster_id: int, photos: tuple[int, ...], person_id: str | None = None) -> ClusterRecord:
    return ClusterRecord(
        project=project,
        cluster_id=cluster_id,
        size=len(photos) + 1,
        representative_face_id=1000 + cluster_id,
        representative_photo_id=f"{photos[0]:064x}",
        representative_box=(1.5, 2.5, 30.0, 40.0),
        mean_confidence=0.875,
        photo_ids=tuple(f"{i:064x}" for i in sorted(set(photos))),
        faces_per_photo=tuple(photos.count(i) for i in sorted(set(photos))),
        person_id=person_id,
    )


def test_projects_and_idempotent_add_photo(store, project: str) -> None:
    store.ensure_project(project)
    store.ensure_project(project)
    assert store.projects().count(project) == 1
    first = photo(project, 1)
    store.add_photo(first)
    store.add_photo(first)
    store.add_photo(photo(project, 1, path="/elsewhere/copy.jpg"))  # same bytes seen again: first path kept
    assert store.photo_count(project) == 1
    assert store.photos(project) == [first]
    assert store.has_photo(project, first.photo_id)
    assert not store.has_photo(project, f"{2:064x}")
    assert not store.has_photo("other-project", first.photo_id)


def test_add_photos_creates_the_project_and_pages(store, project: str) -> None:
    photos = [photo(project, i) for i in range(2500)]  # more than one UNWIND batch
    store.add_photos(photos)
    store.add_photos(photos[:10])
    assert project in store.projects()
    assert store.photo_count(project) == 2500
    assert store.photos(project) == photos  # ordered by path
    assert store.photos(project, limit=5, offset=10) == photos[10:15]
    assert store.photos(project, offset=2498) == photos[2498:]
    assert store.photos(project, limit=0) == []
    dated = PhotoRecord(project, f"{77777:064x}", "/dated.jpg", 10, 10, 1, taken_at="2004-05-06T07:08:09")
    store.add_photo(dated)
    assert store.photos_by_id(project, [dated.photo_id]) == [dated]
    wanted = [photos[2400].photo_id, photos[3].photo_id, f"{99999:064x}", photos[3].photo_id]
    assert store.photos_by_id(project, wanted) == [photos[3], photos[2400]]  # by path; unknown ids left out
    assert store.photos_by_id("other-project", wanted) == []


def test_clusters_round_trip_and_replace_replaces(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(6)])
    first = [cluster(project, 0, (0, 1)), cluster(project, 1, (2, 3, 3))]
    store.replace_clusters(project, first)
    got = store.clusters(project)
    assert got == first  # photo_ids are not compared by the dataclass: check them too
    assert [c.photo_ids for c in got] == [first[0].photo_ids, (f"{2:064x}", f"{3:064x}")]
    assert [c.faces_per_photo for c in got] == [(1, 1), (1, 2)]  # two faces of cluster 1 in photo 3
    assert got[0].representative_box == (1.5, 2.5, 30.0, 40.0)
    second = [cluster(project, 5, (4, 5))]
    store.replace_clusters(project, second)
    assert store.clusters(project) == second
    assert store.clusters(project)[0].photo_ids == second[0].photo_ids
    store.replace_clusters(project, [])
    assert store.clusters(project) == []


def test_people_links_and_appearances(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(6)])
    store.replace_clusters(project, [cluster(project, 0, (0, 1)), cluster(project, 1, (1, 2)), cluster(project, 2, (5,))])
    alice = store.add_person(project, "alice", "Alice")
    assert (alice.person_id, alice.name, alice.cluster_ids, alice.photo_count) == ("alice", "Alice", (), 0)
    store.add_person(project, "bob", "Bob")
    store.link_cluster(project, 0, "alice")
    store.link_cluster(project, 1, "alice")
    store.link_cluster(project, 2, "bob")
    people = {p.person_id: p for p in store.people(project)}
    assert people["alice"].cluster_ids == (0, 1) and people["alice"].photo_count == 3  # photos 0, 1, 2
    assert people["bob"].cluster_ids == (2,) and people["bob"].photo_count == 1
    assert {c.cluster_id: c.person_id for c in store.clusters(project)} == {0: "alice", 1: "alice", 2: "bob"}
    store.link_cluster(project, 2, "alice")  # renaming a cluster moves it
    people = {p.person_id: p for p in store.people(project)}
    assert people["bob"].cluster_ids == () and people["bob"].photo_count == 0
    assert people["alice"].photo_count == 4
    store.set_born(project, "bob", "1961-08-04")
    renamed = store.add_person(project, "bob", "Robert")
    assert renamed.name == "Robert" and renamed.born == "1961-08-04" and len(store.people(project)) == 2
    with pytest.raises(ValueError, match="born"):
        store.set_born(project, "bob", "4 August 1961")
    with pytest.raises(ValueError, match="no person 'nobody'"):
        store.set_born(project, "nobody", "1961-08-04")
    # re-clustering: ids are renumbered by every run, so a link is never carried by id: each cluster takes
    # the person its record carries (the linking layer derives it from the face decisions)
    store.replace_clusters(project, [cluster(project, 0, (0, 3), person_id="alice"), cluster(project, 7, (4,))])
    assert {c.cluster_id: c.person_id for c in store.clusters(project)} == {0: "alice", 7: None}
    people = {p.person_id: p for p in store.people(project)}
    assert people["alice"].cluster_ids == (0,) and people["alice"].photo_count == 2  # photos 0 and 3
    store.replace_clusters(project, [cluster(project, 0, (0, 3))])
    assert store.clusters(project)[0].person_id is None
    store.replace_clusters(project, [cluster(project, 7, (4,), person_id="bob")])
    assert {p.person_id: p.photo_count for p in store.people(project)} == {"alice": 0, "bob": 1}
    with pytest.raises(ValueError, match="cluster_id"):
        store.link_cluster(project, 99, "alice")
    with pytest.raises(ValueError, match="person_id"):
        store.link_cluster(project, 7, "nobody")


def test_face_decisions_round_trip_and_replace(store, project: str) -> None:
    from peoplegraph.identity.records import FaceDecision

    store.add_person(project, "alice", "Alice")
    first = [
        FaceDecision(face_id=11, confirmed_as="alice", actor="editor", decided_at="2026-11-23T10:00:00Z"),
        FaceDecision(face_id=12, removed_from=frozenset({"alice", "bob"}), actor="editor"),
        FaceDecision(face_id=13, ignored=True),
        FaceDecision(face_id=14, confirmed_as="alice", method="auto", score=0.71),
    ]
    store.set_face_decisions(project, first)
    assert store.face_decisions(project) == {d.face_id: d for d in first}
    changed = FaceDecision(face_id=11, confirmed_as="bob", removed_from=frozenset({"alice"}), actor="editor")
    store.set_face_decisions(project, [changed])
    assert store.face_decisions(project)[11] == changed and len(store.face_decisions(project)) == 4
    assert store.face_decisions("other-project") == {}
    with pytest.raises(ValueError, match="person_id"):
        store.set_face_decisions(project, [FaceDecision(face_id=1, confirmed_as="   ")])
    store.drop_project(project)
    assert store.face_decisions(project) == {}


def test_actions_are_undone_last_first_and_restore_what_they_replaced(store, project: str) -> None:
    from peoplegraph.identity.records import FaceDecision

    store.add_person(project, "alice", "Alice")
    original = FaceDecision(face_id=21, removed_from=frozenset({"alice"}), actor="ed", decided_at="t0")
    store.set_face_decisions(project, [original])  # no action named: not undoable
    first = [FaceDecision(face_id=21, confirmed_as="alice", actor="ed", decided_at="t1"),
             FaceDecision(face_id=22, confirmed_as="alice", actor="ed", decided_at="t1")]
    store.set_face_decisions(project, first, action="confirm")
    store.set_face_decisions(project, [FaceDecision(face_id=22, ignored=True, actor="al", decided_at="t2")],
                             action="ignore")
    undone = store.undo_last_action(project)
    assert (undone.action, undone.actor, undone.face_ids, undone.seq) == ("ignore", "al", (22,), 2)
    assert store.face_decisions(project) == {21: first[0], 22: first[1]}
    undone = store.undo_last_action(project)
    assert undone.action == "confirm" and undone.face_ids == (21, 22)
    assert store.face_decisions(project) == {21: original}  # 22 had no decision before: it has none again
    assert store.undo_last_action(project) is None


def test_co_appearances_and_photos_with_everyone(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(5)])
    for person in ("ann", "bob", "cat"):
        store.add_person(project, person, person.title())
    store.replace_clusters(project, [
        cluster(project, 0, (0, 1, 2), person_id="ann"),  # ann in photos 0, 1, 2
        cluster(project, 1, (1, 2, 3), person_id="bob"),  # bob in 1, 2, 3
        cluster(project, 2, (2, 4), person_id="cat"),  # cat in 2, 4
    ])
    assert store.co_appearances(project, "ann") == [("bob", "Bob", 2), ("cat", "Cat", 1)]
    assert store.co_appearances(project, "cat") == [("ann", "Ann", 1), ("bob", "Bob", 1)]
    assert [p.photo_id for p in store.photos_with_all(project, ["ann", "bob"])] == [f"{1:064x}", f"{2:064x}"]
    assert [p.photo_id for p in store.photos_with_all(project, ["ann", "bob", "cat"])] == [f"{2:064x}"]
    assert len(store.photos_with_all(project, ["cat"])) == 2
    with pytest.raises(ValueError, match="no person 'dan'"):
        store.photos_with_all(project, ["ann", "dan"])
    with pytest.raises(ValueError, match="no person 'dan'"):
        store.co_appearances(project, "dan")
    store.add_person(project, "dan", "Dan")  # in no photo
    assert store.co_appearance_chain(project, "ann", "cat") == (["ann", "cat"], [f"{2:064x}"])
    assert store.co_appearance_chain(project, "ann", "dan") is None
    assert store.co_appearance_chain(project, "ann", "ann") == (["ann"], [])
    with pytest.raises(ValueError, match="max_steps"):
        store.co_appearance_chain(project, "ann", "cat", max_steps=99)


def test_the_shortest_chain_of_co_appearances_is_found_within_its_bound(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(4)])
    names = ["p0", "p1", "p2", "p3", "p4"]
    photos_of = [(0,), (0, 1), (1, 2), (2, 3), (3,)]  # p(i) and p(i+1) share photo i: a chain of four steps
    for name in names:
        store.add_person(project, name, name.upper())
    store.replace_clusters(project, [cluster(project, i, photos_of[i], person_id=name) for i, name in enumerate(names)])
    people, photos = store.co_appearance_chain(project, "p0", "p4")
    assert people == names and photos == [f"{i:064x}" for i in range(4)]
    assert store.co_appearance_chain(project, "p0", "p4", max_steps=3) is None


def test_failed_replace_leaves_the_old_clusters(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(4)])
    old = [cluster(project, 0, (0, 1)), cluster(project, 1, (2,))]
    store.replace_clusters(project, old)
    store.add_person(project, "alice", "Alice")
    store.link_cluster(project, 0, "alice")
    with pytest.raises(Exception):  # the second cluster 3 breaks the key constraint mid-transaction
        store.replace_clusters(project, [cluster(project, 3, (3,)), cluster(project, 3, (0,))])
    assert store.clusters(project) == [replace(old[0], person_id="alice"), old[1]]
    assert [c.photo_ids for c in store.clusters(project)] == [old[0].photo_ids, old[1].photo_ids]
    assert store.people(project)[0].photo_count == 2


def test_failure_after_the_delete_rolls_everything_back(store, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_photos([photo(project, i) for i in range(4)])
    old = [cluster(project, 0, (0, 1))]
    store.replace_clusters(project, old)
    real_run = store._run

    def failing_run(query, params=None):
        if query == cypher.CREATE_SEEN_IN:  # after the old clusters are deleted and the new ones created
            raise RuntimeError("injected failure")
        return real_run(query, params)

    monkeypatch.setattr(store, "_run", failing_run)
    with pytest.raises(RuntimeError, match="injected"):
        store.replace_clusters(project, [cluster(project, 5, (2, 3))])
    monkeypatch.setattr(store, "_run", real_run)
    assert store.clusters(project) == old


def test_failed_photo_batch_writes_nothing(store, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store.ensure_project(project)
    monkeypatch.setattr(cypher, "WRITE_BATCH", 10)
    real_run, calls = store._run, []

    def failing_run(query, params=None):
        if query == cypher.ADD_PHOTOS:
            calls.append(1)
            if len(calls) == 3:  # the third batch of ten fails after two were written
                raise RuntimeError("injected failure")
        return real_run(query, params)

    monkeypatch.setattr(store, "_run", failing_run)
    with pytest.raises(RuntimeError, match="injected"):
        store.add_photos([photo(project, i) for i in range(50)])
    monkeypatch.setattr(store, "_run", real_run)
    assert store.photo_count(project) == 0


@pytest.mark.parametrize("bad", ['a"b', "../x", "a/b", ""])
def test_project_names_are_validated(store, bad: str) -> None:
    for call in (
        lambda: store.ensure_project(bad),
        lambda: store.photos(bad),
        lambda: store.add_photo(photo(bad, 1)),
        lambda: store.replace_clusters(bad, []),
        lambda: store.add_person(bad, "p", "P"),
    ):
        with pytest.raises(ValueError, match="project"):
            call()


def test_persists_across_processes(backend: Backend, project: str) -> None:
    written = run_python(
        backend.open_code()
        + textwrap.dedent(f"""
        from peoplegraph.identity.records import ClusterRecord, PhotoRecord
        store.add_photos([PhotoRecord({project!r}, "ph1", "/a.jpg", 10, 20, 1)])
        store.replace_clusters({project!r}, [ClusterRecord({project!r}, 4, 2, 9, "ph1", (1, 2, 3, 4), 0.5,
                                                           photo_ids=("ph1",))])
        store.add_person({project!r}, "alice", "Alice")
        store.link_cluster({project!r}, 4, "alice")
        store.close()
        """)
    )
    assert written.returncode == 0, written.stderr
    store = backend.open()
    try:
        assert store.photos(project) == [PhotoRecord(project, "ph1", "/a.jpg", 10, 20, 1)]
        assert [(c.cluster_id, c.photo_ids, c.person_id) for c in store.clusters(project)] == [(4, ("ph1",), "alice")]
        assert [(p.name, p.photo_count) for p in store.people(project)] == [("Alice", 1)]
    finally:
        store.drop_project(project)
        store.close()


def test_locked_graph_file_raises_store_busy(tmp_path: Path) -> None:
    path = tmp_path / "graph.lbug"
    opener = f"from peoplegraph.identity.embedded import EmbeddedGraphStore\nstore = EmbeddedGraphStore({str(path)!r})"
    with held_by_another_process(opener):
        with pytest.raises(StoreBusyError) as caught:
            EmbeddedGraphStore(path)
        message = str(caught.value)
        assert "another peoplegraph process" in message and "graph.lbug" in message
        assert "PEOPLEGRAPH_GRAPH_URI" in message
    with EmbeddedGraphStore(path) as store:  # free again once the holder is gone
        assert store.projects() == []


def test_factory(tmp_path: Path) -> None:
    store = open_graph_store(Settings(data_dir=tmp_path / "data"))
    try:
        assert isinstance(store, EmbeddedGraphStore)
        assert store.path == tmp_path / "data" / "graph.lbug" and store.path.exists()
    finally:
        store.close()
    with pytest.raises(ValueError, match="graph_uri"):
        open_graph_store(Settings(data_dir=tmp_path, graph_uri="http://example.org/graph"))
