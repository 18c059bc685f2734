"""GraphStore contract: every adapter must pass these, the embedded store (LadybugDB) and the Neo4j store
against a real Neo4j: NEO4J_URI's (with NEO4J_USER / NEO4J_PASSWORD) when set, else the embedded Neo4j of
tests/neo4j started for the session (`neo4j_server` in tests/neo4j_server.py: skips without java and mvn,
fails so under CI). Each test works in its own project, dropped afterwards."""

from __future__ import annotations

import textwrap
import uuid
from dataclasses import replace
from collections.abc import Iterator
from pathlib import Path

import pytest

from neo4j_server import Neo4jServer
from processes import held_by_another_process, run_python
from peoplegraph.identity import cypher, rows, statements
from peoplegraph.identity.embedded import EmbeddedGraphStore
from peoplegraph.identity.factory import open_graph_store
from peoplegraph.identity.records import (
    Appearance, ClusterRecord, EventRecord, FaceDecision, MembershipRecord, OrganisationRecord, PersonRecord, PhotoRecord,
    RelationRecord,
)
from peoplegraph.observations.store import StoreBusyError
from peoplegraph.settings import Settings


class Backend:
    """Opens stores of one kind and says how a fresh process opens the same store."""

    def __init__(self, kind: str, tmp_path: Path, server: Neo4jServer | None = None) -> None:
        self.kind = kind
        self.path = tmp_path / "graph" / "graph.lbug"
        self.server = server

    def open(self):
        if self.kind == "embedded":
            return EmbeddedGraphStore(self.path)
        from peoplegraph.identity.neo4j_store import Neo4jGraphStore

        assert self.server is not None
        return Neo4jGraphStore(self.server.uri, self.server.user, self.server.password)

    def open_code(self) -> str:
        if self.kind == "embedded":
            return f"from peoplegraph.identity.embedded import EmbeddedGraphStore\nstore = EmbeddedGraphStore({str(self.path)!r})\n"
        assert self.server is not None
        return ("from peoplegraph.identity.neo4j_store import Neo4jGraphStore\n"
                f"store = Neo4jGraphStore({self.server.uri!r}, {self.server.user!r}, {self.server.password!r})\n")


