"""`IndexedVectorStore`: a `VectorStore` that keeps a `FaceIndex` of each project in step with every write.

Order of a write: the index is read (built from the store if it has to be), marked dirty, the store is
written, the index is updated and saved, the mark cleared. A process killed in between leaves the mark,
and the next process rebuilds that project's index from the store, which stays the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from peoplegraph.observations.face_index import FaceIndex, ProjectFaces
from peoplegraph.observations.milvus import collection_name_for
from peoplegraph.observations.model import FaceObservation, validate_project_name
from peoplegraph.observations.store import VectorStore


class IndexedVectorStore:
    def __init__(self, store: VectorStore, folder: Path) -> None:
        self._store = store
        self.model_id = store.model_id
        self.dim = store.dim
        self.index = FaceIndex(Path(folder) / collection_name_for(store.model_id), store.dim)
        self._checked: set[str] = set()

    def project_faces(self, project: str) -> ProjectFaces:
        """Every face of the project as columns (embeddings and clusters included), from the index; built
        from the store when the index is missing, was cut short, or disagrees with the store's count."""
        validate_project_name(project)
        cached = self.index.cached(project)
        if cached is not None and (project in self._checked or len(cached) == self._store.count(project)):
            self._checked.add(project)
            return cached
        return self.rebuild_index(project)

    def rebuild_index(self, project: str) -> ProjectFaces:
        """Read the project's faces from the store again (repair)."""
        faces = ProjectFaces.of(self._store.faces(project, with_embeddings=True), self.dim)
        self._checked.add(project)
        return self.index.replace(project, faces)

    # -- writes: the store first, then the index ----------------------------------------------------------

    def upsert(self, observations: Sequence[FaceObservation]) -> None:
        by_project: dict[str, list[FaceObservation]] = {}
        for face in observations:
            by_project.setdefault(validate_project_name(face.project), []).append(face)
        indexed = {project: self.project_faces(project) for project in by_project}
        for project in by_project:
            self.index.mark_dirty(project)
        self._store.upsert(observations)
        for project, faces in by_project.items():
            current = indexed[project]
            latest = {f.face_id: f for f in faces}  # the last write of an id wins, as in the store
            incoming = ProjectFaces.of(list(latest.values()), self.dim)
            rows = current.rows(incoming.face_ids)
            known = rows >= 0
            current.cluster_ids[rows[known]] = incoming.cluster_ids[known]
            if (~known).any():
                self.index.append(project, incoming.select(np.flatnonzero(~known)))
            else:
                self.index.save_clusters(project)
            self.index.clear_dirty(project)

    def set_clusters(self, project: str, assignment: Mapping[int, int]) -> None:
        if not assignment:
            return
        current = self.project_faces(project)
        self.index.mark_dirty(project)
        self._store.set_clusters(project, assignment)
        rows = current.rows(list(assignment))
        values = np.fromiter(assignment.values(), np.int64, len(assignment))
        current.cluster_ids[rows[rows >= 0]] = values[rows >= 0]
        self.index.save_clusters(project)
        self.index.clear_dirty(project)

    def drop_project(self, project: str) -> None:
        self.index.mark_dirty(project)
        self._store.drop_project(project)
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
