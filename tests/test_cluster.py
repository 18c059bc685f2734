"""GraphClusterer: recovery of synthetic identities, resistance to chaining, determinism, validation."""

from __future__ import annotations


import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from peoplegraph.engine.cluster import GraphClusterer, chinese_whispers, knn_graph, relabel_by_size
from peoplegraph.engine.metrics import bcubed

DIM = 128


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _blobs(rng: np.random.Generator, sizes: list[int], noise: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Faces around random identity directions: face = unit(centre + noise * unit gaussian direction).
    With noise 0.6, faces of one identity have cosine ~0.74 with each other, ~0 with others."""
    centres = _unit(rng.standard_normal((len(sizes), DIM)))
    truth = np.repeat(np.arange(len(sizes)), sizes)
    offsets = _unit(rng.standard_normal((truth.size, DIM))) * noise
    return _unit(centres[truth] + offsets), truth


def _arc(a: np.ndarray, b: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Points at the given angles on the great circle from unit a towards b (b made orthogonal to a)."""
    b = _unit(b - (a @ b) * a)
    theta = np.radians(degrees)[:, None]
    return _unit(np.cos(theta) * a + np.sin(theta) * b)


def test_bcubed_helper() -> None:
    truth = np.array([0, 0, 0, 1, 1, 2])
    assert bcubed(truth, truth) == (1.0, 1.0, 1.0)
    p, r, f = bcubed(truth, np.zeros(6, dtype=int))  # everything merged: recall 1, precision low
    assert r == 1.0 and p == pytest.approx((3 * 3 / 6 + 2 * 2 / 6 + 1 / 6) / 6)
    p, r, f = bcubed(truth, np.full(6, -1))  # -1: each face its own singleton
    assert p == 1.0 and r == pytest.approx((3 * (1 / 3) + 2 * (1 / 2) + 1) / 6)
    assert 0 < f < 1


def test_recovers_separated_identities() -> None:
    rng = np.random.default_rng(7)
    sizes = list(rng.integers(1, 21, size=50)) + [1] * 200
    x, truth = _blobs(rng, sizes)
    order = rng.permutation(truth.size)
    x, truth = x[order], truth[order]
    labels = GraphClusterer(similarity=0.5, min_cluster_size=2).fit_predict(x)
    assert labels.dtype == np.int64 and labels.shape == (truth.size,)
    precision, recall, f = bcubed(truth, labels)
    print(f"\nBCubed on {truth.size} faces: P={precision:.4f} R={recall:.4f} F={f:.4f}")
    assert f >= 0.95
    # true singletons stay unclustered
    singles = np.flatnonzero(np.bincount(truth)[truth] == 1)
    assert np.all(labels[singles] == -1)


def test_labels_numbered_by_decreasing_size_and_min_cluster_size() -> None:
    rng = np.random.default_rng(3)
    sizes = [1, 2, 3, 4, 5, 6, 9, 12]
    x, truth = _blobs(rng, sizes)
    order = rng.permutation(truth.size)
    x, truth = x[order], truth[order]
    labels = GraphClusterer(similarity=0.5, min_cluster_size=4).fit_predict(x)
    kept = labels[labels >= 0]
    counts = np.bincount(kept)
    assert set(kept.tolist()) == set(range(counts.size))
    assert counts.min() >= 4
    assert list(counts) == sorted(counts, reverse=True)
    assert sorted(counts.tolist(), reverse=True) == [12, 9, 6, 5, 4]
    small = np.isin(truth, [0, 1, 2])  # identities of 1, 2 and 3 faces
    assert np.all(labels[small] == -1)
    with_pairs = GraphClusterer(similarity=0.5, min_cluster_size=1).fit_predict(x)
    assert np.all(with_pairs >= 0)  # min_cluster_size 1: every face, singletons too, gets a label


def test_bridge_between_two_people_does_not_merge_them() -> None:
    """Two groups joined by a chain of look-alikes: connected components would merge them all."""
    rng = np.random.default_rng(11)
    a, b = _unit(rng.standard_normal((2, DIM)))
    b = _unit(b - (a @ b) * a)
    group_a = _unit(a + 0.45 * _unit(rng.standard_normal((15, DIM))))
    group_b = _unit(b + 0.45 * _unit(rng.standard_normal((15, DIM))))
    bridge = _arc(a, b, np.array([22.0, 45.0, 68.0]))  # consecutive cosines ~0.92, a to b 0
    x = np.concatenate([group_a, group_b, bridge])
    clusterer = GraphClusterer(similarity=0.6, min_cluster_size=2)
    labels = clusterer.fit_predict(x)
    n_components, _ = connected_components(clusterer.graph_, directed=False)
    assert n_components == 1, "the test graph should be one connected component"
    label_a = np.bincount(labels[:15][labels[:15] >= 0]).argmax()
    label_b = np.bincount(labels[15:30][labels[15:30] >= 0]).argmax()
    assert label_a != label_b
    assert np.mean(labels[:15] == label_a) >= 0.9 and np.mean(labels[15:30] == label_b) >= 0.9


def test_a_small_look_alike_group_beside_a_large_one_stays_apart() -> None:
    """200 faces of one person and 10 of a look-alike (a brother: a few cross pairs above the threshold, the
    mean well below it), over 12 draws. Whispers alone let the large group absorb the small one; the
    average-linkage merge keeps them two people (the George W. and Jeb Bush case on LFW)."""
    absorbed_before = absorbed_now = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        a = _unit(rng.standard_normal(DIM))
        brother = _arc(a, rng.standard_normal(DIM), np.array([55.0]))[0]
        big = _unit(a + 0.6 * _unit(rng.standard_normal((200, DIM))))
        small = _unit(brother + 0.6 * _unit(rng.standard_normal((10, DIM))))
        x = np.concatenate([big, small])
        assert (small @ big.T).mean() < 0.45  # not alike on average
        for labels, counter in ((relabel_by_size(chinese_whispers(knn_graph(x, 30, 0.5))[0], 2), "before"),
                                (GraphClusterer(similarity=0.5).fit_predict(x), "now")):
            person = np.bincount(labels[:200][labels[:200] >= 0]).argmax()
            assert np.mean(labels[:200] == person) > 0.95  # the large group itself stays whole
            absorbed = int(np.sum(labels[200:] == person))
            if counter == "before":
                absorbed_before += absorbed
            else:
                absorbed_now += absorbed
    assert absorbed_before >= 70, "the scenario must fool plain whispers"
    assert absorbed_now <= 6, absorbed_now


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_chain_is_not_all_merged(seed: int) -> None:
    """a -> b -> ... -> z, each step linked, the ends far apart: not one cluster."""
    rng = np.random.default_rng(seed)
    a, b = _unit(rng.standard_normal((2, DIM)))
    steps = rng.uniform(25.0, 35.0, size=9)  # consecutive cosine >= 0.82, two steps apart <= 0.64
    x = _arc(a, b, np.concatenate([[0.0], np.cumsum(steps)]))
    assert x[0] @ x[-1] < 0.5
    clusterer = GraphClusterer(similarity=0.7, min_cluster_size=1, seed=seed)
    labels = clusterer.fit_predict(x)
    assert connected_components(clusterer.graph_, directed=False)[0] == 1
    assert labels[0] != labels[-1]
    assert np.unique(labels).size >= 2


def test_deterministic() -> None:
    rng = np.random.default_rng(5)
    x, _ = _blobs(rng, list(rng.integers(1, 15, size=40)), noise=0.9)  # noisier: more ties and borderline
    first = GraphClusterer(similarity=0.4, seed=0).fit_predict(x)
    second = GraphClusterer(similarity=0.4, seed=0).fit_predict(x.copy())
    np.testing.assert_array_equal(first, second)


def test_validation_and_tiny_inputs() -> None:
    clusterer = GraphClusterer(similarity=0.5)
    empty = clusterer.fit_predict(np.zeros((0, DIM), np.float32))
    assert empty.shape == (0,) and empty.dtype == np.int64
    one = clusterer.fit_predict(_unit(np.ones((1, DIM))))
    assert one.tolist() == [-1]
    assert GraphClusterer(similarity=0.5, min_cluster_size=1).fit_predict(_unit(np.ones((1, DIM)))).tolist() == [0]
    two = clusterer.fit_predict(_unit(np.ones((2, DIM))))
    assert two.tolist() == [0, 0]
    bad = _unit(np.ones((3, DIM)))
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clusterer.fit_predict(bad)
    with pytest.raises(ValueError, match="2-D"):
        clusterer.fit_predict(np.ones(DIM, np.float32))
    with pytest.raises(ValueError, match="2-D"):
        clusterer.fit_predict(np.ones((2, 3, DIM), np.float32))
    with pytest.raises(ValueError):
        GraphClusterer(similarity=1.5)


def test_neighbors_caps_edges_per_face() -> None:
    rng = np.random.default_rng(2)
    x, _ = _blobs(rng, [60], noise=0.3)
    clusterer = GraphClusterer(similarity=0.5, neighbors=5)
    labels = clusterer.fit_predict(x)
    graph = clusterer.graph_
    assert (graph != graph.T).nnz == 0 and graph.diagonal().max() == 0
    out_degree_bound = 5 * 60 * 2  # union of both directions
    assert graph.nnz <= out_degree_bound
    assert np.all(labels == 0)


def test_ten_thousand_faces_of_a_thousand_people() -> None:
    """A library-sized input (timings belong to bench/, not here): the clusters are still right."""
    rng = np.random.default_rng(0)
    x, truth = _blobs(rng, list(rng.integers(1, 20, size=1000)), noise=0.7)
    x, truth = x[:10_000], truth[:10_000]
    labels = GraphClusterer(similarity=0.5).fit_predict(x)
    assert labels.shape == (len(x),)
    assert bcubed(truth, labels)[2] > 0.98


def test_faces_below_the_seeding_bar_join_but_never_start_a_cluster() -> None:
    from peoplegraph.engine.cluster import keep_seeded

    labels = np.array([0, 0, 0, 1, 1, 2, 2, -1])
    may_seed = np.array([True, False, False, False, False, False, True, True])
    kept = keep_seeded(labels, may_seed)
    # cluster 0 keeps its two small faces (a seed is there), cluster 1 has no seed and dissolves
    assert kept.tolist() == [0, 0, 0, -1, -1, 1, 1, -1]
    with pytest.raises(ValueError, match="may_seed"):
        keep_seeded(labels, may_seed[:3])


def test_cluster_summary_counts_faces_per_photo() -> None:
    """A cluster with two faces in one photo (a mirror, a poster) says so; its photos are listed once."""
    from peoplegraph.observations.face_index import ProjectFaces
    from peoplegraph.observations.model import FaceObservation
    from peoplegraph.services.clustering import summarise_clusters

    embeddings = np.array([[1, 0], [1, 0.1], [1, -0.1], [0, 1]], np.float32)

    def face(face_id: int, photo: str, score: float) -> FaceObservation:
        return FaceObservation(face_id=face_id, project="p", photo_id=photo, box=(0, 0, 10, 10), landmarks=[0.0] * 10,
                               det_score=score, embedding=embeddings[face_id - 1])

    faces = ProjectFaces.of([face(1, "b", 0.9), face(2, "a", 0.8), face(3, "b", 0.7), face(4, "c", 0.9)])
    (record,) = summarise_clusters("p", faces, np.array([0, 0, 0, -1]), {})
    assert record.size == 3 and record.photo_ids == ("a", "b") and record.faces_per_photo == (1, 2)
    assert record.mean_confidence == pytest.approx(0.8)


def test_large_libraries_use_an_approximate_graph_that_clusters_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above EXACT_LIMIT faces the k-NN graph comes from a faiss IVF index: nearly the same edges, the same
    clusters (checked here on 6,000 faces with the limit lowered)."""
    import peoplegraph.engine.cluster as cluster

    rng = np.random.default_rng(8)
    x, truth = _blobs(rng, list(rng.integers(1, 30, size=400)) + [1] * 1500, noise=0.7)
    exact = knn_graph(x, 30, 0.4)
    approximate = knn_graph(x, 30, 0.4, exact_limit=0)
    assert (approximate != approximate.T).nnz == 0 and approximate.diagonal().max() == 0
    shared = exact.multiply(approximate > 0).nnz
    assert shared >= 0.97 * exact.nnz and approximate.nnz <= 1.01 * exact.nnz
    monkeypatch.setattr(cluster, "EXACT_LIMIT", 0)
    labels = GraphClusterer(similarity=0.5).fit_predict(x)
    assert bcubed(truth, labels)[2] > 0.97
