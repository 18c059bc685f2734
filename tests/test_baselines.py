"""The peers' clustering algorithms (engine/baselines.py) and the pairwise metric, on data of known shape."""

from __future__ import annotations

import numpy as np
import pytest

from peoplegraph.engine.baselines import (
    DlibChineseWhispers,
    ImmichIncremental,
    LibrePhotosHDBSCAN,
    PhotoPrismDBSCAN,
    nearest_within,
)
from peoplegraph.engine.cluster import GraphClusterer
from peoplegraph.engine.metrics import bcubed, pairwise


def _people(n_people: int, per_person: int, singletons: int, dim: int = 64, spread: float = 0.25, seed: int = 0):
    """Unit vectors: tight groups around random centres, plus faces seen once."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_people + singletons, dim))
    labels = np.r_[np.repeat(np.arange(n_people), per_person), n_people + np.arange(singletons)]
    x = centres[labels] + spread * rng.standard_normal((len(labels), dim)) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    order = rng.permutation(len(labels))
    return x[order].astype(np.float32), labels[order]


@pytest.mark.parametrize(("algorithm", "floor"), [
    (PhotoPrismDBSCAN(eps=0.6), 0.95),
    # min_cluster_size 2 (LibrePhotos, under 1,000 faces) pairs up some of the faces seen once
    (LibrePhotosHDBSCAN(), 0.85),
    (ImmichIncremental(max_distance=0.3), 0.95),
    (DlibChineseWhispers(threshold=0.8), 0.95),
    (GraphClusterer(similarity=0.7), 0.95),
], ids=lambda a: type(a).__name__ if not isinstance(a, float) else "")
def test_every_algorithm_finds_well_separated_people(algorithm, floor: float) -> None:
    x, truth = _people(n_people=20, per_person=6, singletons=30)
    labels = algorithm.fit_predict(x)
    assert labels.shape == truth.shape and labels.dtype == np.int64
    assert bcubed(truth, labels)[2] > floor and pairwise(truth, labels)[2] > floor
    sizes = np.bincount(labels[labels >= 0])
    assert (np.diff(sizes) <= 0).all()  # 0..K-1 by decreasing size


def test_immich_leaves_lone_faces_and_small_groups_unassigned() -> None:
    """A face that matches only itself is skipped; two faces alone never reach min_faces 3 (neither is
    core, so no person is ever made for them)."""
    x, truth = _people(n_people=1, per_person=2, singletons=3, seed=1)
    assert (ImmichIncremental(max_distance=0.3, min_faces=3).fit_predict(x) == -1).all()
    assert len(set(ImmichIncremental(max_distance=0.3, min_faces=2).fit_predict(x)) - {-1}) == 1


def test_immich_deferred_faces_join_a_person_found_later() -> None:
    """A non-core face processed before its person exists is deferred, then joins it."""
    rng = np.random.default_rng(2)
    centre = rng.standard_normal(32)
    core = centre + 0.05 * rng.standard_normal((4, 32))
    edge = centre + 0.6 * rng.standard_normal(32)  # near enough to one core face, not to three
    x = np.vstack([edge, core]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    distance = 1 - x[0] @ x[1:].T
    algorithm = ImmichIncremental(max_distance=float(np.sort(distance)[0]) + 1e-4, min_faces=3)
    labels = algorithm.fit_predict(x)
    assert labels[0] == labels[1] == 0


def test_nearest_within_lists_the_face_itself_first() -> None:
    x, _ = _people(n_people=3, per_person=4, singletons=2)
    near = nearest_within(x, 5, 0.5)
    assert all(row[0] == i for i, row in enumerate(near))
    assert all(len(row) <= 5 for row in near)


def test_pairwise_metric() -> None:
    assert pairwise([0, 0, 1, 1], [0, 0, 1, 1]) == (1.0, 1.0, 1.0)
    precision, recall, f = pairwise([0, 0, 1, 1], [0, 0, 0, 0])  # 2 of 6 pairs right, every true pair found
    assert precision == pytest.approx(1 / 3) and recall == 1.0 and f == pytest.approx(0.5)
    assert pairwise([0, 0, 1, 1], [-1, -1, -1, -1])[1] == 0.0
    with pytest.raises(ValueError):
        pairwise([0, 1], [0])
