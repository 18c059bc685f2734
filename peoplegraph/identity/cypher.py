"""The `GraphStore` logic both adapters share, written once in Cypher (the statements live in
`peoplegraph.identity.statements`, the record conversions and checks in `peoplegraph.identity.rows`).

Model (keys are `project/id`, project names cannot contain `/`):

    (:Project {name, pending_run, face_model, face_dim})-[:HAS_PHOTO]->(:Photo {key, project, photo_id, path, width, height,
                                                         face_count, taken_at, body_model})
                                           body_model: the body (ReID) model whose people were looked for
    (:Project)-[:HAS_CLUSTER]->(:Cluster {key, project, cluster_id, size, representative_face_id,
                                          representative_photo_id, representative_box, mean_confidence})
    (:Cluster)-[:SEEN_IN {faces}]->(:Photo)
    (:Project)-[:HAS_PERSON]->(:Person {key, project, person_id, name, born, died, aliases, biography,
                                        notes, external_ids, visibility})
    (:Cluster)-[:IS_PERSON]->(:Person)        a named cluster
    (:Person)-[:APPEARS_IN {face_id, box, cluster_id, method, score}]->(:Photo)
                                           one per face of the person in the photo, and how it was named
    (:Person)-[:MEMBER_OF {role, since, until}]->(:Organisation {key, project, organisation_id, name, kind})
    (:Person)-[:RELATED_TO {kind}]->(:Person)
    (:Photo)-[:TOOK_PLACE_AT]->(:Event {key, project, event_id, name, date, place})
    (:Event)-[:PART_OF]->(:Event)          a match of a tournament, a scene of a shoot
    (:FaceDecision {key, project, face_id, confirmed_as, removed_from, ignored, suggested_as,
                    reference_faces, method, actor, score, decided_at, grouped_as, source, face_score})
                                           the current decision about one face (linking layer)
    (:LinkAction {key, project, seq, action, actor, decided_at, before})
                                           an undoable action: the decisions and people it replaced, JSON

Co-appearance (two people in one photo) is a query over APPEARS_IN, never stored.

Rules: `replace_clusters` deletes the project's clusters and APPEARS_IN edges and writes the new ones in
one transaction, each cluster linked to the person its record carries (cluster ids change from run to
run, so links are never carried by id: the linking layer derives them from the face decisions).
`Project.pending_run` marks a clustering run between its vector-store and graph writes. Fields the
embedded dialect cannot type as null or empty lists are plain strings: decisions' `confirmed_as`,
`suggested_as` and `grouped_as` "" for none, `removed_from` person ids joined by a unit separator,
`reference_faces` face ids joined by commas; a person's `aliases` joined by the same separator and
`external_ids` a JSON list of [source, id] pairs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, replace
from typing import Any

from peoplegraph.identity import rows as codec
from peoplegraph.identity import statements as q
from peoplegraph.identity.records import (
    MERGE_PEOPLE, RELATION_KINDS, ActionRecord, ApiKeyRecord, Appearance, ClusterRecord, EventRecord, FaceDecision,
    MembershipRecord, OrganisationRecord, PersonRecord, PhotoRecord, RelationRecord, ShareLinkRecord,
)
from peoplegraph.identity.store import CLUSTER_STATUSES
from peoplegraph.engine.decisions import GROUP_PREFIX, HUMAN_METHODS
from peoplegraph.observations.model import validate_project_name


class CypherGraphStore:
    """`GraphStore` written once in Cypher; an adapter supplies `_run` and `_transaction`.

    `_run(query, params)` returns the rows as dicts keyed by the RETURN aliases; inside
    `with self._transaction():` it runs in that transaction, which commits at the end of the block and
    rolls back (nothing written) on any exception. `dialect` picks the statements that differ.
    """

    dialect = "embedded"

    # Records of removed clusters kept per project (the newest ids): an action on an older one answers 404,
    # not 409 naming where its faces went. Set from the settings by `open_graph_store`.
    gone_clusters_kept = 10_000

    def _run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _scalar(self, query: str, params: dict[str, Any]) -> int:
        rows = self._run(query, params)
        return int(rows[0]["n"] or 0) if rows else 0

    # -- projects and photos ---------------------------------------------------------------------------

    def ensure_project(self, project: str) -> None:
        self._run(q.ENSURE_PROJECT, {"project": validate_project_name(project)})

    def projects(self) -> list[str]:
        return [row["name"] for row in self._run(q.PROJECTS)]

    def has_photo(self, project: str, photo_id: str) -> bool:
        return self._scalar(q.HAS_PHOTO, {"key": codec.node_key(validate_project_name(project), photo_id)}) > 0

    def add_photo(self, photo: PhotoRecord) -> None:
        self.add_photos([photo])

    def add_photos(self, photos: Sequence[PhotoRecord]) -> None:
        """Idempotent by project + photo id: a photo already recorded keeps its first path and sizes."""
        by_project: dict[str, list[dict[str, Any]]] = {}
        for photo in photos:
            project = validate_project_name(photo.project)
            by_project.setdefault(project, []).append(
                {
                    "key": codec.node_key(project, photo.photo_id),
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
                self._run(q.ENSURE_PROJECT, {"project": project})
                for batch in codec.batches(rows):
                    # only photos the graph lacks are created, with their HAS_PHOTO edge: no MERGE of an edge
                    # from the project, which would compare it with every photo the project has
                    known = {r["key"] for r in self._run(q.PHOTO_KEYS, {"keys": [row["key"] for row in batch]})}
                    fresh: dict[str, dict[str, Any]] = {}
                    for row in batch:  # the same photo twice in a batch: its first path, as ever
                        if row["key"] not in known:
                            fresh.setdefault(row["key"], row)
                    if fresh:
                        self._run(q.ADD_PHOTOS, {"project": project, "rows": list(fresh.values())})

    def photos(self, project: str, *, limit: int | None = None, offset: int = 0) -> list[PhotoRecord]:
        """The project's photos ordered by path then photo id (a stable order for paging)."""
        validate_project_name(project)
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("limit/offset: must not be negative")
        if limit is None:
            rows = self._run(q.PHOTOS_FROM, {"project": project, "offset": int(offset)})
        else:
            rows = self._run(q.PHOTOS_PAGE, {"project": project, "offset": int(offset), "limit": int(limit)})
        return [
            codec.photo_record(project, r)
            for r in rows
        ]

    def photos_by_id(self, project: str, photo_ids: Sequence[str]) -> list[PhotoRecord]:
        """The project's photos among `photo_ids` (unknown ids are left out), ordered by path."""
        validate_project_name(project)
        keys = sorted({codec.node_key(project, str(p)) for p in photo_ids})
        rows = [row for batch in codec.batches(keys) for row in self._run(q.PHOTOS_BY_KEY, {"keys": batch})]
        return sorted((codec.photo_record(project, r) for r in rows), key=lambda p: (p.path, p.photo_id))

    def set_photo_paths(self, project: str, paths: Mapping[str, str]) -> None:
        """Record where photos are now (photo id -> path): their files were moved since they were ingested."""
        validate_project_name(project)
        rows = [{"key": codec.node_key(project, str(p)), "path": codec.checked_text(path, "path", empty=False)}
                for p, path in sorted(paths.items())]
        with self._transaction():
            for batch in codec.batches(rows):
                self._run(q.SET_PHOTO_PATHS, {"rows": batch})

    def set_body_model(self, project: str, photo_ids: Sequence[str], model_id: str) -> None:
        """Record that the body model `model_id` has looked for people in these photos."""
        validate_project_name(project)
        for batch in codec.batches(sorted({codec.node_key(project, str(p)) for p in photo_ids})):
            self._run(q.SET_BODY_MODEL, {"keys": batch, "model": str(model_id)})

    def body_scanned(self, project: str, model_id: str) -> set[str]:
        """The photos the body model `model_id` has looked for people in."""
        validate_project_name(project)
        return {r["photo_id"] for r in self._run(q.BODY_SCANNED, {"project": project, "model": str(model_id)})}

    def photo_count(self, project: str) -> int:
        return self._scalar(q.PHOTO_COUNT, {"project": validate_project_name(project)})

    def face_total(self, project: str) -> int:
        """The faces the project's photos were found to hold, by their records (whatever model found them)."""
        return self._scalar(q.FACE_TOTAL, {"project": validate_project_name(project)})

    # -- clusters --------------------------------------------------------------------------------------

    def replace_clusters(self, project: str, clusters: Sequence[ClusterRecord],
                         appearances: Sequence[Appearance] = (), *,
                         gone: Mapping[int, Sequence[int]] | None = None) -> None:
        """Replace the project's machine clusters, their SEEN_IN edges, each cluster's person (the one its
        record carries: cluster ids change from run to run, so no link is carried by id) and the APPEARS_IN
        edges, in one transaction; clears the mark of a clustering run in progress. SEEN_IN and APPEARS_IN
        edges to photos the graph does not know are left out."""
        validate_project_name(project)
        with self._transaction():
            self._run(q.ENSURE_PROJECT, {"project": project})
            self._run(q.DELETE_CLUSTERS, {"project": project})
            self._run(q.DELETE_APPEARS_IN, {"project": project})
            self._write_clusters(project, clusters, appearances, gone or {})

    def update_clusters(self, project: str, clusters: Sequence[ClusterRecord], *, removed: Sequence[int] = (),
                        faces: Sequence[tuple[str, int]] = (), appearances: Sequence[Appearance] = (),
                        gone: Mapping[int, Sequence[int]] | None = None) -> None:
        """Write only what a partial clustering run changed, in one transaction: the `clusters` given replace
        those of the same ids (with their SEEN_IN edges and person), the `removed` ids go, the APPEARS_IN
        edges of `faces` ((photo id, face id) pairs) are replaced by `appearances`; clears the mark of a
        clustering run in progress. Every other cluster and appearance is left as it is."""
        validate_project_name(project)
        keys = sorted({codec.node_key(project, int(c)) for c in [*removed, *(r.cluster_id for r in clusters)]})
        face_rows = [{"photo": codec.node_key(project, photo), "face_id": int(face)} for photo, face in faces]
        with self._transaction():
            self._run(q.ENSURE_PROJECT, {"project": project})
            for batch in codec.batches(keys):
                self._run(q.DELETE_CLUSTERS_BY_KEY, {"keys": batch})
            for batch in codec.batches(face_rows):
                self._run(q.DELETE_APPEARANCES_OF_FACES, {"rows": batch})
            self._write_clusters(project, clusters, appearances, gone or {})

    def highest_gone_cluster(self, project: str) -> int:
        """The highest id of a cluster a run removed (-1 when none): new clusters take ids above it and above
        every id in use, so no id ever names other faces. Kept on the project: the records of removed
        clusters are pruned to the newest `gone_clusters_kept`, their ids are not reused."""
        rows = self._run(q.HIGHEST_GONE_CLUSTER, {"project": validate_project_name(project)})
        return int(rows[0]["n"]) if rows and rows[0]["n"] is not None else -1

    def gone_cluster_faces(self, project: str, cluster_id: int) -> list[int] | None:
        """Some faces of a cluster a run removed (where they are now says where it went); None when no run
        removed that id."""
        found = self._run(q.GONE_CLUSTER, {"key": _gone_key(validate_project_name(project), cluster_id)})
        if not found:
            return None
        return [int(f) for f in found[0]["faces"].split(",") if f]

    def _write_clusters(self, project: str, clusters: Sequence[ClusterRecord],
                        appearances: Sequence[Appearance], gone: Mapping[int, Sequence[int]]) -> None:
        """Create the clusters, their SEEN_IN and IS_PERSON edges and the appearances, keep some faces of each
        cluster that went (`gone`: id -> face ids; an id in use again keeps none), and clear the mark of a
        clustering run (inside the caller's transaction)."""
        rows = [{"key": _gone_key(project, c), "cluster_id": int(c), "faces": ",".join(str(int(f)) for f in faces)}
                for c, faces in gone.items()]
        for batch in codec.batches(rows):
            self._run(q.SET_GONE_CLUSTERS, {"project": project, "rows": batch})
        if gone:
            self._run(q.RAISE_HIGHEST_GONE, {"project": project, "top": max(int(c) for c in gone)})
            self._run(q.PRUNE_GONE_CLUSTERS, {"project": project, "kept": int(self.gone_clusters_kept)})
        for batch in codec.batches([_gone_key(project, c.cluster_id) for c in clusters]):
            self._run(q.DELETE_GONE_CLUSTERS, {"keys": batch})
        rows, seen_in = [], []
        for cluster in clusters:
            if cluster.project != project:
                raise ValueError(f"project: cluster {cluster.cluster_id} belongs to {cluster.project!r}, not {project!r}")
            key = codec.node_key(project, int(cluster.cluster_id))
            rows.append(
                {
                    "key": key,
                    "cluster_id": int(cluster.cluster_id),
                    "size": int(cluster.size),
                    "representative_face_id": int(cluster.representative_face_id),
                    "representative_photo_id": str(cluster.representative_photo_id),
                    "representative_box": codec.checked_box(cluster.representative_box, f"cluster {cluster.cluster_id}"),
                    "mean_confidence": float(cluster.mean_confidence),
                }
            )
            for photo_id, faces in zip(cluster.photo_ids, cluster.faces_per_photo or [1] * len(cluster.photo_ids)):
                seen_in.append({"cluster": key, "photo": codec.node_key(project, photo_id), "faces": faces})
        person_of = {int(c.cluster_id): c.person_id for c in clusters if c.person_id is not None}
        appearance_rows = []
        for a in appearances:
            if person_of.get(int(a.cluster_id)) != a.person_id:
                raise ValueError(f"appearances: face {a.face_id} is in cluster {a.cluster_id}, which is not "
                                 f"person {a.person_id!r}")
            appearance_rows.append({
                "person": codec.node_key(project, a.person_id), "photo": codec.node_key(project, a.photo_id),
                "face_id": int(a.face_id), "box": codec.checked_box(a.box, f"face {a.face_id}"), "cluster_id": int(a.cluster_id),
                "method": str(a.method), "score": codec.NO_SCORE if a.score is None else float(a.score)})
        link_rows = []
        for cluster_id, person_id in person_of.items():
            if not self._scalar(q.PERSON_EXISTS, {"key": codec.node_key(project, person_id)}):
                raise ValueError(f"person_id: no person {person_id!r} in project {project!r}")
            link_rows.append({"cluster": codec.node_key(project, cluster_id), "person": codec.node_key(project, person_id)})
        for batch in codec.batches(rows):
            self._run(q.CREATE_CLUSTERS, {"project": project, "rows": batch})
        for batch in codec.batches(seen_in):
            self._run(q.CREATE_SEEN_IN, {"rows": batch})
        for batch in codec.batches(link_rows):
            self._run(q.CREATE_IS_PERSON, {"rows": batch})
        for batch in codec.batches(appearance_rows):
            self._run(q.CREATE_APPEARS_IN, {"rows": batch})
        self._run(q.SET_PENDING_RUN, {"project": project, "run": ""})

    def mark_clustering(self, project: str, mode: str) -> None:
        """Mark a clustering run as started (before its vector-store writes); `replace_clusters` clears the
        mark, so a mark still there tells that a run died between the two stores' writes."""
        validate_project_name(project)
        with self._transaction():
            self._run(q.ENSURE_PROJECT, {"project": project})
            self._run(q.SET_PENDING_RUN, {"project": project, "run": str(mode)})

    def pending_clustering(self, project: str) -> str:
        """The mode of a clustering run that started and never finished, "" when none."""
        rows = self._run(q.PENDING_RUN, {"project": validate_project_name(project)})
        return (rows[0]["run"] or "") if rows else ""

    def face_model(self, project: str) -> tuple[str, int] | None:
        """The face model (id, embedding dimension) whose faces the project holds; None until its first faces."""
        rows = self._run(q.FACE_MODEL, {"project": validate_project_name(project)})
        if not rows or not rows[0]["model"]:
            return None
        return str(rows[0]["model"]), int(rows[0]["dim"] or 0)

    def set_face_model(self, project: str, model_id: str, dim: int) -> None:
        self._run(q.SET_FACE_MODEL, {"project": validate_project_name(project), "model": model_id, "dim": int(dim)})

    def add_api_key(self, key: ApiKeyRecord, secret_hash: str) -> None:
        self._run(q.ADD_API_KEY, {"hash": secret_hash, "key_id": key.key_id, "name": key.name,
                                  "project": key.project, "role": key.role, "created_at": key.created_at})

    def api_keys(self, project: str | None = None) -> list[ApiKeyRecord]:
        """The keys of a project ("" : the admin keys), or every key when None; revoked ones included."""
        rows = self._run(q.ALL_API_KEYS) if project is None else self._run(q.API_KEYS, {"project": project})
        return [ApiKeyRecord(**row) for row in rows]

    def api_key(self, key_id: str) -> tuple[ApiKeyRecord, str] | None:
        """The key and the sha256 of its secret, to compare with."""
        return api_key_of(self._run(q.API_KEY, {"key_id": key_id}))

    def revoke_api_key(self, key_id: str, when: str) -> None:
        self._run(q.REVOKE_API_KEY, {"key_id": key_id, "revoked_at": when})

    def add_share_link(self, link: ShareLinkRecord, token_hash: str) -> None:
        fields = {k: v for k, v in asdict(link).items() if k != "revoked_at"}
        self._run(q.ADD_SHARE_LINK, {"hash": token_hash, **fields, "album": ",".join(link.album)})

    def share_links(self, project: str) -> list[ShareLinkRecord]:
        return [codec.share_link_record(row) for row in self._run(q.SHARE_LINKS, {"project": validate_project_name(project)})]

    def share_link(self, token_hash: str) -> ShareLinkRecord | None:
        rows = self._run(q.SHARE_LINK_BY_HASH, {"hash": token_hash})
        return codec.share_link_record(rows[0]) if rows else None

    def revoke_share_link(self, project: str, link_id: str, when: str) -> None:
        self._run(q.REVOKE_SHARE_LINK, {"project": project, "link_id": link_id, "revoked_at": when})

    def clusters(self, project: str) -> list[ClusterRecord]:
        validate_project_name(project)
        params = {"project": project}
        links = {int(r["cluster_id"]): r["person_id"] for r in self._run(q.CLUSTER_LINKS, params)}
        rows = [{**r, "person_id": links.get(int(r["cluster_id"]))} for r in self._run(q.CLUSTERS, params)]
        return self._cluster_records(project, rows, self._run(q.CLUSTER_PHOTOS, params))

    def cluster_page(self, project: str, status: str, limit: int, offset: int) -> tuple[list[ClusterRecord], int]:
        validate_project_name(project)
        if status not in CLUSTER_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(CLUSTER_STATUSES)}")
        params = {"project": project, "status": status}
        total = int(self._run(q.CLUSTER_COUNT, params)[0]["n"])
        rows = self._run(f"{q.CLUSTER_PAGE} SKIP {int(offset)} LIMIT {int(limit)}", params)  # integers: safe
        photos = self._run(q.PHOTOS_OF_CLUSTERS, {"project": project,
                                                   "cluster_ids": [int(r["cluster_id"]) for r in rows]})
        return self._cluster_records(project, rows, photos), total

    @staticmethod
    def _cluster_records(project: str, rows: list[dict[str, Any]], photo_rows: list[dict[str, Any]]
                         ) -> list[ClusterRecord]:
        photos: dict[int, dict[str, int]] = {}
        for row in photo_rows:
            photos.setdefault(int(row["cluster_id"]), {})[row["photo_id"]] = int(row["faces"])
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
                person_id=r["person_id"],
            )
            for r in rows
        ]

    # -- people ----------------------------------------------------------------------------------------

    def add_person(self, project: str, person_id: str, name: str) -> PersonRecord:
        """Create the person, or rename it when the id exists."""
        known = self.person(project, person_id)
        self.update_person(replace(known, name=name) if known else PersonRecord(project, person_id, name))
        return self.person(project, person_id)  # type: ignore[return-value]

    def update_person(self, person: PersonRecord, *, action: str = "", actor: str = "",
                      decided_at: str = "") -> PersonRecord:
        """Create the person or replace its editable fields (`PERSON_FIELDS`); with `action` named, the person
        as it was is kept for `undo_last_action`."""
        with self._transaction():
            if action:
                self._record_action(person.project, action, actor, decided_at, [], [person.person_id])
            self._write_person(person)
        return self.person(person.project, person.person_id)  # type: ignore[return-value]

    def _write_person(self, person: PersonRecord) -> None:
        project = validate_project_name(person.project)
        self._run(q.ENSURE_PROJECT, {"project": project})
        self._run(q.WRITE_PERSON, {"project": project, "key": codec.node_key(project, person.person_id),
                                 **codec.person_row(person)})

    def has_person(self, project: str, person_id: str) -> bool:
        return self._scalar(q.PERSON_EXISTS, {"key": codec.node_key(validate_project_name(project), person_id)}) > 0

    def person(self, project: str, person_id: str) -> PersonRecord | None:
        """One person with its clusters and photo count, or None."""
        validate_project_name(project)
        params = {"key": codec.node_key(project, codec.checked_id(person_id))}
        found = self._run(q.PERSON, params)
        if not found:
            return None
        clusters = tuple(sorted(int(r["cluster_id"]) for r in self._run(q.PERSON_CLUSTERS, params)))
        return codec.person_record(project, found[0], clusters, self._scalar(q.PERSON_PHOTO_COUNT, params))

    def people(self, project: str) -> list[PersonRecord]:
        validate_project_name(project)
        params = {"project": project}
        clusters: dict[str, list[int]] = {}
        for row in self._run(q.PEOPLE_CLUSTERS, params):
            clusters.setdefault(row["person_id"], []).append(int(row["cluster_id"]))
        counts = {row["person_id"]: int(row["n"]) for row in self._run(q.PEOPLE_PHOTOS, params)}
        return [codec.person_record(project, r, tuple(sorted(clusters.get(r["person_id"], ()))), counts.get(r["person_id"], 0))
                for r in self._run(q.PEOPLE, params)]

    def merge_people(self, kept: PersonRecord, merged_id: str, decisions: Sequence[FaceDecision],
                     memberships: Sequence[MembershipRecord] | None = None, *, action: str = MERGE_PEOPLE,
                     actor: str = "", decided_at: str = "") -> None:
        """Fold person `merged_id` into `kept` in one transaction: `kept`'s fields written (the caller has
        combined them), the merged person's relations moved over and its memberships too (or `memberships`,
        the caller's choice of them, already naming `kept`), the merged person deleted, `decisions` (the
        faces that named the merged person, renamed) recorded; undoable."""
        project = validate_project_name(kept.project)
        if merged_id == kept.person_id:
            raise ValueError("merge: a person cannot be merged into itself")
        with self._transaction():
            for person in (kept.person_id, merged_id):
                if not self._scalar(q.PERSON_EXISTS, {"key": codec.node_key(project, person)}):
                    raise ValueError(f"person_id: no person {person!r} in project {project!r}")
            if memberships is None:
                memberships = [replace(m, person_id=kept.person_id)
                               for m in self.memberships(project, person_id=merged_id)]
            relations = []
            for r in self.relations(project, merged_id):
                ends = [kept.person_id if p == merged_id else p for p in (r.person_id, r.other_id)]
                if ends[0] != ends[1]:
                    relations.append(replace(r, person_id=ends[0], other_id=ends[1]))
            had = {m.same_as: m for m in self.memberships(project, person_id=kept.person_id)}
            had_relations = set(self.relations(project, kept.person_id))
            moved = {m.same_as for m in memberships}
            added = {"memberships": [asdict(m) for m in memberships if m.same_as not in had],
                     "replaced_memberships": [asdict(m) for key, m in had.items() if key in moved],
                     "relations": [asdict(r) for r in relations if codec.stored_way(r) not in had_relations]}
            self._record_action(project, action, actor, decided_at, [d.face_id for d in decisions],
                                [kept.person_id, merged_id], links_of=[merged_id], added=added)
            self._run(q.DELETE_PERSON, {"key": codec.node_key(project, merged_id)})
            self._write_person(kept)
            for m in memberships:
                self.add_membership(m)
            for r in relations:
                self.add_relation(r)
            self._write_decisions(project, decisions)

    # -- decisions (linking layer) ---------------------------------------------------------------------

    def set_face_decisions(self, project: str, decisions: Sequence[FaceDecision], *, action: str = "",
                           people: Sequence[PersonRecord] = (), cleared: Sequence[int] = (), actor: str = "",
                           decided_at: str = "") -> None:
        """Record the current decision about each face (replacing an earlier one), forget the decisions of
        the `cleared` faces, and write `people` (new ones a decision names), in one transaction. With
        `action` named, the faces' previous decisions and the people as they were are kept with it, so that
        `undo_last_action` can put them back (`actor` and `decided_at` default to the first decision's)."""
        validate_project_name(project)
        rows = [codec.decision_row(project, d) for d in decisions]  # checked before anything is written
        gone = sorted({int(f) for f in cleared})
        if not rows and not people and not gone and not action:
            return
        with self._transaction():
            if action:
                first = decisions[0] if decisions else FaceDecision(0)
                self._record_action(project, action, actor or first.actor, decided_at or first.decided_at,
                                    [d.face_id for d in decisions] + gone, [p.person_id for p in people])
            for person in people:
                self._write_person(person)
            for batch in codec.batches([codec.node_key(project, f) for f in gone]):
                self._run(q.DELETE_DECISIONS, {"keys": batch})
            self._write_rows(project, rows)

    def _write_decisions(self, project: str, decisions: Sequence[FaceDecision]) -> None:
        self._write_rows(project, [codec.decision_row(project, d) for d in decisions])

    def _write_rows(self, project: str, rows: list[dict[str, Any]]) -> None:
        for batch in codec.batches(rows):
            self._run(q.SET_DECISIONS, {"project": project, "rows": batch})

    def _record_action(self, project: str, action: str, actor: str, decided_at: str, face_ids: Sequence[int],
                       person_ids: Sequence[str], *, links_of: Sequence[str] = (),
                       added: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Keep what an action is about to replace: the faces' decisions, the people's fields (None for a
        person it creates), the memberships and relations of the people in `links_of` (people it deletes),
        and the memberships and relations it `added`, which its undo takes away again."""
        wanted = {int(f) for f in face_ids}
        before = {int(r["face_id"]): r for batch in codec.batches(sorted(wanted))
                  for r in self._run(q.DECISIONS_BY_KEY, {"keys": [codec.node_key(project, f) for f in batch]})}
        people = [self._person_snapshot(project, person, person in links_of) for person in dict.fromkeys(person_ids)]
        snapshot = {"faces": [before.get(face, {"face_id": face}) for face in sorted(wanted)], "people": people,
                    "added": added or {}}
        seq = self._scalar(q.LAST_ACTION, {"project": project}) + 1
        self._run(q.ADD_ACTION, {"key": codec.node_key(project, f"action-{seq}"), "project": project, "seq": seq,
                               "action": action, "actor": actor, "decided_at": decided_at,
                               "before": json.dumps(snapshot)})

    def _person_snapshot(self, project: str, person_id: str, links: bool) -> dict[str, Any]:
        rows = self._run(q.PERSON, {"key": codec.node_key(project, codec.checked_id(person_id))})
        if not rows:
            return {"person_id": person_id, "row": None}
        if not links:
            return {"person_id": person_id, "row": rows[0]}
        return {"person_id": person_id, "row": rows[0],
                "memberships": [asdict(m) for m in self.memberships(project, person_id=person_id)],
                "relations": [asdict(r) for r in self.relations(project, person_id)]}

    def face_decisions(self, project: str, *, face_ids: Sequence[int] | None = None,
                       identities: Sequence[str] | None = None) -> dict[int, FaceDecision]:
        """The current decisions of the project by face id: all of them, or (with either filter) those about
        `face_ids` and those that name any of `identities` (confirmed, grouped, suggested or removed from)."""
        validate_project_name(project)
        if face_ids is None and identities is None:
            return {int(r["face_id"]): codec.decision_record(r) for r in self._run(q.DECISIONS, {"project": project})}
        rows = []
        keys = sorted({codec.node_key(project, int(f)) for f in face_ids or ()})
        for batch in codec.batches(keys):
            rows += self._run(q.DECISIONS_BY_KEY, {"keys": batch})
        names = sorted(set(identities or ()))
        for batch in codec.batches(names):
            rows += self._run(q.DECISIONS_NAMING, {"project": project, "ids": batch})
        for name in names:
            rows += self._run(q.DECISIONS_REMOVED_FROM, {"project": project, "separator": codec.SEPARATOR,
                                                         "needle": codec.SEPARATOR + name + codec.SEPARATOR})
        return {int(r["face_id"]): codec.decision_record(r) for r in rows}

    def ignored_face_ids(self, project: str) -> set[int]:
        """The faces editors ignored."""
        validate_project_name(project)
        return {int(r["face_id"]) for r in self._run(q.IGNORED_FACES, {"project": project})}

    def group_names(self, project: str) -> set[str]:
        """Every unnamed group a decision names (as a member's group, or as what a face is not)."""
        validate_project_name(project)
        names = set()
        for r in self._run(q.GROUP_MENTIONS, {"project": project, "prefix": GROUP_PREFIX}):
            names |= {r["grouped_as"]} | set((r["removed_from"] or "").split(codec.SEPARATOR))
        return {n for n in names if n.startswith(GROUP_PREFIX)}

    def human_confirmations(self, project: str) -> dict[int, FaceDecision]:
        """The faces editors confirmed (or imported) as a person."""
        validate_project_name(project)
        return {int(r["face_id"]): codec.decision_record(r)
                for r in self._run(q.HUMAN_CONFIRMATIONS, {"project": project, "methods": list(HUMAN_METHODS)})}

    def latest_action(self, project: str, *, replaced: bool = False) -> ActionRecord | None:
        """The action `undo_last_action` would undo, left in place (with `replaced`, the decisions it replaced
        too); None when there is none."""
        found = self._run(q.LATEST_ACTION, {"project": validate_project_name(project)})
        return _action(project, found[0], replaced=replaced) if found else None

    def actions(self, project: str) -> list[ActionRecord]:
        """Every action that can still be undone, first first, each with the decisions it replaced."""
        return [_action(project, row, replaced=True) for row in self._run(q.ACTIONS, {"project": validate_project_name(project)})]

    def undo_last_action(self, project: str) -> ActionRecord | None:
        """Put back what the project's latest recorded action replaced (faces that had no decision lose
        theirs, people it created go, people it changed or merged away come back with their memberships and
        relations) and forget that action; None when there is nothing to undo."""
        validate_project_name(project)
        with self._transaction():
            found = self._run(q.LATEST_ACTION, {"project": project})
            if not found:
                return None
            latest = found[0]
            before = json.loads(latest["before"])
            if isinstance(before, list):  # written before actions could change people
                before = {"faces": before, "people": []}
            faces, people = before["faces"], before["people"]
            added = before.get("added", {})
            for m in added.get("memberships", []):
                self.remove_membership(MembershipRecord(**m))
            for r in added.get("relations", []):
                self.remove_relation(RelationRecord(**r))
            for m in added.get("replaced_memberships", []):
                self.add_membership(MembershipRecord(**m))
            for snapshot in people:
                if snapshot["row"] is None:
                    self._run(q.DELETE_PERSON, {"key": codec.node_key(project, snapshot["person_id"])})
                else:
                    self._write_person(codec.person_record(project, snapshot["row"]))
            for snapshot in people:
                for m in snapshot.get("memberships", []):
                    self.add_membership(MembershipRecord(**m))
                for r in snapshot.get("relations", []):
                    if all(self._scalar(q.PERSON_EXISTS, {"key": codec.node_key(project, r[end])})
                           for end in ("person_id", "other_id")):
                        self.add_relation(RelationRecord(**r))
            restore = [{"grouped_as": "", "source": "", "face_score": codec.NO_FACE_SCORE, **row, "key": codec.node_key(project, int(row["face_id"]))}
                       for row in faces if "method" in row]
            drop = [codec.node_key(project, int(row["face_id"])) for row in faces if "method" not in row]
            self._write_rows(project, restore)
            for batch in codec.batches(drop):
                self._run(q.DELETE_DECISIONS, {"keys": batch})
            self._run(q.DELETE_ACTION, {"key": latest["key"]})
        return ActionRecord(project, int(latest["seq"]), latest["action"], latest["actor"], latest["decided_at"],
                            tuple(int(row["face_id"]) for row in faces),
                            tuple(s["person_id"] for s in people))

    # -- organisations, memberships, relations, events -------------------------------------------------

    def add_organisation(self, organisation: OrganisationRecord) -> OrganisationRecord:
        """Create the organisation (a team, a club...) or replace its name and kind."""
        project = validate_project_name(organisation.project)
        with self._transaction():
            self._run(q.ENSURE_PROJECT, {"project": project})
            self._run(q.WRITE_ORGANISATION, {
                "key": codec.node_key(project, codec.checked_id(organisation.organisation_id, "organisation_id")),
                "project": project, "organisation_id": organisation.organisation_id,
                "name": codec.checked_text(organisation.name, "name", limit=1000, empty=False).strip(),
                "kind": codec.checked_text(organisation.kind, "kind", limit=100)})
        return organisation

    def organisations(self, project: str) -> list[OrganisationRecord]:
        validate_project_name(project)
        return [OrganisationRecord(project, r["organisation_id"], r["name"], r["kind"] or "")
                for r in self._run(q.ORGANISATIONS, {"project": project})]

    def add_membership(self, membership: MembershipRecord) -> None:
        """(Person)-[:MEMBER_OF {role, since, until}]->(Organisation); the same person, organisation, role and
        start again replaces the end of the period."""
        project = validate_project_name(membership.project)
        person = codec.node_key(project, codec.checked_id(membership.person_id))
        organisation = codec.node_key(project, codec.checked_id(membership.organisation_id, "organisation_id"))
        since, until = codec.checked_date(membership.since, "since", partial=True), codec.checked_date(membership.until, "until", partial=True)
        if since and until and codec.date_bound(until, upper=True) < codec.date_bound(since, upper=False):
            raise ValueError(f"until: {until} is before since {since}")
        params = {"person": person, "organisation": organisation, "role": codec.checked_text(membership.role, "role", limit=200),
                  "since": since, "until": until}
        with self._transaction():
            if not self._scalar(q.PERSON_EXISTS, {"key": person}):
                raise ValueError(f"person_id: no person {membership.person_id!r} in project {project!r}")
            if not self._scalar(q.ORGANISATION_EXISTS, {"key": organisation}):
                raise ValueError(f"organisation_id: no organisation {membership.organisation_id!r} in project "
                                 f"{project!r}")
            self._run(q.DELETE_MEMBERSHIP, params)
            self._run(q.ADD_MEMBERSHIP, params)

    def remove_membership(self, membership: MembershipRecord) -> None:
        project = validate_project_name(membership.project)
        self._run(q.DELETE_MEMBERSHIP, {
            "person": codec.node_key(project, membership.person_id),
            "organisation": codec.node_key(project, membership.organisation_id),
            "role": membership.role, "since": membership.since})

    def memberships(self, project: str, *, person_id: str = "", organisation_id: str = "", since: str = "",
                    until: str = "") -> list[MembershipRecord]:
        """Memberships of a person, or of an organisation's members, whose period overlaps since..until
        (partial dates; open ends and unknown dates count as overlapping)."""
        validate_project_name(project)
        lower = codec.date_bound(codec.checked_date(since, "since", partial=True), upper=False)
        upper = codec.date_bound(codec.checked_date(until, "until", partial=True), upper=True)
        rows = self._run(q.MEMBERSHIPS, {
            "project": project, "person": codec.node_key(project, person_id) if person_id else "",
            "organisation": codec.node_key(project, organisation_id) if organisation_id else ""})
        return [MembershipRecord(project, r["person_id"], r["organisation_id"], r["role"] or "", r["since"] or "",
                                 r["until"] or "")
                for r in rows
                if codec.date_bound(r["since"] or "", upper=False) <= upper and codec.date_bound(r["until"] or "", upper=True) >= lower]

    def add_relation(self, relation: RelationRecord) -> None:
        """(Person)-[:RELATED_TO {kind}]->(Person): `person_id` is `kind` of `other_id`; given again, nothing
        changes."""
        project = validate_project_name(relation.project)
        if relation.kind not in RELATION_KINDS:
            raise ValueError(f"kind: {relation.kind!r} is not one of {', '.join(RELATION_KINDS)}")
        if relation.person_id == relation.other_id:
            raise ValueError("relation: a person cannot be related to themself")
        relation = codec.stored_way(relation)
        params = {"a": codec.node_key(project, codec.checked_id(relation.person_id)),
                  "b": codec.node_key(project, codec.checked_id(relation.other_id, "other_id")), "kind": relation.kind}
        with self._transaction():
            for person, key in ((relation.person_id, params["a"]), (relation.other_id, params["b"])):
                if not self._scalar(q.PERSON_EXISTS, {"key": key}):
                    raise ValueError(f"person_id: no person {person!r} in project {project!r}")
            self._run(q.DELETE_RELATION, params)
            self._run(q.ADD_RELATION, params)

    def remove_relation(self, relation: RelationRecord) -> None:
        project = validate_project_name(relation.project)
        relation = codec.stored_way(relation)
        self._run(q.DELETE_RELATION, {"a": codec.node_key(project, relation.person_id),
                                    "b": codec.node_key(project, relation.other_id), "kind": relation.kind})

    def relations(self, project: str, person_id: str) -> list[RelationRecord]:
        """Every relation this person is at either end of."""
        validate_project_name(project)
        return [RelationRecord(project, r["person_id"], r["other_id"], r["kind"])
                for r in self._run(q.RELATIONS, {"key": codec.node_key(project, codec.checked_id(person_id))})]

    def add_event(self, event: EventRecord) -> EventRecord:
        """Create the event or replace its fields; `part_of` names a larger event (never the event itself or
        one inside it)."""
        project = validate_project_name(event.project)
        key = codec.node_key(project, codec.checked_id(event.event_id, "event_id"))
        params = {"key": key, "project": project, "event_id": event.event_id,
                  "name": codec.checked_text(event.name, "name", limit=1000, empty=False).strip(),
                  "date": codec.checked_date(event.date, "date", partial=True), "place": codec.checked_text(event.place, "place", limit=1000)}
        with self._transaction():
            if event.part_of:
                whole = event.part_of
                parents = {e.event_id: e.part_of for e in self.events(project)}
                if whole not in parents:
                    raise ValueError(f"part_of: no event {whole!r} in project {project!r}")
                while whole:
                    if whole == event.event_id:
                        raise ValueError(f"part_of: {event.part_of!r} is {event.event_id!r} or inside it")
                    whole = parents.get(whole, "")
            self._run(q.ENSURE_PROJECT, {"project": project})
            self._run(q.WRITE_EVENT, params)
            self._run(q.DELETE_PART_OF, {"key": key})
            if event.part_of:
                self._run(q.ADD_PART_OF, {"key": key, "whole": codec.node_key(project, event.part_of)})
        return event

    def events(self, project: str) -> list[EventRecord]:
        validate_project_name(project)
        return [EventRecord(project, r["event_id"], r["name"], r["date"] or "", r["place"] or "", r["part_of"] or "")
                for r in self._run(q.EVENTS, {"project": project})]

    def set_photo_event(self, project: str, photo_ids: Sequence[str], event_id: str) -> int:
        """Say these photos TOOK_PLACE_AT the event (each photo at one event: an earlier one is replaced);
        `event_id` "" takes them out of any. Returns how many of the photos the project has."""
        validate_project_name(project)
        keys = sorted({codec.node_key(project, str(p)) for p in photo_ids})
        event = codec.node_key(project, codec.checked_id(event_id, "event_id")) if event_id else ""
        with self._transaction():
            if event and not self._scalar(q.EVENT_EXISTS, {"key": event}):
                raise ValueError(f"event_id: no event {event_id!r} in project {project!r}")
            known = len(self.photos_by_id(project, photo_ids))
            for batch in codec.batches(keys):
                self._run(q.UNSET_PHOTO_EVENTS, {"keys": batch})
                if event:
                    self._run(q.SET_PHOTO_EVENTS, {"keys": batch, "event": event})
        return known

    def events_of_photos(self, project: str, photo_ids: Sequence[str]) -> dict[str, str]:
        """The event each of these photos took place at (photos at none left out)."""
        validate_project_name(project)
        keys = sorted({codec.node_key(project, str(p)) for p in photo_ids})
        return {r["photo_id"]: r["event_id"] for batch in codec.batches(keys)
                for r in self._run(q.EVENTS_OF_PHOTOS, {"keys": batch})}

    def photos_taken_between(self, project: str, start: str, end: str) -> list[PhotoRecord]:
        """The photos whose EXIF time (ISO 8601) lies from `start` to `end`, both included."""
        validate_project_name(project)
        return [codec.photo_record(project, r)
                for r in self._run(q.PHOTOS_TAKEN_BETWEEN, {"project": project, "since": start, "until": end})]

    def event_photos(self, project: str, event_id: str) -> list[PhotoRecord]:
        validate_project_name(project)
        return [codec.photo_record(project, r) for r in self._run(q.EVENT_PHOTOS, {"key": codec.node_key(project, event_id)})]

    # -- archivist queries -------------------------------------------------------------------------------

    def person_photos(self, project: str, person_id: str, *, limit: int = 50,
                      offset: int = 0) -> list[tuple[PhotoRecord, list[Appearance]]]:
        """A page of the photos a person appears in (ordered by path), each with the person's faces there:
        box, cluster and how each was named."""
        return self.people_photos(project, [person_id], limit=limit, offset=offset)[person_id]

    def people_photos(self, project: str, person_ids: Sequence[str], *, limit: int = 50,
                      offset: int = 0) -> dict[str, list[tuple[PhotoRecord, list[Appearance]]]]:
        """`person_photos` for several people in two statements (a page of people, each with its photos)."""
        validate_project_name(project)
        if offset < 0 or limit < 0:
            raise ValueError("limit/offset: must not be negative")
        keys = {codec.node_key(project, codec.checked_id(p)): p for p in person_ids}
        pages: dict[str, list[PhotoRecord]] = {p: [] for p in person_ids}
        if limit:
            for r in self._run(q.PEOPLE_PHOTOS_PAGE[self.dialect], {"keys": list(keys), "offset": int(offset),
                                                                     "limit": int(limit)}):
                pages[r["person_id"]].append(codec.photo_record(project, r))
        photos = {codec.node_key(project, ph.photo_id) for page in pages.values() for ph in page}
        faces: dict[tuple[str, str], list[Appearance]] = {}
        if photos:
            for r in self._run(q.PEOPLE_APPEARANCES, {"people": list(keys), "photos": sorted(photos)}):
                faces.setdefault((r["person_id"], r["photo_id"]), []).append(Appearance(
                    r["person_id"], r["photo_id"], int(r["face_id"]),
                    tuple(float(v) for v in r["box"]),  # type: ignore[arg-type]
                    int(r["cluster_id"]), r["method"], None if r["score"] == codec.NO_SCORE else float(r["score"])))
        return {p: [(ph, faces.get((p, ph.photo_id), [])) for ph in page] for p, page in pages.items()}

    def person_events(self, project: str, person_id: str) -> list[tuple[EventRecord, int]]:
        """The events of the photos a person appears in, with how many such photos, by date."""
        validate_project_name(project)
        counts = {r["event_id"]: int(r["photos"])
                  for r in self._run(q.PERSON_EVENTS, {"key": codec.node_key(project, codec.checked_id(person_id))})}
        return [(e, counts[e.event_id]) for e in self.events(project) if e.event_id in counts]


    def co_appearances(self, project: str, person_id: str, *, everyone: bool = False) -> list[tuple[str, str, int]]:
        """The people who appear in photos with this person: (person id, name, photos together), most first;
        hidden and private people only with `everyone`."""
        validate_project_name(project)
        codec.checked_id(person_id)
        if not self._scalar(q.PERSON_EXISTS, {"key": codec.node_key(project, person_id)}):
            raise ValueError(f"person_id: no person {person_id!r} in project {project!r}")
        return [(r["person_id"], r["name"], int(r["photos"]))
                for r in self._run(q.CO_APPEARANCES, {"key": codec.node_key(project, person_id), "everyone": bool(everyone)})]

    def co_appearance_chain(self, project: str, first: str, last: str,
                            max_steps: int = 6) -> tuple[list[str], list[str]] | None:
        """The shortest chain of co-appearances from one person to another, at most `max_steps` photos long:
        (person ids from first to last, the photo ids linking each pair), or None when there is none."""
        validate_project_name(project)
        if not 1 <= int(max_steps) <= q.MAX_CHAIN_STEPS:
            raise ValueError(f"max_steps: must be 1..{q.MAX_CHAIN_STEPS}, got {max_steps}")
        for person in (first, last):
            codec.checked_id(person)
            if not self._scalar(q.PERSON_EXISTS, {"key": codec.node_key(project, person)}):
                raise ValueError(f"person_id: no person {person!r} in project {project!r}")
        if first == last:
            return [first], []
        query = q.SHORTEST_CHAIN[self.dialect].format(hops=2 * int(max_steps))
        rows = self._run(query, {"a": codec.node_key(project, first), "b": codec.node_key(project, last)})
        if not rows:
            return None
        ids = [key.split("/", 1)[1] for key in rows[0]["keys"]]  # person, photo, person, ... person
        return ids[0::2], ids[1::2]

    def photos_with_all(self, project: str, person_ids: Sequence[str]) -> list[PhotoRecord]:
        """The photos in which every one of these people appears, ordered by path."""
        validate_project_name(project)
        wanted = sorted({codec.checked_id(p) for p in person_ids})
        if not wanted:
            raise ValueError("person_ids: name at least one person")
        known = {p.person_id for p in self.people(project)}
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise ValueError(f"person_ids: no person {', '.join(map(repr, unknown))} in project {project!r}")
        keys = [codec.node_key(project, p) for p in wanted]
        return [codec.photo_record(project, r) for r in self._run(q.PHOTOS_WITH_ALL, {"keys": keys, "wanted": len(keys)})]

    def delete_photo(self, project: str, photo_id: str, face_ids: Sequence[int]) -> None:
        """The photo (its appearances and event tags) and the decisions about its faces, in one transaction."""
        validate_project_name(project)
        with self._transaction():
            for batch in codec.batches(sorted({int(f) for f in face_ids})):
                self._run(q.DELETE_DECISIONS, {"keys": [codec.node_key(project, f) for f in batch]})
            self._run(q.DELETE_PHOTO, {"key": codec.node_key(project, photo_id)})

    def drop_project(self, project: str) -> None:
        validate_project_name(project)
        with self._transaction():
            for query in q.DROP_PROJECT:
                self._run(query, {"project": project})


def _action(project: str, row: dict[str, Any], *, replaced: bool = False) -> ActionRecord:
    before = json.loads(row["before"])
    faces, people = (before, []) if isinstance(before, list) else (before["faces"], before["people"])
    earlier = {int(r["face_id"]): codec.decision_record(r) if "method" in r else None for r in faces} if replaced else {}
    return ActionRecord(project, int(row["seq"]), row["action"], row["actor"], row["decided_at"],
                        tuple(int(r["face_id"]) for r in faces), tuple(s["person_id"] for s in people), earlier)


def api_key_of(rows: list[dict[str, Any]]) -> tuple[ApiKeyRecord, str] | None:
    """The key an API_KEY statement found, and the sha256 of its secret."""
    if not rows:
        return None
    row = dict(rows[0])
    digest = row.pop("hash")
    return ApiKeyRecord(**row), digest


def _gone_key(project: str, cluster_id: int) -> str:
    return codec.node_key(project, f"gone-{int(cluster_id)}")
