"""GraphQL over the identity graph: people with their privacy, teams over a period, relations, events, paged
photos with the person's faces, and the editors' mutations. The graph is written directly (no model runs),
except in the one test that needs real faces for merging and splitting clusters."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from conftest import make_project, wait_for_job
from peoplegraph.identity.records import (
    Appearance, ClusterRecord, EventRecord, MembershipRecord, OrganisationRecord, PersonRecord, PhotoRecord,
    RelationRecord,
)

P = "archive"


def graphql(client: TestClient, query: str, variables: dict | None = None) -> dict:
    body = _post(client, query, variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def graphql_error(client: TestClient, query: str, variables: dict | None = None) -> dict:
    """The first error of a request that must fail (as a GraphQL error, not an HTTP one)."""
    body = _post(client, query, variables)
    assert body.get("errors"), body
    return body["errors"][0]


def _post(client: TestClient, query: str, variables: dict | None) -> dict:
    answer = client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert answer.status_code == 200, answer.text
    return answer.json()


def photo_id(i: int) -> str:
    return f"{i:064x}"


def photo(i: int) -> PhotoRecord:
    return PhotoRecord(P, photo_id(i), f"/photos/{i:05d}.jpg", 640, 480, 2, taken_at=f"200{i}-05-01T12:00:00")


def cluster(cluster_id: int, photos: tuple[int, ...], person_id: str) -> ClusterRecord:
    return ClusterRecord(P, cluster_id, len(photos), 1000 + cluster_id, photo_id(photos[0]), (1.5, 2.5, 30.0, 40.0),
                         0.875, tuple(photo_id(i) for i in sorted(photos)), person_id=person_id)


def appearances(clusters: list[ClusterRecord]) -> list[Appearance]:
    """One face of each cluster's person in each of its photos (face id 100 * cluster + i)."""
    def auto(c: ClusterRecord, i: int) -> bool:  # Ann's first face was auto-matched, the others joined her cluster
        return c.cluster_id == 1 and i == 0

    return [Appearance(c.person_id, p, 100 * c.cluster_id + i, (1.0, 2.0, 3.0, 4.0), c.cluster_id,
                       "auto" if auto(c, i) else "cluster", 0.61 if auto(c, i) else None)
            for c in clusters for i, p in enumerate(c.photo_ids)]


@pytest.fixture
def client(api: TestClient) -> TestClient:
    for project in (P, "real"):
        make_project(api, project)
    return api


@pytest.fixture
def archive(client: TestClient) -> TestClient:
    """Ann (biography, aliases, ids, a team, an event, 3 photos), Bob her son, Pat (private), Hal (hidden)."""
    runtime = client.app.state.runtime
    graph = runtime.graph
    graph.add_photos([photo(i) for i in range(1, 5)])
    graph.set_face_model(P, runtime.pack.model_id, runtime.pack.embedding_dim)  # their faces: of this model
    graph.update_person(PersonRecord(P, "ann", "Ann Archer", born="1970-03-04", aliases=("Annie", "A. A."),
                                     biography="# Ann\n\nCaptain of **FC**.", notes="check the 1998 photos",
                                     external_ids=(("wikidata", "Q1"),)))
    graph.add_person(P, "bob", "Bob Archer")
    graph.update_person(PersonRecord(P, "pat", "Pat Private", born="1980-01-01", aliases=("P",), biography="secret",
                                     notes="secret too", external_ids=(("wikidata", "Q2"),), visibility="private"))
    graph.update_person(PersonRecord(P, "hal", "Hal Hidden", visibility="hidden"))
    clusters = [cluster(1, (1, 2, 3), "ann"), cluster(2, (1, 2), "bob"), cluster(3, (2,), "pat"),
                cluster(4, (1,), "hal")]
    graph.replace_clusters(P, clusters, appearances(clusters))
    graph.add_organisation(OrganisationRecord(P, "fc", "FC Example", "team"))
    graph.add_organisation(OrganisationRecord(P, "band", "The Band", "band"))
    graph.add_membership(MembershipRecord(P, "ann", "fc", "No. 10", "2001", "2005-06"))
    graph.add_membership(MembershipRecord(P, "bob", "fc", "goalkeeper", "2008"))
    graph.add_membership(MembershipRecord(P, "pat", "fc", "coach", "2002", "2003"))
    graph.add_membership(MembershipRecord(P, "hal", "fc", "kit man", "2003", "2004"))
    graph.add_relation(RelationRecord(P, "bob", "ann", "child"))  # stored as ann parent of bob
    graph.add_relation(RelationRecord(P, "bob", "pat", "friend"))
    graph.add_event(EventRecord(P, "cup", "The Cup", "2004"))
    graph.add_event(EventRecord(P, "final", "Cup Final", "2004-05-01", "Wembley", part_of="cup"))
    graph.set_photo_event(P, [photo_id(1), photo_id(2)], "final")
    return client


