"""Every Cypher statement of the graph stores, and the `GraphStore` logic both adapters share.

The data statements below run unchanged on the embedded engine (LadybugDB, Kuzu's dialect) and on Neo4j;
only the schema differs (node/rel tables there, constraints and indexes here) and lives in
`EMBEDDED_SCHEMA` / `NEO4J_SCHEMA`. Written to the common subset of the two dialects: labels fixed in the
text (Kuzu cannot set them at run time), properties set one by one (Kuzu has no `SET n += map`), no empty
list parameters (Kuzu cannot infer their type), every node found by its primary key `key`.

Model (keys are `project/id`, project names cannot contain `/`):

    (:Project {name})-[:HAS_PHOTO]->(:Photo {key, project, photo_id, path, width, height, face_count,
                                        taken_at})
    (:Project)-[:HAS_CLUSTER]->(:Cluster {key, project, cluster_id, size, representative_face_id,
                                          representative_photo_id, representative_box, mean_confidence})
    (:Cluster)-[:SEEN_IN {faces}]->(:Photo)
    (:Project)-[:HAS_PERSON]->(:Person {key, project, person_id, name, born})
    (:Cluster)-[:IS_PERSON]->(:Person)        a named cluster
    (:Person)-[:APPEARS_IN]->(:Photo)         derived: the photos of the person's clusters
    (:FaceDecision {key, project, face_id, confirmed_as, removed_from, ignored, suggested_as,
                    reference_faces, method, actor, score, decided_at})
                                           the current decision about one face (linking layer)
    (:LinkAction {key, project, seq, action, actor, decided_at, before})
                                           an undoable action: the decisions it replaced, as JSON

Rules: `replace_clusters` deletes the project's clusters and writes the new ones in one transaction, each
linked to the person its record carries (cluster ids change from run to run, so links are never carried
by id: the linking layer derives them from the face decisions). APPEARS_IN is derived data, rebuilt for
the project after every `replace_clusters` and `link_cluster`. Decision fields are plain strings (no
null, no empty list parameters, which the embedded dialect cannot type): `confirmed_as` "" for none,
`removed_from` person ids joined by a unit separator, `suggested_as` "" for none, `reference_faces` face
ids joined by commas.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from peoplegraph.identity.records import ActionRecord, ClusterRecord, FaceDecision, PersonRecord, PhotoRecord
from peoplegraph.observations.model import validate_project_name

WRITE_BATCH = 2000  # rows per UNWIND statement
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

EMBEDDED_SCHEMA = (
    "CREATE NODE TABLE IF NOT EXISTS Project(name STRING PRIMARY KEY)",
    "CREATE NODE TABLE IF NOT EXISTS Photo(key STRING PRIMARY KEY, project STRING, photo_id STRING, "
    "path STRING, width INT64, height INT64, face_count INT64, taken_at STRING)",
    "CREATE NODE TABLE IF NOT EXISTS Cluster(key STRING PRIMARY KEY, project STRING, cluster_id INT64, "
    "size INT64, representative_face_id INT64, representative_photo_id STRING, representative_box DOUBLE[], "
    "mean_confidence DOUBLE)",
    "CREATE NODE TABLE IF NOT EXISTS Person(key STRING PRIMARY KEY, project STRING, person_id STRING, "
    "name STRING, born STRING)",
    "CREATE NODE TABLE IF NOT EXISTS FaceDecision(key STRING PRIMARY KEY, project STRING, face_id INT64, "
    "confirmed_as STRING, removed_from STRING, ignored BOOLEAN, suggested_as STRING, reference_faces STRING, "
    "method STRING, actor STRING, score DOUBLE, decided_at STRING)",
    "CREATE NODE TABLE IF NOT EXISTS LinkAction(key STRING PRIMARY KEY, project STRING, seq INT64, "
    "action STRING, actor STRING, decided_at STRING, before STRING)",
    "CREATE REL TABLE IF NOT EXISTS HAS_PHOTO(FROM Project TO Photo)",
    "CREATE REL TABLE IF NOT EXISTS HAS_CLUSTER(FROM Project TO Cluster)",
    "CREATE REL TABLE IF NOT EXISTS HAS_PERSON(FROM Project TO Person)",
    "CREATE REL TABLE IF NOT EXISTS SEEN_IN(FROM Cluster TO Photo, faces INT64)",
    "CREATE REL TABLE IF NOT EXISTS IS_PERSON(FROM Cluster TO Person)",
    "CREATE REL TABLE IF NOT EXISTS APPEARS_IN(FROM Person TO Photo)",
)

NEO4J_SCHEMA = (
    "CREATE CONSTRAINT peoplegraph_project_name IF NOT EXISTS FOR (n:Project) REQUIRE n.name IS UNIQUE",
    "CREATE CONSTRAINT peoplegraph_photo_key IF NOT EXISTS FOR (n:Photo) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT peoplegraph_cluster_key IF NOT EXISTS FOR (n:Cluster) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT peoplegraph_person_key IF NOT EXISTS FOR (n:Person) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX peoplegraph_photo_project IF NOT EXISTS FOR (n:Photo) ON (n.project)",
    "CREATE INDEX peoplegraph_cluster_project IF NOT EXISTS FOR (n:Cluster) ON (n.project)",
    "CREATE INDEX peoplegraph_person_project IF NOT EXISTS FOR (n:Person) ON (n.project)",
    "CREATE CONSTRAINT peoplegraph_decision_key IF NOT EXISTS FOR (n:FaceDecision) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX peoplegraph_decision_project IF NOT EXISTS FOR (n:FaceDecision) ON (n.project)",
    "CREATE CONSTRAINT peoplegraph_action_key IF NOT EXISTS FOR (n:LinkAction) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX peoplegraph_action_project IF NOT EXISTS FOR (n:LinkAction) ON (n.project)",
)

ENSURE_PROJECT = "MERGE (p:Project {name: $project})"
PROJECTS = "MATCH (p:Project) RETURN p.name AS name ORDER BY name"
HAS_PHOTO = "MATCH (ph:Photo {key: $key}) RETURN count(ph) AS n"
ADD_PHOTOS = (
    "MATCH (pr:Project {name: $project}) "
    "UNWIND $rows AS r "
    "MERGE (ph:Photo {key: r.key}) "
    "ON CREATE SET ph.project = $project, ph.photo_id = r.photo_id, ph.path = r.path, ph.width = r.width, "
    "ph.height = r.height, ph.face_count = r.face_count, ph.taken_at = r.taken_at "
    "MERGE (pr)-[:HAS_PHOTO]->(ph)"
)
_PHOTO_FIELDS = (
    "RETURN ph.photo_id AS photo_id, ph.path AS path, ph.width AS width, ph.height AS height, "
    "ph.face_count AS face_count, ph.taken_at AS taken_at ORDER BY path, photo_id"
)
PHOTOS = "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) " + _PHOTO_FIELDS
PHOTOS_PAGE = PHOTOS + " SKIP $offset LIMIT $limit"
PHOTOS_FROM = PHOTOS + " SKIP $offset"
PHOTOS_BY_KEY = "UNWIND $keys AS k MATCH (ph:Photo {key: k}) " + _PHOTO_FIELDS
PHOTO_COUNT = "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(ph:Photo) RETURN count(ph) AS n"

CLUSTER_LINKS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster)-[:IS_PERSON]->(pe:Person) "
    "RETURN c.cluster_id AS cluster_id, pe.person_id AS person_id"
)
PERSON_KEYS = "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person) RETURN pe.person_id AS person_id"
DELETE_CLUSTERS = "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster) DETACH DELETE c"
CREATE_CLUSTERS = (
    "MATCH (pr:Project {name: $project}) "
    "UNWIND $rows AS r "
    "CREATE (c:Cluster {key: r.key, project: $project, cluster_id: r.cluster_id, size: r.size, "
    "representative_face_id: r.representative_face_id, representative_photo_id: r.representative_photo_id, "
    "representative_box: r.representative_box, mean_confidence: r.mean_confidence}) "
    "CREATE (pr)-[:HAS_CLUSTER]->(c)"
)
CREATE_SEEN_IN = (
    "UNWIND $rows AS r "
    "MATCH (c:Cluster {key: r.cluster}), (ph:Photo {key: r.photo}) "
    "CREATE (c)-[:SEEN_IN {faces: r.faces}]->(ph)"
)
CREATE_IS_PERSON = (
    "UNWIND $rows AS r "
    "MATCH (c:Cluster {key: r.cluster}), (pe:Person {key: r.person}) "
    "CREATE (c)-[:IS_PERSON]->(pe)"
)
CLUSTERS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster) "
    "RETURN c.cluster_id AS cluster_id, c.size AS size, c.representative_face_id AS representative_face_id, "
    "c.representative_photo_id AS representative_photo_id, c.representative_box AS representative_box, "
    "c.mean_confidence AS mean_confidence ORDER BY cluster_id"
)
CLUSTER_PHOTOS = (
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(c:Cluster)-[s:SEEN_IN]->(ph:Photo) "
    "RETURN c.cluster_id AS cluster_id, ph.photo_id AS photo_id, s.faces AS faces ORDER BY photo_id"
)
CLUSTER_EXISTS = "MATCH (c:Cluster {key: $key}) RETURN count(c) AS n"
PERSON_EXISTS = "MATCH (pe:Person {key: $key}) RETURN count(pe) AS n"
UNLINK_CLUSTER = "MATCH (c:Cluster {key: $key})-[l:IS_PERSON]->(:Person) DELETE l"
LINK_CLUSTER = "MATCH (c:Cluster {key: $cluster}), (pe:Person {key: $person}) CREATE (c)-[:IS_PERSON]->(pe)"
DELETE_APPEARS_IN = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)-[a:APPEARS_IN]->(:Photo) DELETE a"
)
DERIVE_APPEARS_IN = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)<-[:IS_PERSON]-(:Cluster)-[:SEEN_IN]->(ph:Photo) "
    "WITH DISTINCT pe, ph "
    "MERGE (pe)-[:APPEARS_IN]->(ph)"
)
CO_APPEARANCES = (
    "MATCH (a:Person {key: $key})-[:APPEARS_IN]->(ph:Photo)<-[:APPEARS_IN]-(b:Person) "
    "WHERE b.key <> a.key "
    "RETURN b.person_id AS person_id, b.name AS name, count(DISTINCT ph) AS photos "
    "ORDER BY photos DESC, name, person_id"
)
PHOTOS_WITH_ALL = (
    "MATCH (pe:Person)-[:APPEARS_IN]->(ph:Photo) WHERE pe.key IN $keys "
    "WITH ph, count(DISTINCT pe) AS present WHERE present = $wanted " + _PHOTO_FIELDS
)
# The one statement whose dialects differ: Kuzu/LadybugDB's `* SHORTEST` against Neo4j's shortestPath().
# The hop bound must be a literal in both; it is formatted in from a checked int.
SHORTEST_CHAIN = {
    "embedded": "MATCH p = (a:Person {{key: $a}})-[:APPEARS_IN* SHORTEST 1..{hops}]-(b:Person {{key: $b}}) "
                "RETURN properties(nodes(p), 'key') AS keys",
    "neo4j": "MATCH p = shortestPath((a:Person {{key: $a}})-[:APPEARS_IN*..{hops}]-(b:Person {{key: $b}})) "
             "RETURN [n IN nodes(p) | n.key] AS keys",
}
MAX_CHAIN_STEPS = 15  # co-appearances; two hops each, and the embedded engine allows at most 30 hops
ADD_PERSON = (
    "MATCH (pr:Project {name: $project}) "
    "MERGE (pe:Person {key: $key}) "
    "ON CREATE SET pe.born = '' "
    "SET pe.project = $project, pe.person_id = $person_id, pe.name = $name "
    "MERGE (pr)-[:HAS_PERSON]->(pe)"
)
SET_BORN = "MATCH (pe:Person {key: $key}) SET pe.born = $born RETURN count(pe) AS n"
PEOPLE = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person) "
    "RETURN pe.person_id AS person_id, pe.name AS name, pe.born AS born ORDER BY name, person_id"
)
PEOPLE_CLUSTERS = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)<-[:IS_PERSON]-(c:Cluster) "
    "RETURN pe.person_id AS person_id, c.cluster_id AS cluster_id"
)
PEOPLE_PHOTOS = (
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(pe:Person)-[:APPEARS_IN]->(ph:Photo) "
    "RETURN pe.person_id AS person_id, count(ph) AS n"
)
SET_DECISIONS = (
    "UNWIND $rows AS r "
    "MERGE (d:FaceDecision {key: r.key}) "
    "SET d.project = $project, d.face_id = r.face_id, d.confirmed_as = r.confirmed_as, "
    "d.removed_from = r.removed_from, d.ignored = r.ignored, d.suggested_as = r.suggested_as, "
    "d.reference_faces = r.reference_faces, d.method = r.method, d.actor = r.actor, "
    "d.score = r.score, d.decided_at = r.decided_at"
)
DECISIONS = (
    "MATCH (d:FaceDecision) WHERE d.project = $project "
    "RETURN d.face_id AS face_id, d.confirmed_as AS confirmed_as, d.removed_from AS removed_from, "
    "d.ignored AS ignored, d.suggested_as AS suggested_as, d.reference_faces AS reference_faces, "
    "d.method AS method, d.actor AS actor, d.score AS score, d.decided_at AS decided_at "
    "ORDER BY face_id"
)
DELETE_DECISIONS = "UNWIND $keys AS k MATCH (d:FaceDecision {key: k}) DELETE d"
LAST_ACTION = "MATCH (a:LinkAction) WHERE a.project = $project RETURN coalesce(max(a.seq), 0) AS n"
ADD_ACTION = (
    "CREATE (a:LinkAction {key: $key, project: $project, seq: $seq, action: $action, actor: $actor, "
    "decided_at: $decided_at, before: $before})"
)
LATEST_ACTION = (
    "MATCH (a:LinkAction) WHERE a.project = $project RETURN a.key AS key, a.seq AS seq, a.action AS action, "
    "a.actor AS actor, a.decided_at AS decided_at, a.before AS before ORDER BY seq DESC LIMIT 1"
)
DELETE_ACTION = "MATCH (a:LinkAction {key: $key}) DELETE a"
NO_SCORE = -1.0  # stored for decisions without a score (the embedded dialect cannot type a null column)
SEPARATOR = "\x1f"

DROP_PROJECT = (
    "MATCH (d:FaceDecision) WHERE d.project = $project DELETE d",
    "MATCH (a:LinkAction) WHERE a.project = $project DELETE a",
    "MATCH (:Project {name: $project})-[:HAS_PHOTO]->(n:Photo) DETACH DELETE n",
    "MATCH (:Project {name: $project})-[:HAS_CLUSTER]->(n:Cluster) DETACH DELETE n",
    "MATCH (:Project {name: $project})-[:HAS_PERSON]->(n:Person) DETACH DELETE n",
    "MATCH (p:Project {name: $project}) DETACH DELETE p",
)


def node_key(project: str, item: object) -> str:
    return f"{project}/{item}"


def _batches(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), WRITE_BATCH):
        yield rows[start : start + WRITE_BATCH]


def _decision_row(project: str, d: FaceDecision) -> dict[str, Any]:
    for person in [p for p in (d.confirmed_as, d.suggested_as) if p] + sorted(d.removed_from):
        _person_id(person)
    return {
        "key": node_key(project, int(d.face_id)), "face_id": int(d.face_id),
        "confirmed_as": d.confirmed_as or "", "removed_from": SEPARATOR.join(sorted(d.removed_from)),
        "ignored": bool(d.ignored), "suggested_as": d.suggested_as or "",
        "reference_faces": ",".join(str(int(f)) for f in d.references),
        "method": str(d.method), "actor": str(d.actor),
        "score": NO_SCORE if d.score is None else float(d.score), "decided_at": str(d.decided_at),
    }


def _decision(r: dict[str, Any]) -> FaceDecision:
    return FaceDecision(
        face_id=int(r["face_id"]), confirmed_as=r["confirmed_as"] or None,
        removed_from=frozenset(p for p in (r["removed_from"] or "").split(SEPARATOR) if p),
        ignored=bool(r["ignored"]), suggested_as=r["suggested_as"] or None,
        references=tuple(int(f) for f in (r["reference_faces"] or "").split(",") if f),
        method=r["method"], actor=r["actor"],
        score=None if r["score"] == NO_SCORE else float(r["score"]), decided_at=r["decided_at"],
    )


def _photo(project: str, r: dict[str, Any]) -> PhotoRecord:
    return PhotoRecord(project, r["photo_id"], r["path"], int(r["width"]), int(r["height"]), int(r["face_count"]),
                       r["taken_at"] or "")


def _person_id(person_id: object) -> str:
    if not isinstance(person_id, str) or not person_id.strip() or len(person_id) > 256:
        raise ValueError(f"person_id: must be a non-empty string of at most 256 characters, got {person_id!r}")
    return person_id


class CypherGraphStore:
    """`GraphStore` written once in Cypher; an adapter supplies `_run` and `_transaction`.

    `_run(query, params)` returns the rows as dicts keyed by the RETURN aliases; inside
    `with self._transaction():` it runs in that transaction, which commits at the end of the block and
    rolls back (nothing written) on any exception. `dialect` picks the statements that differ.
    """

    dialect = "embedded"

    def _run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _scalar(self, query: str, params: dict[str, Any]) -> int:
        rows = self._run(query, params)
        return int(rows[0]["n"]) if rows else 0

    # -- projects and photos ---------------------------------------------------------------------------

    def ensure_project(self, project: str) -> None:
        self._run(ENSURE_PROJECT, {"project": validate_project_name(project)})

    def projects(self) -> list[str]:
        return [row["name"] for row in self._run(PROJECTS)]

    def has_photo(self, project: str, photo_id: str) -> bool:
        return self._scalar(HAS_PHOTO, {"key": node_key(validate_project_name(project), photo_id)}) > 0

    def add_photo(self, photo: PhotoRecord) -> None:
        self.add_photos([photo])

    def add_photos(self, photos: Sequence[PhotoRecord]) -> None:
        """Idempotent by project + photo id: a photo already recorded keeps its first path and sizes."""
        by_project: dict[str, list[dict[str, Any]]] = {}
        for photo in photos:
            project = validate_project_name(photo.project)
            by_project.setdefault(project, []).append(
                {
                    "key": node_key(project, photo.photo_id),
                    "photo_id": str(photo.photo_id),
                    "path": str(photo.path),
                    "width": int(photo.width),
                    "height": int(photo.height),
                    "face_count": int(photo.face_count),
                    "taken_at": str(photo.taken_at),
                }
            )
        if not by_project:
            return
        with self._transaction():
            for project, rows in by_project.items():
                self._run(ENSURE_PROJECT, {"project": project})
                for batch in _batches(rows):
                    self._run(ADD_PHOTOS, {"project": project, "rows": batch})

    def photos(self, project: str, *, limit: int | None = None, offset: int = 0) -> list[PhotoRecord]:
        """The project's photos ordered by path then photo id (a stable order for paging)."""
        validate_project_name(project)
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("limit/offset: must not be negative")
        if limit is None:
            rows = self._run(PHOTOS_FROM, {"project": project, "offset": int(offset)})
        else:
            rows = self._run(PHOTOS_PAGE, {"project": project, "offset": int(offset), "limit": int(limit)})
        return [
            _photo(project, r)
            for r in rows
        ]

    def photos_by_id(self, project: str, photo_ids: Sequence[str]) -> list[PhotoRecord]:
        """The project's photos among `photo_ids` (unknown ids are left out), ordered by path."""
        validate_project_name(project)
        keys = sorted({node_key(project, str(p)) for p in photo_ids})
        rows = [row for batch in _batches(keys) for row in self._run(PHOTOS_BY_KEY, {"keys": batch})]
        return sorted((_photo(project, r) for r in rows), key=lambda p: (p.path, p.photo_id))

    def photo_count(self, project: str) -> int:
        return self._scalar(PHOTO_COUNT, {"project": validate_project_name(project)})

    # -- clusters --------------------------------------------------------------------------------------

    def replace_clusters(self, project: str, clusters: Sequence[ClusterRecord]) -> None:
        """Replace the project's machine clusters, their SEEN_IN edges and the derived APPEARS_IN edges in
        one transaction. Person links survive for cluster ids written again (a record's own `person_id`
        wins); SEEN_IN edges to photos the graph does not know are left out."""
        validate_project_name(project)
        rows, seen_in = [], []
        for cluster in clusters:
            if cluster.project != project:
                raise ValueError(f"project: cluster {cluster.cluster_id} belongs to {cluster.project!r}, not {project!r}")
            key = node_key(project, int(cluster.cluster_id))
            box = [float(v) for v in cluster.representative_box]
            if len(box) != 4:
                raise ValueError(f"representative_box: cluster {cluster.cluster_id} needs 4 numbers")
            rows.append(
                {
                    "key": key,
                    "cluster_id": int(cluster.cluster_id),
                    "size": int(cluster.size),
                    "representative_face_id": int(cluster.representative_face_id),
                    "representative_photo_id": str(cluster.representative_photo_id),
                    "representative_box": box,
                    "mean_confidence": float(cluster.mean_confidence),
                }
            )
            for photo_id, faces in zip(cluster.photo_ids, cluster.faces_per_photo or [1] * len(cluster.photo_ids)):
                seen_in.append({"cluster": key, "photo": node_key(project, photo_id), "faces": faces})
        with self._transaction():
            self._run(ENSURE_PROJECT, {"project": project})
            links = {int(c.cluster_id): c.person_id for c in clusters if c.person_id is not None}
            people = {r["person_id"] for r in self._run(PERSON_KEYS, {"project": project})}
            link_rows = []
            for cluster_id, person_id in links.items():
                if person_id not in people:
                    raise ValueError(f"person_id: no person {person_id!r} in project {project!r}")
                link_rows.append({"cluster": node_key(project, cluster_id), "person": node_key(project, person_id)})
            self._run(DELETE_CLUSTERS, {"project": project})
            for batch in _batches(rows):
                self._run(CREATE_CLUSTERS, {"project": project, "rows": batch})
            for batch in _batches(seen_in):
                self._run(CREATE_SEEN_IN, {"rows": batch})
            for batch in _batches(link_rows):
                self._run(CREATE_IS_PERSON, {"rows": batch})
            self._derive_appearances(project)

    def _derive_appearances(self, project: str) -> None:
        self._run(DELETE_APPEARS_IN, {"project": project})
        self._run(DERIVE_APPEARS_IN, {"project": project})

    def clusters(self, project: str) -> list[ClusterRecord]:
        validate_project_name(project)
        params = {"project": project}
        photos: dict[int, dict[str, int]] = {}
        for row in self._run(CLUSTER_PHOTOS, params):
            photos.setdefault(int(row["cluster_id"]), {})[row["photo_id"]] = int(row["faces"])
        links = {int(r["cluster_id"]): r["person_id"] for r in self._run(CLUSTER_LINKS, params)}
        return [
            ClusterRecord(
                project=project,
                cluster_id=int(r["cluster_id"]),
                size=int(r["size"]),
                representative_face_id=int(r["representative_face_id"]),
                representative_photo_id=r["representative_photo_id"],
                representative_box=tuple(float(v) for v in r["representative_box"]),  # type: ignore[arg-type]
                mean_confidence=float(r["mean_confidence"]),
                photo_ids=tuple(photos.get(int(r["cluster_id"]), {})),
                faces_per_photo=tuple(photos.get(int(r["cluster_id"]), {}).values()),
                person_id=links.get(int(r["cluster_id"])),
            )
            for r in self._run(CLUSTERS, params)
        ]

    # -- people ----------------------------------------------------------------------------------------

    def add_person(self, project: str, person_id: str, name: str) -> PersonRecord:
        """Create the person, or rename it when the id exists."""
        validate_project_name(project)
        _person_id(person_id)
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name: must be a non-empty string")
        with self._transaction():
            self._run(ENSURE_PROJECT, {"project": project})
            self._run(
                ADD_PERSON,
                {"project": project, "key": node_key(project, person_id), "person_id": person_id, "name": name},
            )
        return next(p for p in self.people(project) if p.person_id == person_id)

    def set_born(self, project: str, person_id: str, born: str) -> None:
        """Set (or, with "", clear) a person's birth date, YYYY-MM-DD."""
        validate_project_name(project)
        _person_id(person_id)
        if born and not _DATE.fullmatch(born):
            raise ValueError(f"born: {born!r} is not a date YYYY-MM-DD")
        if not self._scalar(SET_BORN, {"key": node_key(project, person_id), "born": born}):
            raise ValueError(f"person_id: no person {person_id!r} in project {project!r}")

    def link_cluster(self, project: str, cluster_id: int, person_id: str) -> None:
        """Name a cluster (replacing an earlier name); its photos then show the person (APPEARS_IN)."""
        validate_project_name(project)
        _person_id(person_id)
        cluster_key, person_key = node_key(project, int(cluster_id)), node_key(project, person_id)
        with self._transaction():
            if not self._scalar(CLUSTER_EXISTS, {"key": cluster_key}):
                raise ValueError(f"cluster_id: no cluster {cluster_id} in project {project!r}")
            if not self._scalar(PERSON_EXISTS, {"key": person_key}):
                raise ValueError(f"person_id: no person {person_id!r} in project {project!r}")
            self._run(UNLINK_CLUSTER, {"key": cluster_key})
            self._run(LINK_CLUSTER, {"cluster": cluster_key, "person": person_key})
            self._derive_appearances(project)

    def people(self, project: str) -> list[PersonRecord]:
        validate_project_name(project)
        params = {"project": project}
        clusters: dict[str, list[int]] = {}
        for row in self._run(PEOPLE_CLUSTERS, params):
            clusters.setdefault(row["person_id"], []).append(int(row["cluster_id"]))
        counts = {row["person_id"]: int(row["n"]) for row in self._run(PEOPLE_PHOTOS, params)}
        return [
            PersonRecord(
                project=project,
                person_id=r["person_id"],
                name=r["name"],
                cluster_ids=tuple(sorted(clusters.get(r["person_id"], ()))),
                photo_count=counts.get(r["person_id"], 0),
                born=r["born"] or "",
            )
            for r in self._run(PEOPLE, params)
        ]

    # -- decisions (linking layer) ---------------------------------------------------------------------

    def set_face_decisions(self, project: str, decisions: Sequence[FaceDecision], *, action: str = "") -> None:
        """Record the current decision about each face (replacing an earlier one), in one transaction. With
        `action` named, the faces' previous decisions are kept with it, so that `undo_last_action` can
        put them back."""
        validate_project_name(project)
        rows = [_decision_row(project, d) for d in decisions]
        if not rows:
            return
        with self._transaction():
            if action:
                wanted = {row["face_id"] for row in rows}
                before = {int(r["face_id"]): r for r in self._run(DECISIONS, {"project": project})
                          if int(r["face_id"]) in wanted}
                snapshot = [before.get(face, {"face_id": face}) for face in sorted(wanted)]
                seq = self._scalar(LAST_ACTION, {"project": project}) + 1
                self._run(ADD_ACTION, {"key": node_key(project, f"action-{seq}"), "project": project, "seq": seq,
                                       "action": action, "actor": rows[0]["actor"],
                                       "decided_at": rows[0]["decided_at"], "before": json.dumps(snapshot)})
            for batch in _batches(rows):
                self._run(SET_DECISIONS, {"project": project, "rows": batch})

    def face_decisions(self, project: str) -> dict[int, FaceDecision]:
        validate_project_name(project)
        return {int(r["face_id"]): _decision(r) for r in self._run(DECISIONS, {"project": project})}

    def undo_last_action(self, project: str) -> ActionRecord | None:
        """Put back the decisions the project's latest recorded action replaced (faces that had none lose
        theirs) and forget that action; None when there is nothing to undo."""
        validate_project_name(project)
        with self._transaction():
            found = self._run(LATEST_ACTION, {"project": project})
            if not found:
                return None
            latest = found[0]
            before = json.loads(latest["before"])
            restore = [row for row in before if "method" in row]
            drop = [node_key(project, int(row["face_id"])) for row in before if "method" not in row]
            for batch in _batches(restore):
                self._run(SET_DECISIONS, {"project": project, "rows": [
                    {**row, "key": node_key(project, int(row["face_id"]))} for row in batch]})
            for batch in _batches(drop):
                self._run(DELETE_DECISIONS, {"keys": batch})
            self._run(DELETE_ACTION, {"key": latest["key"]})
        return ActionRecord(project, int(latest["seq"]), latest["action"], latest["actor"], latest["decided_at"],
                            tuple(int(row["face_id"]) for row in before))

    # -- archivist queries -------------------------------------------------------------------------------

    def co_appearances(self, project: str, person_id: str) -> list[tuple[str, str, int]]:
        """The people who appear in photos with this person: (person id, name, photos together), most first."""
        validate_project_name(project)
        _person_id(person_id)
        if not self._scalar(PERSON_EXISTS, {"key": node_key(project, person_id)}):
            raise ValueError(f"person_id: no person {person_id!r} in project {project!r}")
        return [(r["person_id"], r["name"], int(r["photos"]))
                for r in self._run(CO_APPEARANCES, {"key": node_key(project, person_id)})]

    def co_appearance_chain(self, project: str, first: str, last: str,
                            max_steps: int = 6) -> tuple[list[str], list[str]] | None:
        """The shortest chain of co-appearances from one person to another, at most `max_steps` photos long:
        (person ids from first to last, the photo ids linking each pair), or None when there is none."""
        validate_project_name(project)
        if not 1 <= int(max_steps) <= MAX_CHAIN_STEPS:
            raise ValueError(f"max_steps: must be 1..{MAX_CHAIN_STEPS}, got {max_steps}")
        for person in (first, last):
            _person_id(person)
            if not self._scalar(PERSON_EXISTS, {"key": node_key(project, person)}):
                raise ValueError(f"person_id: no person {person!r} in project {project!r}")
        if first == last:
            return [first], []
        query = SHORTEST_CHAIN[self.dialect].format(hops=2 * int(max_steps))
        rows = self._run(query, {"a": node_key(project, first), "b": node_key(project, last)})
        if not rows:
            return None
        ids = [key.split("/", 1)[1] for key in rows[0]["keys"]]  # person, photo, person, ... person
        return ids[0::2], ids[1::2]

    def photos_with_all(self, project: str, person_ids: Sequence[str]) -> list[PhotoRecord]:
        """The photos in which every one of these people appears, ordered by path."""
        validate_project_name(project)
        wanted = sorted({_person_id(p) for p in person_ids})
        if not wanted:
            raise ValueError("person_ids: name at least one person")
        known = {p.person_id for p in self.people(project)}
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise ValueError(f"person_ids: no person {', '.join(map(repr, unknown))} in project {project!r}")
        keys = [node_key(project, p) for p in wanted]
        return [_photo(project, r) for r in self._run(PHOTOS_WITH_ALL, {"keys": keys, "wanted": len(keys)})]

    def drop_project(self, project: str) -> None:
        validate_project_name(project)
        with self._transaction():
            for query in DROP_PROJECT:
                self._run(query, {"project": project})