@pytest.fixture(params=["embedded", "neo4j"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    # the server is asked for only here, so that a run of the embedded half alone never starts one
    server = request.getfixturevalue("neo4j_server") if request.param == "neo4j" else None
    return Backend(request.param, tmp_path, server)


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


def appearances(clusters: list[ClusterRecord]) -> list[Appearance]:
    """One face of each named cluster's person in each of the cluster's photos."""
    return [Appearance(c.person_id, photo_id, 100 * c.cluster_id + i, (1.0, 2.0, 3.0, 4.0), c.cluster_id, "cluster")
            for c in clusters if c.person_id for i, photo_id in enumerate(c.photo_ids)]


def write_clusters(store, project: str, clusters: list[ClusterRecord]) -> None:
    store.replace_clusters(project, clusters, appearances(clusters))


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
    store.set_photo_paths(project, {first.photo_id: "/moved/here.jpg"})  # its file moved: the new path taken
    assert [p.path for p in store.photos_by_id(project, [first.photo_id])] == ["/moved/here.jpg"]
    with pytest.raises(ValueError, match="path"):
        store.set_photo_paths(project, {first.photo_id: ""})


def test_a_project_records_its_face_model_and_the_faces_its_photos_hold(store, project: str) -> None:
    assert store.face_model(project) is None and store.face_total(project) == 0  # no project yet
    store.add_photos([photo(project, i) for i in range(3)])
    assert store.face_model(project) is None
    assert store.face_total(project) == sum(photo(project, i).face_count for i in range(3))
    store.set_face_model(project, "w600k_mbf-9cc6e4a75f0e", 512)
    store.set_face_model(project, "sface-2021dec", 128)  # a switch replaces it
    assert store.face_model(project) == ("sface-2021dec", 128)
    assert store.face_model("other-project") is None


def test_api_keys_round_trip_and_are_revoked(store, project: str) -> None:
    import hashlib

    from peoplegraph.identity.records import ApiKeyRecord

    store.ensure_project(project)
    a, b = (hashlib.sha256(f"{project}-{i}".encode()).hexdigest() for i in (1, 2))  # a server's keys outlive tests
    admin = ApiKeyRecord(a[:12], "root", "", "admin", "2026-11-28T01:00:00Z")
    editor = ApiKeyRecord(b[:12], "Eve", project, "editor", "2026-11-28T01:00:01Z")
    store.add_api_key(admin, a)
    store.add_api_key(editor, b)
    assert store.api_keys(project) == [editor] and admin in store.api_keys("")
    assert {admin, editor} <= set(store.api_keys())
    assert store.api_key(b[:12]) == (editor, b) and store.api_key("c" * 12) is None
    store.revoke_api_key(editor.key_id, "2026-11-28T02:00:00Z")
    store.revoke_api_key(editor.key_id, "2026-11-28T03:00:00Z")  # revoked once: the first time stays
    assert store.api_key(editor.key_id)[0].revoked_at == "2026-11-28T02:00:00Z"
    store.drop_project(project)
    assert store.api_key(editor.key_id) is None and store.api_key(admin.key_id) is not None
    store.revoke_api_key(admin.key_id, "2026-11-28T02:00:00Z")


def test_share_links_round_trip_and_are_revoked(store, project: str) -> None:
    import hashlib

    from peoplegraph.identity.records import ShareLinkRecord

    store.ensure_project(project)
    digest = hashlib.sha256(f"{project}-link".encode()).hexdigest()
    link = ShareLinkRecord(digest[:12], project, "", "Eve", "2026-11-28T01:00:00Z", "2026-11-30T01:00:00Z",
                           "scrypt$00$11")
    store.add_share_link(link, digest)
    assert store.share_links(project) == [link] and store.share_link(digest) == link
    assert store.share_link("0" * 64) is None and store.share_links("other-project") == []
    store.revoke_share_link(project, link.link_id, "2026-11-28T02:00:00Z")
    assert store.share_link(digest).revoked_at == "2026-11-28T02:00:00Z"
    store.drop_project(project)
    assert store.share_link(digest) is None


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
    alice = store.add_person(project, "alice", "Alice")
    assert (alice.person_id, alice.name, alice.cluster_ids, alice.photo_count) == ("alice", "Alice", (), 0)
    store.add_person(project, "bob", "Bob")
    named = [cluster(project, 0, (0, 1), "alice"), cluster(project, 1, (1, 2), "alice"), cluster(project, 2, (5,), "bob")]
    write_clusters(store, project, named)
    people = {p.person_id: p for p in store.people(project)}
    assert people["alice"].cluster_ids == (0, 1) and people["alice"].photo_count == 3  # photos 0, 1, 2
    assert people["bob"].cluster_ids == (2,) and people["bob"].photo_count == 1
    assert {c.cluster_id: c.person_id for c in store.clusters(project)} == {0: "alice", 1: "alice", 2: "bob"}
    page = store.person_photos(project, "alice", limit=2, offset=0)
    assert [p.photo_id for p, _ in page] == [f"{0:064x}", f"{1:064x}"]
    faces = page[1][1]  # photo 1: alice's face of cluster 0 and her face of cluster 1
    assert sorted((a.face_id, a.cluster_id, a.method, a.box) for a in faces) == [
        (1, 0, "cluster", (1.0, 2.0, 3.0, 4.0)), (100, 1, "cluster", (1.0, 2.0, 3.0, 4.0))]
    assert [p.photo_id for p, _ in store.person_photos(project, "alice", limit=2, offset=2)] == [f"{2:064x}"]
    # a page of people at once (GraphQL's people list): each person's own page, by path, with only their faces
    every = {"alice": [f"{i:064x}" for i in (0, 1, 2)], "bob": [f"{5:064x}"], "nobody": []}
    for limit, offset in ((2, 0), (2, 1), (1, 2), (5, 0), (3, 7)):
        together = store.people_photos(project, list(every), limit=limit, offset=offset)
        assert {p: [ph.photo_id for ph, _ in page] for p, page in together.items()} == {
            p: ids[offset:offset + limit] for p, ids in every.items()}
    assert [len(v) for v in store.people_photos(project, ["alice", "bob"], limit=5).values()] == [3, 1]
    assert all(a.person_id == "bob" for _, faces in store.people_photos(project, ["bob"])["bob"] for a in faces)
    store.update_person(replace(store.person(project, "bob"), born="1961-08-04"))
    renamed = store.add_person(project, "bob", "Robert")
    assert renamed.name == "Robert" and renamed.born == "1961-08-04" and len(store.people(project)) == 2
    # re-clustering: ids are renumbered by every run, so a link is never carried by id: each cluster takes
    # the person its record carries (the linking layer derives it from the face decisions)
    write_clusters(store, project, [cluster(project, 0, (0, 3), person_id="alice"), cluster(project, 7, (4,))])
    assert {c.cluster_id: c.person_id for c in store.clusters(project)} == {0: "alice", 7: None}
    people = {p.person_id: p for p in store.people(project)}
    assert people["alice"].cluster_ids == (0,) and people["alice"].photo_count == 2  # photos 0 and 3
    write_clusters(store, project, [cluster(project, 0, (0, 3))])
    assert store.clusters(project)[0].person_id is None and store.person(project, "alice").photo_count == 0
    write_clusters(store, project, [cluster(project, 7, (4,), person_id="bob")])
    assert {p.person_id: p.photo_count for p in store.people(project)} == {"alice": 0, "bob": 1}
    with pytest.raises(ValueError, match="person_id"):
        write_clusters(store, project, [cluster(project, 7, (4,), person_id="nobody")])
    with pytest.raises(ValueError, match="appearances"):  # a face must be in a cluster of its person
        store.replace_clusters(project, [cluster(project, 7, (4,), person_id="bob")],
                               [Appearance("alice", f"{4:064x}", 1, (0, 0, 1, 1), 7, "cluster")])


def test_a_page_of_clusters_is_read_by_status_largest_first(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(8)])
    store.add_person(project, "alice", "Alice")
    sizes = {0: (0,), 1: (1, 2, 3), 2: (4, 5), 3: (6, 7), 4: (0, 1, 2, 3)}  # 2 and 3 tie: the lower id first
    write_clusters(store, project, [cluster(project, cid, photos, "alice" if cid in (1, 3) else None)
                                    for cid, photos in sizes.items()])
    every = {c.cluster_id: c for c in store.clusters(project)}

    def ids(status: str, limit: int, offset: int) -> tuple[list[int], int]:
        page, total = store.cluster_page(project, status, limit, offset)
        for c in page:  # the same records as clusters() reads (photo_ids are not compared by the dataclass)
            assert c == every[c.cluster_id] and c.photo_ids == every[c.cluster_id].photo_ids
        return [c.cluster_id for c in page], total

    assert ids("all", 10, 0) == ([4, 1, 2, 3, 0], 5)
    assert ids("all", 2, 1) == ([1, 2], 5)
    assert ids("unnamed", 10, 0) == ([4, 2, 0], 3)
    assert ids("confirmed", 1, 1) == ([3], 2)
    assert ids("confirmed", 5, 9) == ([], 2)
    with pytest.raises(ValueError, match="status"):
        store.cluster_page(project, "named", 5, 0)


def test_update_clusters_writes_only_what_changed(store, project: str) -> None:
    """A partial clustering run replaces the clusters it names, removes the ids it names and replaces the
    appearances of the faces it names; every other cluster, link and appearance stays."""
    store.add_photos([photo(project, i) for i in range(8)])
    store.add_person(project, "alice", "Alice")
    store.add_person(project, "bob", "Bob")
    write_clusters(store, project, [cluster(project, 0, (0, 1), "alice"), cluster(project, 1, (2, 3), "bob"),
                                    cluster(project, 2, (4,))])
    store.mark_clustering(project, "missing")
    grown = cluster(project, 2, (4, 5), "bob")  # cluster 2 is Bob's now; cluster 1 is gone
    store.update_clusters(project, [grown], removed=[1],
                          faces=[(f"{2:064x}", 100), (f"{3:064x}", 101), (f"{5:064x}", 205)],
                          appearances=[Appearance("bob", f"{5:064x}", 205, (1.0, 2.0, 3.0, 4.0), 2, "cluster")])
    assert {c.cluster_id: (c.person_id, c.photo_ids) for c in store.clusters(project)} == {
        0: ("alice", (f"{0:064x}", f"{1:064x}")), 2: ("bob", (f"{4:064x}", f"{5:064x}"))}
    assert store.pending_clustering(project) == ""
    people = {p.person_id: p for p in store.people(project)}
    assert people["alice"].photo_count == 2 and people["alice"].cluster_ids == (0,)  # untouched
    assert people["bob"].cluster_ids == (2,) and people["bob"].photo_count == 1  # only face 205 (photo 5) now
    assert [a.face_id for _, faces in store.person_photos(project, "bob") for a in faces] == [205]
    store.update_clusters(project, [], removed=[2], faces=[(f"{5:064x}", 205)])
    assert [c.cluster_id for c in store.clusters(project)] == [0] and store.person(project, "bob").photo_count == 0
    with pytest.raises(ValueError, match="person_id"):  # nothing written
        store.update_clusters(project, [cluster(project, 0, (0,), "nobody")])
    assert store.clusters(project)[0].person_id == "alice"


def test_person_fields_are_checked_and_round_trip(store, project: str) -> None:
    full = PersonRecord(project, "obama", "Barack Obama", born="1961-08-04", died="", aliases=("Barry", "POTUS 44"),
                        biography="# Barack Obama\n\n44th *president*.", notes="check the 2008 photos",
                        external_ids=(("wikidata", "Q76"),), visibility="hidden")
    assert store.update_person(full) == full
    assert store.person(project, "obama") == full and store.person(project, "nobody") is None
    for field, bad, message in (("born", "4 Aug 1961", "born"), ("died", "1950-01-01", "died"),
                                ("born", "1961-02-30", "born"), ("visibility", "secret", "visibility"),
                                ("name", "  ", "name"), ("external_ids", (("wikidata", "Q1"), ("wikidata", "Q2")),
                                                         "external_ids")):
        with pytest.raises(ValueError, match=message):
            store.update_person(replace(full, **{field: bad}))
    assert store.person(project, "obama") == full  # nothing half-written


def test_what_body_matching_reads_the_photos_by(store, project: str) -> None:
    """Which photos a body model looked at, each photo's event, and the photos taken within a window."""
    taken = ["2026-06-01T10:00:00", "2026-06-01T11:30:00", "2026-06-02T16:00:00", ""]
    store.add_photos([replace(photo(project, i), taken_at=t) for i, t in enumerate(taken)])
    ids = [f"{i:064x}" for i in range(4)]
    assert store.body_scanned(project, "reid-x") == set()
    store.set_body_model(project, ids[:2] + ["unknown"], "reid-x")
    assert store.body_scanned(project, "reid-x") == set(ids[:2]) and store.body_scanned(project, "reid-y") == set()
    store.add_event(EventRecord(project, "day1", "Day one"))
    store.set_photo_event(project, ids[:2], "day1")
    assert store.events_of_photos(project, ids) == {ids[0]: "day1", ids[1]: "day1"}
    window = store.photos_taken_between(project, "2026-06-01T09:00:00", "2026-06-01T12:00:00")
    assert [p.photo_id for p in window] == ids[:2]
    assert store.photos_taken_between(project, "2026-06-02T00:00:00", "2026-06-02T23:59:59")[0].photo_id == ids[2]
    store.add_person(project, "ann", "Ann")
    body = FaceDecision(77, suggested_as="ann", method="body", actor="peoplegraph", score=0.7, references=(5, 6),
                        face_score=-0.25, decided_at="2026-06-01T12:00:00+00:00")
    store.set_face_decisions(project, [body, FaceDecision(78, confirmed_as="ann", method="body", score=0.8)],
                             action="body-match")
    found = store.face_decisions(project, face_ids=[77, 78])
    assert found[77] == body and found[78].face_score is None  # a cosine below zero kept; none stays none
    store.undo_last_action(project)
    assert store.face_decisions(project, face_ids=[77, 78]) == {}


def test_organisations_memberships_in_a_period_relations_and_events(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(4)])
    for person in ("ann", "bob", "cat"):
        store.add_person(project, person, person.title())
    store.add_organisation(OrganisationRecord(project, "lions", "Lions FC", "team"))
    store.add_membership(MembershipRecord(project, "ann", "lions", "No. 9, forward", "2015", "2018-06"))
    store.add_membership(MembershipRecord(project, "bob", "lions", "goalkeeper", "2019-01-15"))
    store.add_membership(MembershipRecord(project, "cat", "lions", "coach"))  # dates unknown
    assert store.organisations(project) == [OrganisationRecord(project, "lions", "Lions FC", "team")]

    def members(since: str = "", until: str = "") -> list[str]:
        return [m.person_id for m in store.memberships(project, organisation_id="lions", since=since, until=until)]

    assert sorted(members()) == ["ann", "bob", "cat"]
    assert sorted(members("2016", "2016")) == ["ann", "cat"]
    assert sorted(members("2018-06-30", "2018-12")) == ["ann", "cat"]  # ann's last month counts whole
    assert sorted(members("2018-07", "2019-01-14")) == ["cat"]
    assert sorted(members("2030")) == ["bob", "cat"]  # bob is still a member
    assert store.memberships(project, person_id="ann")[0].role == "No. 9, forward"
    with pytest.raises(ValueError, match="until"):
        store.add_membership(MembershipRecord(project, "ann", "lions", "", "2019", "2018"))
    with pytest.raises(ValueError, match="organisation_id"):
        store.add_membership(MembershipRecord(project, "ann", "tigers"))
    with pytest.raises(ValueError, match="since"):
        store.memberships(project, organisation_id="lions", since="last year")
    store.add_relation(RelationRecord(project, "bob", "ann", "child"))  # stored as ann parent of bob
    store.add_relation(RelationRecord(project, "ann", "bob", "parent"))  # the same again: no duplicate
    store.add_relation(RelationRecord(project, "bob", "cat", "sibling"))
    assert store.relations(project, "bob") == [RelationRecord(project, "ann", "bob", "parent"),
                                               RelationRecord(project, "bob", "cat", "sibling")]
    with pytest.raises(ValueError, match="kind"):
        store.add_relation(RelationRecord(project, "ann", "cat", "nemesis"))
    store.remove_relation(RelationRecord(project, "bob", "cat", "sibling"))
    assert len(store.relations(project, "cat")) == 0
    season = store.add_event(EventRecord(project, "cup-2019", "Cup 2019", "2019", "Lisbon"))
    final = store.add_event(EventRecord(project, "final", "Cup final", "2019-06-30", "Lisbon", part_of="cup-2019"))
    assert store.events(project) == [season, final]
    with pytest.raises(ValueError, match="part_of"):  # no cycles
        store.add_event(replace(season, part_of="final"))
    assert store.set_photo_event(project, [f"{i:064x}" for i in (0, 1)] + ["unknown"], "final") == 2
    assert [p.photo_id for p in store.event_photos(project, "final")] == [f"{0:064x}", f"{1:064x}"]
    store.set_photo_event(project, [f"{1:064x}"], "cup-2019")  # one event per photo: moved
    write_clusters(store, project, [cluster(project, 0, (0, 1, 2), "ann")])
    assert store.person_events(project, "ann") == [(season, 1), (final, 1)]