PERSON = """query ($id: String!, $limit: Int!, $offset: Int!) { person(project: "archive", id: $id) {
  id name visibility born died aliases biography notes externalIds { source id } clusterIds photoCount
  photos(limit: $limit, offset: $offset) { id path takenAt appearances { faceId box { x1 y2 } clusterId method score } }
  memberships { organisation { id name kind } role since until person { id } }
  relations { personId personName kind otherId otherName }
  events { event { id name date place partOf } photoCount }
  coAppearances { personId name photos }
} }"""


def test_a_person_with_biography_teams_relations_events_and_paged_photos(archive: TestClient) -> None:
    ann = graphql(archive, PERSON, {"id": "ann", "limit": 2, "offset": 0})["person"]
    assert {k: ann[k] for k in ("id", "name", "visibility", "born", "died", "aliases", "biography", "notes",
                                "externalIds", "clusterIds", "photoCount")} == {
        "id": "ann", "name": "Ann Archer", "visibility": "normal", "born": "1970-03-04", "died": None,
        "aliases": ["Annie", "A. A."], "biography": "# Ann\n\nCaptain of **FC**.", "notes": "check the 1998 photos",
        "externalIds": [{"source": "wikidata", "id": "Q1"}], "clusterIds": [1], "photoCount": 3}
    assert [p["path"] for p in ann["photos"]] == ["/photos/00001.jpg", "/photos/00002.jpg"]
    first = ann["photos"][0]
    assert first["id"] == photo_id(1) and first["takenAt"] == "2001-05-01T12:00:00"
    assert first["appearances"] == [{"faceId": "100", "box": {"x1": 1.0, "y2": 4.0}, "clusterId": 1,
                                     "method": "auto", "score": 0.61}]
    assert ann["photos"][1]["appearances"][0]["method"] == "cluster"
    assert ann["photos"][1]["appearances"][0]["score"] is None
    rest = graphql(archive, PERSON, {"id": "ann", "limit": 2, "offset": 2})["person"]["photos"]
    assert [p["path"] for p in rest] == ["/photos/00003.jpg"]

    assert ann["memberships"] == [{"organisation": {"id": "fc", "name": "FC Example", "kind": "team"},
                                   "role": "No. 10", "since": "2001", "until": "2005-06", "person": {"id": "ann"}}]
    assert ann["relations"] == [{"personId": "ann", "personName": "Ann Archer", "kind": "parent", "otherId": "bob",
                                 "otherName": "Bob Archer"}]
    assert ann["events"] == [{"event": {"id": "final", "name": "Cup Final", "date": "2004-05-01", "place": "Wembley",
                                        "partOf": "cup"}, "photoCount": 2}]
    # hidden and private people are not among those she appears with unless asked for
    assert ann["coAppearances"] == [{"personId": "bob", "name": "Bob Archer", "photos": 2}]
    everyone = graphql(archive, '{ person(project: "archive", id: "ann") { coAppearances(includeHidden: true) '
                                '{ personId } } }')["person"]["coAppearances"]
    assert {c["personId"] for c in everyone} == {"bob", "pat", "hal"}

    # Bob's relation with private Pat is withheld; his to his mother reads the same way round
    bob = graphql(archive, PERSON, {"id": "bob", "limit": 50, "offset": 0})["person"]
    assert [(r["personId"], r["kind"], r["otherId"]) for r in bob["relations"]] == [("ann", "parent", "bob")]

    for bad in ({"limit": 0, "offset": 0}, {"limit": 5, "offset": -1}, {"limit": 5000, "offset": 0}):
        error = graphql_error(archive, PERSON, {"id": "ann", **bad})
        assert "limit" in error["message"]
    error = graphql_error(archive, PERSON, {"id": "nobody", "limit": 1, "offset": 0})
    assert "no person 'nobody'" in error["message"]


