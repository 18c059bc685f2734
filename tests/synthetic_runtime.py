"""A runtime for linking tests without models: the embedded graph store on a temporary file and an in-memory
vector store holding synthetic faces (one tight cone of embeddings per individual)."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from peoplegraph.identity.embedded import EmbeddedGraphStore
from peoplegraph.identity.records import PhotoRecord
from peoplegraph.observations.indexed import IndexedVectorStore
from peoplegraph.services.project_lock import ProjectLocks
from peoplegraph.observations.model import UNCLUSTERED, FaceObservation

PROJECT = "p"


class MemoryVectors:
    """The `VectorStore` calls the face index and the linking layer make, over a dict."""

    model_id = "synthetic"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.rows: dict[int, FaceObservation] = {}

    def upsert(self, observations: Sequence[FaceObservation]) -> None:
        self.rows.update({f.face_id: f for f in observations})

    def count(self, project: str) -> int:
        return len(self.rows)

    def total_rows(self) -> int:
        return len(self.rows)

    def delete_faces(self, project: str, face_ids: Sequence[int]) -> None:
        for face in face_ids:
            self.rows.pop(int(face), None)

    def drop_project(self, project: str) -> None:
        self.rows.clear()

    def close(self) -> None:
        pass

    def faces(self, project: str, *, with_embeddings: bool = False, only_unclustered: bool = False):
        return [f for _, f in sorted(self.rows.items()) if not only_unclustered or f.cluster_id == UNCLUSTERED]

    def faces_by_id(self, project: str, face_ids: Sequence[int], *, with_embeddings: bool = False):
        return [self.rows[int(i)] for i in face_ids if int(i) in self.rows]

    def faces_of_clusters(self, project: str, cluster_ids: Sequence[int], *, with_embeddings: bool = False):
        wanted = {int(c) for c in cluster_ids}
        return [f for _, f in sorted(self.rows.items()) if f.cluster_id in wanted]

    def set_clusters(self, project: str, assignment: Mapping[int, int], *, present: bool = False) -> None:
        for face, cluster in assignment.items():  # ids the store does not hold are ignored, as Milvus does
            if int(face) in self.rows:
                self.rows[int(face)] = dataclasses.replace(self.rows[int(face)], cluster_id=int(cluster))


def synthetic_runtime(folder: Path, sizes: Sequence[int], *, seed: int = 0, noise: float = 0.05, dim: int = 32):
    """Individuals of the given sizes (faces 0.. in order, one photo each), nothing clustered yet."""
    rng = np.random.default_rng(seed)
    graph = EmbeddedGraphStore(folder / "graph.lbug")
    vectors = IndexedVectorStore(MemoryVectors(dim), folder / "face-index")
    photos, faces, face_id = [], [], 0
    for size in sizes:
        centre = rng.normal(size=dim)
        for _ in range(size):
            embedding = centre / np.linalg.norm(centre) + noise * rng.normal(size=dim)
            photo = f"ph{face_id}"
            photos.append(PhotoRecord(PROJECT, photo, f"/photos/{photo}.jpg", 100, 100, 1))
            faces.append(FaceObservation(
                face_id, PROJECT, photo, (0.0, 0.0, 100.0, 100.0), [0.0] * 10, 0.99, UNCLUSTERED,
                (embedding / np.linalg.norm(embedding)).astype(np.float32), quality_score=100.0))
            face_id += 1
    vectors.upsert(faces)
    graph.add_photos(photos)
    settings = types.SimpleNamespace(min_cluster_size=2, cluster_neighbors=10, cluster_seed_min_face_size=10,
                                     cluster_seed_min_quality=0.0)
    return types.SimpleNamespace(graph=graph, vectors=vectors, settings=settings, locks=ProjectLocks(), cluster_similarity=0.6,
                                 auto_threshold=0.95, review_threshold=0.8)


def layout(runtime) -> list[set[int]]:
    """The clusters as sets of face ids (ids aside), largest first; unclustered faces left out."""
    groups: dict[int, set[int]] = {}
    for face in runtime.vectors.faces(PROJECT):
        if face.cluster_id != UNCLUSTERED:
            groups.setdefault(face.cluster_id, set()).add(face.face_id)
    return sorted(groups.values(), key=lambda g: (-len(g), min(g)))