def test_people_are_merged_and_the_merge_undone(store, project: str) -> None:
    from peoplegraph.identity.records import FaceDecision

    for person in ("ann", "bob", "cat"):
        store.add_person(project, person, person.title())
    store.add_organisation(OrganisationRecord(project, "lions", "Lions FC"))
    store.add_membership(MembershipRecord(project, "bob", "lions", "forward", "2019"))
    store.add_relation(RelationRecord(project, "bob", "cat", "spouse"))
    store.add_relation(RelationRecord(project, "ann", "bob", "colleague"))  # ann and bob become one: dropped
    store.set_face_decisions(project, [FaceDecision(5, confirmed_as="bob", actor="ed", decided_at="t0")])
    kept = replace(store.person(project, "ann"), aliases=("Bob",))
    store.merge_people(kept, "bob", [FaceDecision(5, confirmed_as="ann", actor="ed", decided_at="t1")], actor="ed",
                       decided_at="t1")
    assert [p.person_id for p in store.people(project)] == ["ann", "cat"]
    assert store.person(project, "ann").aliases == ("Bob",)
    assert [m.person_id for m in store.memberships(project, organisation_id="lions")] == ["ann"]
    assert store.relations(project, "ann") == [RelationRecord(project, "ann", "cat", "spouse")]
    assert store.face_decisions(project)[5].confirmed_as == "ann"
    undone = store.undo_last_action(project)
    assert undone.action == "merge" and undone.person_ids == ("ann", "bob")
    assert [p.person_id for p in store.people(project)] == ["ann", "bob", "cat"]
    assert store.person(project, "ann").aliases == ()
    assert [m.person_id for m in store.memberships(project, organisation_id="lions")] == ["bob"]
    assert sorted((r.person_id, r.other_id, r.kind) for r in store.relations(project, "bob")) == [
        ("ann", "bob", "colleague"), ("bob", "cat", "spouse")]
    assert store.face_decisions(project)[5].confirmed_as == "bob"
    with pytest.raises(ValueError, match="itself"):
        store.merge_people(kept, "ann", [])