def test_a_page_of_people_loads_their_photos_in_one_graph_call(archive: TestClient,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    graph = archive.app.state.runtime.graph
    calls: list[tuple[str, tuple]] = []
    batched = graph.people_photos

    def counted(project, person_ids, **page):
        calls.append((project, tuple(person_ids)))
        return batched(project, person_ids, **page)

    monkeypatch.setattr(graph, "people_photos", counted)
    query = ('{ people(project: "archive", includeHidden: true) { id photos(limit: 2) { path appearances '
             '{ faceId } } } }')
    people = {p["id"]: p["photos"] for p in graphql(archive, query)["people"]}
    assert len(calls) == 1 and sorted(calls[0][1]) == ["ann", "bob", "hal", "pat"]
    assert people["ann"] == [{"path": "/photos/00001.jpg", "appearances": [{"faceId": "100"}]},
                             {"path": "/photos/00002.jpg", "appearances": [{"faceId": "101"}]}]
    assert people["bob"] == [{"path": "/photos/00001.jpg", "appearances": [{"faceId": "200"}]},
                             {"path": "/photos/00002.jpg", "appearances": [{"faceId": "201"}]}]
    assert people["hal"] == [{"path": "/photos/00001.jpg", "appearances": [{"faceId": "400"}]}]
    page = graphql(archive, '{ people(project: "archive", includeHidden: true, limit: 2, offset: 1) { id } }')
    assert [p["id"] for p in page["people"]] == sorted(people)[1:3]
    assert "limit" in graphql_error(archive, '{ people(project: "archive", limit: 0) { id } }')["message"]


def test_members_of_a_team_in_a_period_organisations_and_events(archive: TestClient) -> None:
    query = ('query ($since: String!, $until: String!, $all: Boolean!) { members(project: "archive", '
             'organisationId: "fc", since: $since, until: $until, includeHidden: $all) { person { id name } role '
             'since until organisation { id } } }')

    def members(since: str = "", until: str = "", everyone: bool = False) -> list[tuple]:
        found = graphql(archive, query, {"since": since, "until": until, "all": everyone})["members"]
        assert all(m["organisation"] == {"id": "fc"} for m in found)
        return sorted((m["person"]["id"], m["role"], m["since"], m["until"]) for m in found)

    assert members() == [("ann", "No. 10", "2001", "2005-06"), ("bob", "goalkeeper", "2008", None)]
    assert members("2006", "2007") == []
    assert members("2005-06-30", "2005-06-30") == [("ann", "No. 10", "2001", "2005-06")]
    assert members("2010", "") == [("bob", "goalkeeper", "2008", None)]
    assert [m[0] for m in members("2003", "2003", everyone=True)] == ["ann", "hal", "pat"]
    error = graphql_error(archive, query.replace('"fc"', '"nope"'), {"since": "", "until": "", "all": False})
    assert "no organisation 'nope'" in error["message"]
    error = graphql_error(archive, query, {"since": "2003-13", "until": "", "all": False})
    assert "since" in error["message"]

    teams = graphql(archive, '{ organisations(project: "archive") { id name kind } }')["organisations"]
    assert sorted(t["id"] for t in teams) == ["band", "fc"]
    events = graphql(archive, '{ events(project: "archive") { id name partOf photos { id } } }')["events"]
    by_id = {e["id"]: e for e in events}
    assert by_id["cup"]["photos"] == [] and by_id["final"]["partOf"] == "cup"
    assert sorted(p["id"] for p in by_id["final"]["photos"]) == [photo_id(1), photo_id(2)]


def test_private_fields_are_withheld_and_hidden_people_left_out_of_lists(archive: TestClient) -> None:
    pat = graphql(archive, PERSON, {"id": "pat", "limit": 50, "offset": 0})["person"]
    assert pat["id"] == "pat" and pat["name"] == "Pat Private" and pat["visibility"] == "private"
    assert [p["id"] for p in pat["photos"]] == [photo_id(2)]
    for field in ("born", "biography", "notes"):
        assert pat[field] is None, field
    for field in ("aliases", "externalIds", "relations", "memberships"):
        assert pat[field] == [], field
    assert "secret" not in str(pat)

    people = graphql(archive, '{ people(project: "archive") { id } }')["people"]
    assert sorted(p["id"] for p in people) == ["ann", "bob"]
    everyone = graphql(archive, '{ people(project: "archive", includeHidden: true) { id biography } }')["people"]
    assert {p["id"]: p["biography"] for p in everyone} == {"ann": "# Ann\n\nCaptain of **FC**.", "bob": "",
                                                           "pat": None, "hal": ""}
    hal = graphql(archive, '{ person(project: "archive", id: "hal") { id visibility } }')["person"]
    assert hal == {"id": "hal", "visibility": "hidden"}


EDIT = """mutation ($id: String!, $born: String, $bio: String, $add: [String!], $remove: [String!],
                     $ids: [ExternalIdInput!], $visibility: String) {
  editPerson(project: "archive", id: $id, born: $born, biography: $bio, addAliases: $add, removeAliases: $remove,
             externalIds: $ids, visibility: $visibility) {
    id name born aliases biography externalIds { source id } visibility } }"""


def test_edit_person_round_trip_and_bad_input(archive: TestClient) -> None:
    edited = graphql(archive, EDIT, {"id": "bob", "born": "1995-07-08", "bio": "Goalkeeper.", "add": ["Bobby"],
                                     "ids": [{"source": "wikidata", "id": "Q9"}]})["editPerson"]
    assert edited == {"id": "bob", "name": "Bob Archer", "born": "1995-07-08", "aliases": ["Bobby"],
                      "biography": "Goalkeeper.", "externalIds": [{"source": "wikidata", "id": "Q9"}],
                      "visibility": "normal"}
    again = graphql(archive, '{ person(project: "archive", id: "bob") { born aliases biography externalIds '
                             '{ source id } } }')["person"]
    assert again == {k: edited[k] for k in again}
    cleared = graphql(archive, EDIT, {"id": "bob", "born": "", "remove": ["Bobby"],
                                      "ids": [{"source": "wikidata", "id": ""}]})["editPerson"]
    assert cleared["born"] is None and cleared["aliases"] == [] and cleared["externalIds"] == []
    assert cleared["biography"] == "Goalkeeper."  # not named: unchanged

    for variables, words in (({"born": "1995-13-40"}, ("born", "1995-13-40")),
                             ({"visibility": "secret"}, ("visibility",)),
                             ({"remove": ["Nobody"]}, ("alias", "Nobody")),
                             ({"ids": [{"source": "", "id": "x"}]}, ("external_ids",))):
        error = graphql_error(archive, EDIT, {"id": "bob", **variables})
        assert all(w in error["message"] for w in words), error
    assert "no person 'zed'" in graphql_error(archive, EDIT, {"id": "zed"})["message"]
    assert graphql(archive, '{ person(project: "archive", id: "bob") { born } }')["person"]["born"] is None

    private = graphql(archive, EDIT, {"id": "bob", "visibility": "private"})["editPerson"]
    assert private["visibility"] == "private" and private["biography"] is None


MERGE = """mutation ($prefer: String) { mergePeople(project: "archive", keptId: "ann", mergedId: "bob",
  prefer: $prefer) { action personId conflicts { field kept merged } } }"""


def test_merge_people_is_refused_on_a_conflict_until_prefer_says_who_wins(archive: TestClient) -> None:
    graphql(archive, EDIT, {"id": "bob", "born": "1971-01-01", "bio": "Also Ann?"})
    body = _post(archive, MERGE, None)
    assert body["data"] is None or body["data"]["mergePeople"] is None
    (error,) = body["errors"]
    assert "born" in error["message"] and "1970-03-04" in error["message"] and "1971-01-01" in error["message"]
    assert error["extensions"]["conflicts"] == [{"field": "born", "kept": "1970-03-04", "merged": "1971-01-01"}]
    assert "prefer" in graphql_error(archive, MERGE, {"prefer": "hal"})["message"]

    merged = graphql(archive, MERGE, {"prefer": "ann"})["mergePeople"]
    assert merged["action"] == "merge people" and merged["personId"] == "ann"
    assert merged["conflicts"] == [{"field": "born", "kept": "1970-03-04", "merged": "1971-01-01"}]
    ann = graphql(archive, '{ person(project: "archive", id: "ann") { born aliases biography notes } }')["person"]
    assert ann["born"] == "1970-03-04" and "Bob Archer" in ann["aliases"]
    assert "Also Ann?" in ann["biography"] and "1971-01-01" in ann["notes"]
    assert "no person 'bob'" in graphql_error(archive, '{ person(project: "archive", id: "bob") { id } }')["message"]


def test_adding_organisations_memberships_relations_events_and_tagging_photos(archive: TestClient) -> None:
    team = graphql(archive, 'mutation { addOrganisation(project: "archive", id: "club", name: "The Club", '
                            'kind: "club") { id name kind } }')["addOrganisation"]
    assert team == {"id": "club", "name": "The Club", "kind": "club"}
    joined = graphql(archive, 'mutation { addMembership(project: "archive", personId: "bob", organisationId: "club", '
                              'role: "captain", since: "2010-04") { person { id name } organisation { id } role since '
                              'until } }')["addMembership"]
    assert joined == {"person": {"id": "bob", "name": "Bob Archer"}, "organisation": {"id": "club"},
                      "role": "captain", "since": "2010-04", "until": None}
    related = graphql(archive, 'mutation { addRelation(project: "archive", personId: "hal", kind: "sibling", '
                               'otherId: "bob") { personId personName kind otherId otherName } }')["addRelation"]
    assert related == {"personId": "hal", "personName": "Hal Hidden", "kind": "sibling", "otherId": "bob",
                       "otherName": "Bob Archer"}
    event = graphql(archive, 'mutation { addEvent(project: "archive", id: "party", name: "Party", date: "2010-05", '
                             'place: "Club house") { id name date place partOf } }')["addEvent"]
    assert event == {"id": "party", "name": "Party", "date": "2010-05", "place": "Club house", "partOf": None}
    tagging = ('mutation ($ids: [String!]!) { tagPhotosWithEvent(project: "archive", eventId: "party", photoIds: $ids) '
               '{ eventId photos } }')
    refused = graphql_error(archive, tagging, {"ids": [photo_id(3), photo_id(4), photo_id(99)]})
    assert f"{photo_id(99)}: no such photo" in refused["message"] and "nothing was changed" in refused["message"]
    tagged = graphql(archive, tagging, {"ids": [photo_id(3), photo_id(4)]})["tagPhotosWithEvent"]
    assert tagged == {"eventId": "party", "photos": 2}
    bob = graphql(archive, '{ person(project: "archive", id: "bob") { memberships { organisation { id } } '
                           'relations { personId kind otherId } } }')["person"]
    assert sorted(m["organisation"]["id"] for m in bob["memberships"]) == ["club", "fc"]
    assert {(r["personId"], r["kind"], r["otherId"]) for r in bob["relations"]} == {
        ("ann", "parent", "bob"), ("hal", "sibling", "bob")}
    ann = graphql(archive, '{ person(project: "archive", id: "ann") { events { event { id } photoCount } } }')
    assert {(e["event"]["id"], e["photoCount"]) for e in ann["person"]["events"]} == {("final", 2), ("party", 1)}

    for query, words in (
            ('mutation { addMembership(project: "archive", personId: "bob", organisationId: "nope") { role } }',
             ("organisation_id", "nope")),
            ('mutation { addMembership(project: "archive", personId: "bob", organisationId: "club", since: "2010", '
             'until: "2009") { role } }', ("until",)),
            ('mutation { addRelation(project: "archive", personId: "bob", kind: "enemy", otherId: "ann") { kind } }',
             ("kind", "enemy")),
            ('mutation { addRelation(project: "archive", personId: "bob", kind: "friend", otherId: "zed") { kind } }',
             ("zed",)),
            ('mutation { addEvent(project: "archive", id: "x", name: "X", date: "soon") { id } }', ("date",)),
            ('mutation { addEvent(project: "archive", id: "x", name: "X", partOf: "nope") { id } }', ("part_of",)),
            ('mutation { addOrganisation(project: "archive", id: "x", name: " ") { id } }', ("name",)),
            ('mutation { tagPhotosWithEvent(project: "archive", eventId: "nope", photoIds: ["%s"]) { photos } }'
             % photo_id(3), ("event_id", "nope")),
            ('mutation { tagPhotosWithEvent(project: "archive", eventId: "party", photoIds: []) { photos } }',
             ("photoIds",)),
            ('{ organisations(project: "../x") { id } }', ("project",))):
        error = graphql_error(archive, query)
        assert all(w in error["message"] for w in words), (query, error)


def test_linking_mutations_refuse_bad_input_clearly(archive: TestClient) -> None:
    for query, words in (
            ('mutation { splitCluster(project: "archive", clusterId: 999, faceIds: ["1"]) { action } }',
             ("no cluster 999",)),
            ('mutation { splitCluster(project: "archive", clusterId: 1, faceIds: ["one"]) { action } }',
             ("faceIds", "one")),
            ('mutation { mergeClusters(project: "archive", clusterIds: [1]) { action } }', ("at least two",)),
            ('mutation { mergeClusters(project: "archive", clusterIds: [998, 999]) { action } }', ("no cluster",)),
            ('mutation { resetClusters(project: "archive", clusterId: 999) { action } }', ("no cluster 999",)),
            ('mutation { mergePeople(project: "archive", keptId: "ann", mergedId: "ann") { action } }',
             ("two different people",))):
        error = graphql_error(archive, query)
        assert all(w in error["message"] for w in words), (query, error)


def test_merge_split_and_reset_clusters_of_real_faces(client: TestClient, shared_data: Path) -> None:
    group = shared_data / "faces-misc" / "group-photos"
    files = [("photos", ("t1.jpg", (group / "insightface_t1.jpg").read_bytes(), "image/jpeg")),
             ("photos", ("multiface.jpg", (group / "facenet_pytorch_multiface.jpg").read_bytes(), "image/jpeg"))]
    answer = client.post("/projects/real/photos", files=files)
    assert answer.status_code == 202, answer.text
    assert wait_for_job(client, answer.json()["jobs"][0])["state"] == "complete"
    answer = client.post("/projects/real/clustering")
    assert wait_for_job(client, answer.json()["jobs"][0])["state"] == "complete"
    clusters = graphql(client, '{ clusters(project: "real") { id size } }')["clusters"]
    assert len(clusters) >= 2 and all(c["size"] == 2 for c in clusters)  # each pairs one face of each photo
    a, b = clusters[0]["id"], clusters[1]["id"]
    faces_of = {}
    for face in graphql(client, '{ faces(project: "real") { id clusterId } }')["faces"]:
        faces_of.setdefault(face["clusterId"], []).append(face["id"])

    merged = graphql(client, 'mutation ($ids: [Int!]!) { mergeClusters(project: "real", clusterIds: $ids) '
                             '{ action faceIds personId } }', {"ids": [a, b]})["mergeClusters"]
    assert merged["action"] == "merge clusters" and merged["personId"] is None
    assert sorted(merged["faceIds"]) == sorted(faces_of[a] + faces_of[b])
    sizes = {c["id"]: c["size"] for c in graphql(client, '{ clusters(project: "real") { id size } }')["clusters"]}
    together = [c for c, n in sizes.items() if n == 4]
    assert len(together) == 1
    (big,) = together

    split = graphql(client, 'mutation ($c: Int!, $f: [ID!]!) { splitCluster(project: "real", clusterId: $c, '
                            'faceIds: $f) { action faceIds } }',
                    {"c": big, "f": faces_of[b]})["splitCluster"]
    assert split["action"] == "split" and sorted(split["faceIds"]) == sorted(faces_of[b])
    now = {}
    for face in graphql(client, '{ faces(project: "real") { id clusterId } }')["faces"]:
        now[face["id"]] = face["clusterId"]
    assert len({now[f] for f in faces_of[a]}) == 1 and len({now[f] for f in faces_of[b]}) == 1
    assert now[faces_of[a][0]] != now[faces_of[b][0]]

    named = graphql(client, 'mutation ($c: Int!) { confirmCluster(project: "real", clusterId: $c, name: "Lead") '
                            '{ personId } }', {"c": now[faces_of[a][0]]})["confirmCluster"]["personId"]
    reset = graphql(client, 'mutation ($c: Int!) { resetClusters(project: "real", clusterId: $c) '
                            '{ action faceIds } }', {"c": now[faces_of[a][0]]})["resetClusters"]
    assert reset["action"] == "reset" and sorted(reset["faceIds"]) == sorted(faces_of[a])
    lead = graphql(client, '{ person(project: "real", id: "%s") { photoCount photos { path appearances '
                           '{ faceId method } } } }' % named)["person"]
    assert lead["photoCount"] == 2 and sorted(p["path"] for p in lead["photos"]) == ["multiface.jpg", "t1.jpg"]
    assert sorted(f["faceId"] for p in lead["photos"] for f in p["appearances"]) == sorted(faces_of[a])

    repaired = graphql(client, 'mutation { repair(project: "real") { problems repaired clusters } }')["repair"]
    assert repaired == {"problems": [], "repaired": False, "clusters": None}
