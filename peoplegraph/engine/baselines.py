"""The face clustering of the photo managers our users come from, behind `GraphClusterer`'s shape.

Each class takes L2-normalised embeddings (n, d) in `fit_predict` and returns labels 0..K-1 by decreasing
cluster size, -1 for faces the algorithm leaves unassigned, so that every algorithm can be swapped for
another and compared on the same embeddings (bench/cluster_compare.py, `peoplegraph eval`). Each follows
its project's published defaults; thresholds are per model, so the benchmark also sweeps them.

- PhotoPrism: DBSCAN, Euclidean distance on normalised embeddings, eps 0.64, core 4 (`face.ClusterDist`,
  `face.ClusterCore`).
- LibrePhotos: HDBSCAN, min_cluster_size 2 below 1,000 faces and 4 from there, min_samples 1,
  cluster_selection_epsilon 0.05, Euclidean.
- Immich: incremental recognition (`PersonService.handleRecognizeFaces`): faces in order; a face's
  matches are its `min_faces` nearest faces within `max_distance` (cosine distance, itself included); a
  face matching only itself is skipped; it joins the person of its nearest match that has one, else of
  the nearest face within `max_distance` that has one; a core face (min_faces matches) with no such
  person starts a new person; a non-core face with none is deferred once, to the end of the queue, and
  left unassigned if it still finds no person then.
- dlib: Chinese whispers on the graph of face pairs closer than `threshold` (Euclidean), unweighted edges,
  100 iterations (`dlib.chinese_whispers_clustering`); neighbours are capped at `max_neighbors` per face to
  keep memory bounded (dlib itself compares every pair).
"""

from __future__ import annotations

import numpy as np

from peoplegraph.engine.cluster import (
    UNCLUSTERED,
    chinese_whispers,
    knn_graph,
    relabel_by_size,
    relabel_keeping_unclustered,
    validate_embeddings,
)

# Rows of the similarity matrix computed at once when listing neighbours.
_CHUNK_ROWS = 2048


def _sklearn():
    try:
        import sklearn.cluster
    except ImportError:
        raise RuntimeError("the DBSCAN and HDBSCAN baselines need scikit-learn: pip install "
                           "'peoplegraph[baselines]'") from None
    return sklearn.cluster


class PhotoPrismDBSCAN:
    name = "PhotoPrism (DBSCAN)"

    def __init__(self, eps: float = 0.64, min_samples: int = 4) -> None:
        self.eps = float(eps)
        self.min_samples = int(min_samples)
        self.labels_: np.ndarray | None = None

    def fit_predict(self, embeddings: np.ndarray) -> np.ndarray:
        x = validate_embeddings(embeddings)
        if not len(x):
            self.labels_ = np.zeros(0, np.int64)
            return self.labels_
        raw = _sklearn().DBSCAN(eps=self.eps, min_samples=self.min_samples, metric="euclidean").fit_predict(x)
        self.labels_ = relabel_keeping_unclustered(raw)
        return self.labels_


class LibrePhotosHDBSCAN:
    name = "LibrePhotos (HDBSCAN)"

    def __init__(self, min_cluster_size: int | None = None, min_samples: int = 1,
                 cluster_selection_epsilon: float = 0.05) -> None:
        self.min_cluster_size = min_cluster_size  # None: 2 below 1,000 faces, 4 from there (LibrePhotos)
        self.min_samples = int(min_samples)
        self.cluster_selection_epsilon = float(cluster_selection_epsilon)
        self.labels_: np.ndarray | None = None

    def fit_predict(self, embeddings: np.ndarray) -> np.ndarray:
        x = validate_embeddings(embeddings)
        if len(x) < 2:
            self.labels_ = np.full(len(x), UNCLUSTERED, np.int64)
            return self.labels_
        size = self.min_cluster_size or (2 if len(x) < 1000 else 4)
        raw = _sklearn().HDBSCAN(min_cluster_size=size, min_samples=self.min_samples,
                                 cluster_selection_epsilon=self.cluster_selection_epsilon,
                                 metric="euclidean", copy=True).fit_predict(x)
        self.labels_ = relabel_keeping_unclustered(raw)
        return self.labels_


class ImmichIncremental:
    name = "Immich (incremental)"

    def __init__(self, max_distance: float = 0.5, min_faces: int = 3, max_neighbors: int = 64) -> None:
        self.max_distance = float(max_distance)
        self.min_faces = int(min_faces)
        self.max_neighbors = int(max_neighbors)
        self.labels_: np.ndarray | None = None

    def fit_predict(self, embeddings: np.ndarray) -> np.ndarray:
        x = validate_embeddings(embeddings)
        n = len(x)
        # nearest faces within max_distance, nearest first, the face itself included (Immich's search does)
        near = nearest_within(x, max(self.max_neighbors, self.min_faces), 1.0 - self.max_distance)
        person = np.full(n, UNCLUSTERED, np.int64)
        people = 0
        deferred = []
        for queue, is_retry in ((range(n), False), (deferred, True)):
            for face in list(queue):
                neighbours = near[face]
                matches = neighbours[: self.min_faces]
                if self.min_faces > 1 and len(matches) <= 1:
                    continue  # only matched itself
                with_person = [m for m in matches if person[m] != UNCLUSTERED]
                if not with_person:  # the nearest face within max_distance that has a person
                    with_person = [m for m in neighbours if person[m] != UNCLUSTERED][:1]
                core = len(matches) >= self.min_faces
                if not core and not is_retry and not with_person:
                    deferred.append(face)
                    continue
                if with_person:
                    person[face] = person[with_person[0]]
                elif core:
                    person[face] = people
                    people += 1
        self.labels_ = relabel_keeping_unclustered(person)
        return self.labels_


class DlibChineseWhispers:
    name = "dlib (Chinese whispers)"

    def __init__(self, threshold: float = 0.5, iterations: int = 100, max_neighbors: int = 256,
                 seed: int = 0) -> None:
        self.threshold = float(threshold)  # Euclidean distance between normalised embeddings
        self.iterations = int(iterations)
        self.max_neighbors = int(max_neighbors)
        self.seed = int(seed)
        self.labels_: np.ndarray | None = None

    def fit_predict(self, embeddings: np.ndarray) -> np.ndarray:
        x = validate_embeddings(embeddings)
        # |a - b|^2 = 2 - 2 cos(a, b) for unit vectors
        graph = knn_graph(x, self.max_neighbors, 1.0 - self.threshold**2 / 2.0)
        graph.data[:] = 1.0  # dlib's edges are unweighted
        raw, _ = chinese_whispers(graph, self.iterations, self.seed)
        self.labels_ = relabel_by_size(raw, 1)
        return self.labels_


def nearest_within(x: np.ndarray, k: int, similarity: float) -> list[np.ndarray]:
    """For every row: the indices of its (at most) k most similar rows with cosine >= `similarity`, most
    similar first, the row itself included. One BLAS product per chunk of rows, never a query per face."""
    n = len(x)
    k = min(k, n)
    out: list[np.ndarray] = []
    for start in range(0, n, _CHUNK_ROWS):
        block = x[start:start + _CHUNK_ROWS] @ x.T
        top = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(block), 1))
        for row, candidates in enumerate(top):
            sims = block[row, candidates]
            order = np.argsort(-sims, kind="stable")
            keep = candidates[order][sims[order] >= similarity]
            out.append(keep)
    return out