def test_a_person_created_with_decisions_goes_when_they_are_undone(store, project: str) -> None:
    from peoplegraph.identity.records import FaceDecision

    store.set_face_decisions(project, [FaceDecision(1, confirmed_as="dan", decided_at="t1")], action="confirm",
                             people=[PersonRecord(project, "dan", "Dan")])
    assert store.person(project, "dan").name == "Dan"
    store.update_person(replace(store.person(project, "dan"), biography="A *new* life."), action="edit")
    store.undo_last_action(project)
    assert store.person(project, "dan").biography == ""
    store.undo_last_action(project)
    assert store.person(project, "dan") is None and store.face_decisions(project) == {}


def test_clustering_marks_a_run_until_the_graph_is_written(store, project: str) -> None:
    store.mark_clustering(project, "reset")
    assert store.pending_clustering(project) == "reset"
    store.replace_clusters(project, [])
    assert store.pending_clustering(project) == ""


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
    write_clusters(store, project, [
        cluster(project, 0, (0, 1, 2), person_id="ann"),  # ann in photos 0, 1, 2
        cluster(project, 1, (1, 2, 3), person_id="bob"),  # bob in 1, 2, 3
        cluster(project, 2, (2, 4), person_id="cat"),  # cat in 2, 4
    ])
    store.update_person(replace(store.person(project, "cat"), visibility="hidden"))
    assert store.co_appearances(project, "ann") == [("bob", "Bob", 2)]
    assert store.co_appearances(project, "ann", everyone=True) == [("bob", "Bob", 2), ("cat", "Cat", 1)]
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
    write_clusters(store, project, [cluster(project, i, photos_of[i], person_id=name) for i, name in enumerate(names)])
    people, photos = store.co_appearance_chain(project, "p0", "p4")
    assert people == names and photos == [f"{i:064x}" for i in range(4)]
    assert store.co_appearance_chain(project, "p0", "p4", max_steps=3) is None


