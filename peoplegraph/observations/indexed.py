"""`IndexedVectorStore`: a `VectorStore` that keeps a `FaceIndex` of each project in step with every write.

Order of a write: the index is read (built from the store if it has to be, caught up with the journal of
other processes' writes when there is one), marked dirty, the store is written, the index is updated and
saved, the write appended to the journal, the mark cleared. A process killed in between leaves the mark,
and the next process rebuilds that project's index from the store, which stays the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from peoplegraph.observations.face_index import FaceIndex, ProjectFaces
from peoplegraph.observations.journal import ChangeJournal
from peoplegraph.observations.milvus import collection_name_for
from peoplegraph.observations.model import FaceObservation, validate_project_name
from peoplegraph.observations.store import VectorStore


class IndexedVectorStore:
    def __init__(self, store: VectorStore, folder: Path, journal: ChangeJournal | None = None) -> None:
        self._store = store
        self.model_id = store.model_id
        self.dim = store.dim
        self.collection = collection_name_for(store.model_id)
        self.index = FaceIndex(Path(folder) / self.collection, store.dim)
        self._journal = journal
        self._checked: set[str] = set()
        self._whole_store_agrees: bool | None = None  # every project's count at once, checked once

    def project_faces(self, project: str) -> ProjectFaces:
        """Every face of the project as columns (embeddings and clusters included), from the index; built
        from the store when the index is missing, was cut short, disagrees with the store's count, or is too
        far behind the other processes' writes (the journal)."""
        validate_project_name(project)
        cached = self.index.cached(project)
        if cached is None or (project not in self._checked and self._journal is None
                              and not self._count_agrees(project, cached)):
            return self.rebuild_index(project)
        self._checked.add(project)
        if self._journal is not None:
            entries = self._journal.since(self.collection, project, self.index.journal_position(project))
            if entries is None:
                return self.rebuild_index(project)
            if entries:
                self.index.mark_dirty(project)
                for entry, kind, columns in entries:
                    self._apply(project, kind, columns)
                self.index.set_journal_position(project, entries[-1][0])
                self.index.clear_dirty(project)
                return self.index.cached(project)  # type: ignore[return-value]
        return cached

    def _count_agrees(self, project: str, cached: ProjectFaces) -> bool:
        """Whether the store holds as many of the project's faces as the index (a store written without it,
        or an index restored apart from it, does not). When the store's faces of every project together are
        the index's, each project agrees and none is counted on its own (slow in milvus-lite)."""
        if self._whole_store_agrees is None:
            total = self._store.total_rows()
            self._whole_store_agrees = total is not None and total == self.index.total_rows()
        return self._whole_store_agrees or len(cached) == self._store.count(project)

    def rebuild_index(self, project: str) -> ProjectFaces:
        """Read the project's faces from the store again (repair, or an index that cannot be trusted)."""
        position = self._journal.latest(self.collection, project) if self._journal is not None else ""
        faces = ProjectFaces.of(self._store.faces(project, with_embeddings=True), self.dim)
        self._checked.add(project)
        self.index.replace(project, faces)
        if self._journal is not None:
            self.index.set_journal_position(project, position)
            return self.project_faces(project)  # the writes made while the store was read
        return faces

    def _apply(self, project: str, kind: str, columns: dict[str, np.ndarray]) -> None:
        """One write to the index: new faces (known ones take the cluster given), or clusters."""
        current = self.index.cached(project)
        if current is None:
            current = self.index.replace(project, ProjectFaces.empty(self.dim))
        if kind == "upsert":
            incoming = ProjectFaces.from_columns(columns)
            rows = current.rows(incoming.face_ids)
            known = rows >= 0
            current.cluster_ids[rows[known]] = incoming.cluster_ids[known]
            if (~known).any():
                self.index.append(project, incoming.select(np.flatnonzero(~known)))
                return
        elif kind == "clusters":
            rows = current.rows(columns["face_ids"])
            current.cluster_ids[rows[rows >= 0]] = columns["cluster_ids"][rows >= 0]
        elif kind == "delete":
            kept = np.ones(len(current), bool)
            rows = current.rows(columns["face_ids"])
            kept[rows[rows >= 0]] = False
            self.index.replace(project, current.select(np.flatnonzero(kept)))
            return
        self.index.save_clusters(project)

    def _write(self, project: str, kind: str, columns: dict[str, np.ndarray], store_write) -> None:
        """Write the store, then this index, then the journal (the caller holds the project's lock)."""
        self.project_faces(project)  # built, and caught up with the other processes' writes
        self.index.mark_dirty(project)
        store_write()
        self._apply(project, kind, columns)
        if self._journal is not None:
            self.index.set_journal_position(project, self._journal.append(self.collection, project, kind, columns))
        self.index.clear_dirty(project)

    # -- writes: the store first, then the index ----------------------------------------------------------

    def upsert(self, observations: Sequence[FaceObservation]) -> None:
        by_project: dict[str, dict[int, FaceObservation]] = {}
        for face in observations:  # the last write of an id wins, as in the store
            by_project.setdefault(validate_project_name(face.project), {})[face.face_id] = face
        for project, faces in by_project.items():
            columns = ProjectFaces.of(list(faces.values()), self.dim).columns()
            self._write(project, "upsert", columns, lambda: self._store.upsert(list(faces.values())))

    def set_clusters(self, project: str, assignment: Mapping[int, int]) -> None:
        """Set the clusters of the project's faces among `assignment` (the index knows which are)."""
        rows = self.project_faces(project).rows(list(assignment))
        known = {int(f): int(c) for (f, c), row in zip(assignment.items(), rows.tolist()) if row >= 0}
        if not known:
            return
        columns = {"face_ids": np.fromiter(known.keys(), np.int64, len(known)),
                   "cluster_ids": np.fromiter(known.values(), np.int64, len(known))}
        self._write(project, "clusters", columns, lambda: self._store.set_clusters(project, known, present=True))

    def delete_faces(self, project: str, face_ids: Sequence[int]) -> None:
        """Remove faces (an ingest's orphans); the project's index is written again without them."""
        wanted = sorted({int(f) for f in face_ids})
        if wanted:
            self._write(project, "delete", {"face_ids": np.array(wanted, np.int64)},
                        lambda: self._store.delete_faces(project, wanted))

    def drop_project(self, project: str) -> None:
        self.index.mark_dirty(project)
        self._store.drop_project(project)
        if self._journal is not None:
            self._journal.drop(self.collection, project)
        self.index.forget(project)
        self._checked.discard(project)

    # -- reads --------------------------------------------------------------------------------------------

    def faces_of_clusters(self, project: str, cluster_ids: Sequence[int], *,
                          with_embeddings: bool = False) -> list[FaceObservation]:
        """Every face of the given clusters, in face id order (ids from the index, details from the store)."""
        faces = self.project_faces(project)
        wanted = np.sort(faces.face_ids[faces.members(cluster_ids)])
        return self._store.faces_by_id(project, wanted.tolist(), with_embeddings=with_embeddings)

    def faces(self, project: str, *, with_embeddings: bool = False,
              only_unclustered: bool = False) -> list[FaceObservation]:
        return self._store.faces(project, with_embeddings=with_embeddings, only_unclustered=only_unclustered)

    def faces_by_id(self, project: str, face_ids: Sequence[int], *,
                    with_embeddings: bool = False) -> list[FaceObservation]:
        return self._store.faces_by_id(project, face_ids, with_embeddings=with_embeddings)

    def faces_of_photo(self, project: str, photo_id: str) -> list[FaceObservation]:
        return self._store.faces_of_photo(project, photo_id)

    def count(self, project: str) -> int:
        return self._store.count(project)

    def search(self, project: str, vectors: np.ndarray, limit: int) -> list[list[tuple[FaceObservation, float]]]:
        return self._store.search(project, vectors, limit)

    def close(self) -> None:
        self._store.close()
        self.index.close()
        if self._journal is not None:
            self._journal.close()
