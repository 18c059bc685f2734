"""Clustering quality metrics."""

from __future__ import annotations

import numpy as np


def _as_clusters(labels: np.ndarray) -> np.ndarray:
    """Labels as non-negative ids, each negative label (-1: not clustered) becoming its own singleton."""
    labels = np.asarray(labels).astype(np.int64).ravel()
    out = labels.copy()
    negative = np.flatnonzero(labels < 0)
    top = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    out[negative] = top + np.arange(negative.size)
    return out


def bcubed(labels_true: np.ndarray, labels_pred: np.ndarray) -> tuple[float, float, float]:
    """BCubed (precision, recall, F) averaged over items (Bagga & Baldwin 1998).

    Precision of an item: the share of its predicted cluster that has its true identity; recall: the share
    of its true identity that is in its predicted cluster. Negative labels (-1), in either argument, are
    singletons each.
    """
    t = _as_clusters(labels_true)
    p = _as_clusters(labels_pred)
    if t.shape != p.shape:
        raise ValueError(f"label arrays differ in length: {t.shape} vs {p.shape}")
    n = t.size
    if n == 0:
        return 1.0, 1.0, 1.0
    _, t = np.unique(t, return_inverse=True)
    _, p = np.unique(p, return_inverse=True)
    t, p = t.ravel(), p.ravel()
    pairs, pair_counts = np.unique(t.astype(np.int64) * (p.max() + 1) + p, return_counts=True)
    pair_t = pairs // (p.max() + 1)
    pair_p = pairs % (p.max() + 1)
    size_t = np.bincount(t)
    size_p = np.bincount(p)
    # every item of a (true, pred) cell of size c scores c / |pred| precision and c / |true| recall
    precision = float(np.sum(pair_counts.astype(np.float64) ** 2 / size_p[pair_p]) / n)
    recall = float(np.sum(pair_counts.astype(np.float64) ** 2 / size_t[pair_t]) / n)
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


def pairwise(labels_true: np.ndarray, labels_pred: np.ndarray) -> tuple[float, float, float]:
    """Pairwise (precision, recall, F) over all pairs of items.

    Precision: of the pairs put in one predicted cluster, the share that are one true identity; recall: of
    the pairs of one true identity, the share put in one predicted cluster. Negative labels are singletons.
    Large clusters weigh quadratically here (unlike BCubed), so one wrong merge of two big people shows.
    """
    t = _as_clusters(labels_true)
    p = _as_clusters(labels_pred)
    if t.shape != p.shape:
        raise ValueError(f"label arrays differ in length: {t.shape} vs {p.shape}")
    _, t = np.unique(t, return_inverse=True)
    _, p = np.unique(p, return_inverse=True)
    t, p = t.ravel().astype(np.int64), p.ravel().astype(np.int64)
    _, cells = np.unique(t * (int(p.max(initial=0)) + 1) + p, return_counts=True)

    def pairs(counts: np.ndarray) -> float:
        counts = counts.astype(np.float64)
        return float(np.sum(counts * (counts - 1) / 2))

    together = pairs(cells)
    predicted = pairs(np.bincount(p)) if p.size else 0.0
    true = pairs(np.bincount(t)) if t.size else 0.0
    precision = together / predicted if predicted else 1.0
    recall = together / true if true else 1.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f