def test_failed_replace_leaves_the_old_clusters(store, project: str) -> None:
    store.add_photos([photo(project, i) for i in range(4)])
    old = [cluster(project, 0, (0, 1)), cluster(project, 1, (2,))]
    store.replace_clusters(project, old)
    store.add_person(project, "alice", "Alice")
    old[0] = replace(old[0], person_id="alice")
    write_clusters(store, project, old)
    with pytest.raises(Exception):  # the second cluster 3 breaks the key constraint mid-transaction
        store.replace_clusters(project, [cluster(project, 3, (3,)), cluster(project, 3, (0,))])
    assert store.clusters(project) == old
    assert [c.photo_ids for c in store.clusters(project)] == [old[0].photo_ids, old[1].photo_ids]
    assert store.people(project)[0].photo_count == 2


def test_failure_after_the_delete_rolls_everything_back(store, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add_photos([photo(project, i) for i in range(4)])
    old = [cluster(project, 0, (0, 1))]
    store.replace_clusters(project, old)
    real_run = store._run

    def failing_run(query, params=None):
        if query == statements.CREATE_SEEN_IN:  # after the old clusters are deleted and the new ones created
            raise RuntimeError("injected failure")
        return real_run(query, params)

    monkeypatch.setattr(store, "_run", failing_run)
    with pytest.raises(RuntimeError, match="injected"):
        store.replace_clusters(project, [cluster(project, 5, (2, 3))])
    monkeypatch.setattr(store, "_run", real_run)
    assert store.clusters(project) == old


def test_failed_photo_batch_writes_nothing(store, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store.ensure_project(project)
    monkeypatch.setattr(rows, "WRITE_BATCH", 10)
    real_run, calls = store._run, []

    def failing_run(query, params=None):
        if query == statements.ADD_PHOTOS:
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
        from peoplegraph.identity.records import Appearance, ClusterRecord, PhotoRecord
        store.add_photos([PhotoRecord({project!r}, "ph1", "/a.jpg", 10, 20, 1)])
        store.add_person({project!r}, "alice", "Alice")
        store.replace_clusters({project!r}, [ClusterRecord({project!r}, 4, 2, 9, "ph1", (1, 2, 3, 4), 0.5,
                                                           photo_ids=("ph1",), person_id="alice")],
                               [Appearance("alice", "ph1", 9, (1, 2, 3, 4), 4, "confirmed")])
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


def test_neo4j_start_up_gives_older_graphs_the_new_properties(neo4j_server: Neo4jServer, project: str) -> None:
    """NEO4J_SCHEMA's migrations: people, decisions and appearances written before their newer properties
    existed get the embedded schema's defaults when a store opens the graph."""
    backend = Backend("neo4j", Path("unused"), neo4j_server)
    store = backend.open()
    try:
        store.add_photos([photo(project, 0)])
        store.add_person(project, "new", "New")
        key = rows.node_key(project, "old")
        with store._transaction():  # the shapes older versions wrote
            store._run("MATCH (pr:Project {name: $project}) CREATE (pr)-[:HAS_PERSON]->(:Person {key: $key, "
                       "project: $project, person_id: 'old', name: 'Old'})", {"project": project, "key": key})
            store._run("MATCH (pe:Person), (ph:Photo {key: $photo}) WHERE pe.key IN [$key, $new] "
                       "CREATE (pe)-[:APPEARS_IN]->(ph)",
                       {"key": key, "new": rows.node_key(project, "new"), "photo": rows.node_key(project, f"{0:064x}")})
            store._run("CREATE (:FaceDecision {key: $key, project: $project, face_id: 7, confirmed_as: 'old', "
                       "removed_from: '', ignored: false, suggested_as: '', reference_faces: '', method: 'manual', "
                       "actor: '', score: -1.0, decided_at: ''})", {"project": project, "key": rows.node_key(project, 7)})
    finally:
        store.close()
    store = backend.open()
    try:
        person = store._run("MATCH (pe:Person {key: $key}) RETURN properties(pe) AS p", {"key": key})[0]["p"]
        assert {c: person[c] for c in ("born", "aliases", "external_ids", "visibility")} == {
            "born": "", "aliases": "", "external_ids": "", "visibility": "normal"}
        assert store.co_appearances(project, "new") == [("old", "Old", 1)]  # a visible person again
        assert store.face_decisions(project)[7].grouped_as is None
        assert store._run("MATCH (d:FaceDecision {key: $key}) RETURN d.grouped_as AS g",
                          {"key": rows.node_key(project, 7)}) == [{"g": ""}]
        [(_, faces)] = store.person_photos(project, "old")
        assert [(a.face_id, a.box, a.cluster_id, a.method, a.score) for a in faces] == [(-1, (), -1, "cluster", None)]
    finally:
        store.drop_project(project)
        store.close()


@pytest.mark.parametrize("damage", ["cut short", "overwritten"])
def test_a_graph_whose_log_cannot_be_replayed_opens_with_what_can_be_read(tmp_path: Path, damage: str) -> None:
    """A full disk or a crash can leave the write-ahead log unreadable; the engine then refuses the file."""
    import subprocess
    import sys

    from peoplegraph.identity.embedded import EmbeddedGraphStore
    from peoplegraph.identity.records import PhotoRecord

    path = tmp_path / "graph.lbug"
    writer = (f"import os\nfrom peoplegraph.identity.embedded import EmbeddedGraphStore\n"
              f"from peoplegraph.identity.records import PhotoRecord\n"
              f"g = EmbeddedGraphStore({str(path)!r})\n"
              f"g.add_photos([PhotoRecord('p', 'a' * 64, '/a.jpg', 10, 10, 0)])\n"
              f"g._conn.execute('CHECKPOINT')\n"
              f"for i in range(40):\n"
              f"    g.add_photos([PhotoRecord('p', f'{{i:064x}}', f'/{{i}}.jpg', 10, 10, 0)])\n"
              f"os._exit(0)\n")  # killed: no checkpoint, the last 40 photos only in the log
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=120)
    wal = tmp_path / "graph.lbug.wal"
    data = bytearray(wal.read_bytes())
    if damage == "cut short":
        data = data[:len(data) - 200]
    else:
        data[len(data) // 2:len(data) // 2 + 64] = b"\xff" * 64
    wal.write_bytes(bytes(data))
    graph = EmbeddedGraphStore(path)
    try:
        assert graph.recovered_from is not None and graph.recovered_from.read_bytes() == bytes(data)
        assert 1 <= graph.photo_count("p") < 41  # the checkpoint and what of the log could be read
        graph.add_photos([PhotoRecord("p", "b" * 64, "/b.jpg", 10, 10, 0)])  # and it takes writes again
    finally:
        graph.close()
    reopened = EmbeddedGraphStore(path)
    assert reopened.recovered_from is None and reopened.person("p", "nobody") is None
    reopened.close()


def test_removed_clusters_are_remembered_to_a_limit_and_their_ids_never_return(store, project: str) -> None:
    store.gone_clusters_kept = 3
    store.add_photos([photo(project, i) for i in range(12)])
    write_clusters(store, project, [cluster(project, c, (c,)) for c in range(10)])
    for c in range(8):  # eight runs each remove one cluster (a merge, a split away)
        store.update_clusters(project, [], removed=[c], gone={c: [100 + c]})
    assert store.highest_gone_cluster(project) == 7
    assert [store.gone_cluster_faces(project, c) for c in range(8)] == [None] * 5 + [[105], [106], [107]]
    store.update_clusters(project, [], removed=[9], gone={9: [109]})
    assert store.highest_gone_cluster(project) == 9  # the mark follows the highest, pruned or not
    store.update_clusters(project, [], removed=[8], gone={8: [108]})
    assert store.highest_gone_cluster(project) == 9 and store.gone_cluster_faces(project, 5) is None
    assert store.gone_cluster_faces(project, 8) == [108]


def test_an_older_graph_gets_its_highest_removed_cluster_from_its_records(backend: Backend, project: str) -> None:
    with backend.open() as store:
        store.add_photos([photo(project, 0)])
        write_clusters(store, project, [cluster(project, 4, (0,))])
        store.update_clusters(project, [], removed=[4], gone={4: [7]})
        store._run("MATCH (p:Project {name: $project}) SET p.highest_gone = -1", {"project": project})  # as before
    with backend.open() as store:
        try:
            assert store.highest_gone_cluster(project) == 4
        finally:
            store.drop_project(project)
