"""`InvertedLists`: an inverted-file index over the rows of an embedding matrix, for the face index of large
projects.

The rows are split into about sqrt(n) lists by spherical k-means (faiss, on a sample); a query is compared
with the rows of the `PROBES` lists whose centres are most similar to it, not with all n (at 1M faces
about 1.6 % of them). Only the centres and the list of each row are kept: the rows themselves stay in the
face index, so a mask (clustered faces only, unclustered only) applies to the candidates directly, and the
index costs 4 bytes a face on disk. New rows join the list of their nearest centre; the lists are trained
again when the project has grown `RETRAIN_GROWTH` times past the size they were trained on.
"""

from __future__ import annotations

import numpy as np

PROBES = 16
TRAINING_PER_LIST = 40  # rows sampled per list to train the k-means
RETRAIN_GROWTH = 4
_ASSIGN_ROWS = 65_536  # rows assigned to centres per product


class InvertedLists:
    def __init__(self, centroids: np.ndarray, assignment: np.ndarray, trained_rows: int) -> None:
        self.centroids = np.ascontiguousarray(centroids, np.float32)
        self.assignment = np.asarray(assignment, np.int32)
        self.trained_rows = int(trained_rows)
        self._order: np.ndarray | None = None
        self._starts: np.ndarray | None = None

    @classmethod
    def train(cls, embeddings: np.ndarray, seed: int = 0) -> InvertedLists:
        import faiss

        n, dim = embeddings.shape
        lists = max(1, int(np.sqrt(n)))
        sample = np.sort(np.random.default_rng(seed).choice(n, min(n, lists * TRAINING_PER_LIST), replace=False))
        kmeans = faiss.Kmeans(dim, lists, niter=20, spherical=True, seed=seed, verbose=False)
        kmeans.train(np.ascontiguousarray(embeddings[sample], np.float32))
        index = cls(kmeans.centroids, np.zeros(0, np.int32), n)
        index.assignment = index.assign(embeddings)
        return index

    def stale(self, rows: int) -> bool:
        """Whether the project has grown too far past the size the lists were trained on."""
        return rows > RETRAIN_GROWTH * self.trained_rows

    def assign(self, x: np.ndarray) -> np.ndarray:
        """The list (nearest centre) of each row of `x`."""
        out = np.empty(len(x), np.int32)
        for start in range(0, len(x), _ASSIGN_ROWS):
            out[start:start + _ASSIGN_ROWS] = np.argmax(x[start:start + _ASSIGN_ROWS] @ self.centroids.T, axis=1)
        return out

    def add(self, x: np.ndarray) -> None:
        self.assignment = np.concatenate([self.assignment, self.assign(x)])
        self._order = self._starts = None

    def probes(self, queries: np.ndarray, probes: int = PROBES) -> np.ndarray:
        """For each query vector (rows of `queries`), the `probes` lists whose centres are nearest, (q, probes)."""
        similarity = np.atleast_2d(queries) @ self.centroids.T
        probes = min(probes, similarity.shape[1])
        return np.argpartition(-similarity, probes - 1, axis=1)[:, :probes]

    def _sorted(self) -> None:
        if self._order is None:
            self._order = np.argsort(self.assignment, kind="stable")
            self._starts = np.searchsorted(self.assignment[self._order], np.arange(len(self.centroids) + 1))

    def rows_of(self, lists: np.ndarray) -> np.ndarray:
        """The rows of these lists."""
        self._sorted()
        assert self._order is not None and self._starts is not None
        return np.concatenate([self._order[self._starts[c]:self._starts[c + 1]] for c in np.asarray(lists).tolist()]
                              or [np.zeros(0, np.int64)])
