"""The `VectorStore` protocol: what the rest of the code may ask of the objective layer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from peoplegraph.observations.model import FaceObservation


class StoreBusyError(RuntimeError):
    """An embedded store (milvus-lite folder, graph file) is held by another process."""


class StoreWriteError(OSError):
    """A store refused a write (a full disk, a server gone): the command stops with this, never half-done
    as if done; `peoplegraph repair` and the same command again finish the work."""


class VectorStore(Protocol):
    """Face observations of one model (one collection), isolated per project."""

    model_id: str
    dim: int

    def upsert(self, observations: Sequence[FaceObservation]) -> None:
        """Insert or replace by face id (idempotent: re-ingesting a photo adds nothing)."""

    def faces(
        self, project: str, *, with_embeddings: bool = False, only_unclustered: bool = False
    ) -> list[FaceObservation]:
        """All faces of a project (embeddings only when asked: they are the heavy part)."""

    def faces_by_id(self, project: str, face_ids: Sequence[int], *, with_embeddings: bool = False) -> list[FaceObservation]: ...

    def faces_of_photo(self, project: str, photo_id: str) -> list[FaceObservation]: ...

    def faces_of_clusters(
        self, project: str, cluster_ids: Sequence[int], *, with_embeddings: bool = False
    ) -> list[FaceObservation]:
        """Every face of the given clusters, in face id order."""

    def set_clusters(self, project: str, assignment: Mapping[int, int], *, present: bool = False) -> None:
        """Set the cluster id of each face id in `assignment`; other faces keep theirs. Ids the project does
        not have are ignored; `present`: the caller vouches that it has every one (nothing is looked up)."""

    def delete_faces(self, project: str, face_ids: Sequence[int]) -> None:
        """Remove these faces of the project (ids it does not have are ignored)."""

    def count(self, project: str) -> int: ...

    def total_rows(self) -> int | None:
        """The faces of every project together, when the store counts them much faster than one project's
        (milvus-lite), else None."""

    def search(
        self, project: str, vectors: np.ndarray, limit: int
    ) -> list[list[tuple[FaceObservation, float]]]:
        """For each query vector, the `limit` most similar faces of the project with cosine similarity."""

    def drop_project(self, project: str) -> None:
        """Delete every face of the project (tests, evaluation, removing a project)."""

    def close(self) -> None: ...
