"""ReID scores with Market-1501's standard protocol: rank-k (CMC) and mean average precision.

Crops are named as Market-1501 names them (`0002_c1s1_000451_03.jpg`: identity 0002, camera 1; identity -1 is
junk, 0000 a distractor). For each query, the gallery crops of its own identity seen by its own camera are
left out (finding the same person in the same camera is no re-identification), junk crops are left out, and
distractors stay in as wrong answers. Distances are 1 - cosine of L2-normalised embeddings; optional
k-reciprocal re-ranking (Zhong et al., CVPR 2017, with their k1 = 20, k2 = 6, lambda = 0.3).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

_NAME = re.compile(r"^(-?\d+)_c(\d+)")
JUNK = -1


@dataclass(frozen=True)
class Crop:
    path: Path
    identity: int
    camera: int


@dataclass
class ReidScores:
    queries: int
    gallery: int
    rank1: float
    rank5: float
    rank10: float
    mAP: float
    scored: int  # queries with a match in the gallery seen by another camera: the scores are over these
    crops_per_s: float
    reranked: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def market_crops(folder: Path) -> list[Crop]:
    """The crops of a Market-layout folder, by name; a file whose name is not Market's is a ValueError."""
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder of person crops")
    crops = []
    # hidden files are not crops: macOS leaves ._NAME beside each file copied to a foreign disk
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
                       and not p.name.startswith(".")):
        found = _NAME.match(path.name)
        if found is None:
            raise ValueError(f"{path}: not a Market-1501 crop name (IDENTITY_cCAMERA..., e.g. 0002_c1s1_000451_03.jpg)")
        crops.append(Crop(path, int(found.group(1)), int(found.group(2))))
    if not crops:
        inside = sorted(p.name for p in folder.iterdir() if p.is_dir())
        raise ValueError(f"{folder}: no person crops (.jpg, .png)" + (
            f"; crops are read from the folder itself, not from its folders ({', '.join(inside[:3])}): name the "
            "one that holds them" if inside else ""))
    return crops


def embed_crops(embed: Callable[[list[np.ndarray]], np.ndarray], crops: Sequence[Crop], batch: int = 256) -> np.ndarray:
    parts = []
    for start in range(0, len(crops), batch):
        images = [cv2.imread(str(c.path)) for c in crops[start:start + batch]]
        unreadable = [str(c.path) for c, image in zip(crops[start:start + batch], images) if image is None]
        if unreadable:
            raise ValueError(f"{unreadable[0]}: not an image")
        parts.append(embed(images))
    return np.concatenate(parts)


def evaluate(query: np.ndarray, gallery: np.ndarray, q_crops: Sequence[Crop], g_crops: Sequence[Crop], *,
             rerank: bool = False) -> tuple[float, float, float, float, int]:
    """rank-1, rank-5, rank-10 and mAP (0-1) of L2-normalised embeddings under the module's protocol, and
    how many queries were scored (a query with no match seen by another camera is not)."""
    distance = 1.0 - query @ gallery.T
    if rerank:
        distance = k_reciprocal(query, gallery)
    g_ids = np.array([c.identity for c in g_crops])
    g_cams = np.array([c.camera for c in g_crops])
    hits = np.zeros(10)
    precisions = []
    for i, crop in enumerate(q_crops):
        keep = (g_ids != JUNK) & ~((g_ids == crop.identity) & (g_cams == crop.camera))
        order = np.argsort(distance[i][keep], kind="stable")
        right = (g_ids[keep] == crop.identity)[order]
        if not right.any():
            continue  # a query with no true match in the gallery is not scored
        first = int(np.argmax(right))
        hits[first:] += first < 10
        ranks = np.flatnonzero(right) + 1
        precisions.append(float(np.mean(np.arange(1, ranks.size + 1) / ranks)))
    if not precisions:
        raise ValueError("no query has a match in the gallery seen by another camera: nothing to score (name "
                         "the gallery of these identities)")
    scored = len(precisions)
    return hits[0] / scored, hits[4] / scored, hits[9] / scored, float(np.mean(precisions)), scored


def k_reciprocal(query: np.ndarray, gallery: np.ndarray, k1: int = 20, k2: int = 6, lam: float = 0.3) -> np.ndarray:
    """Query-to-gallery distances re-ranked by k-reciprocal encoding (Zhong et al. 2017; their reference
    implementation's steps, on cosine distances of L2-normalised embeddings)."""
    everything = np.concatenate([query, gallery]).astype(np.float32)
    n_query, n = len(query), len(everything)
    original = np.clip(2.0 - 2.0 * (everything @ everything.T), 0, None)
    original = (original / original.max(axis=0, keepdims=True)).T
    ranks = np.argsort(original, axis=1, kind="stable")
    weights = np.zeros((n, n), np.float32)
    for i in range(n):
        forward = ranks[i, :k1 + 1]
        backward = ranks[forward, :k1 + 1]
        reciprocal = forward[np.any(backward == i, axis=1)]
        expanded = reciprocal
        for candidate in reciprocal:
            near = ranks[candidate, :int(np.around(k1 / 2)) + 1]
            near_back = ranks[near, :int(np.around(k1 / 2)) + 1]
            near_reciprocal = near[np.any(near_back == candidate, axis=1)]
            if len(np.intersect1d(near_reciprocal, reciprocal)) > 2 / 3 * len(near_reciprocal):
                expanded = np.append(expanded, near_reciprocal)
        expanded = np.unique(expanded)
        weight = np.exp(-original[i, expanded])
        weights[i, expanded] = weight / weight.sum()
    if k2 > 1:
        weights = np.stack([weights[ranks[i, :k2]].mean(axis=0) for i in range(n)])
    inverted = [np.flatnonzero(weights[:, j]) for j in range(n)]
    jaccard = np.zeros((n_query, n - n_query), np.float32)
    for i in range(n_query):
        minimum = np.zeros(n, np.float32)
        for j in np.flatnonzero(weights[i]):
            others = inverted[j]
            minimum[others] += np.minimum(weights[i, j], weights[others, j])
        jaccard[i] = 1 - minimum[n_query:] / (2 - minimum[n_query:])
    return jaccard * (1 - lam) + original[:n_query, n_query:] * lam


def held_out_split(folder: Path, identities: int, target: Path) -> tuple[Path, Path]:
    """A validation split of a Market-layout training folder: the last `identities` identities (by number),
    never to be trained on, as `target/query` (each identity's first crop from each camera that saw it more
    than once, so every camera keeps crops in the gallery) and `target/gallery` (their other crops), linked
    to the originals; returns the two folders."""
    chosen = set(sorted({c.identity for c in market_crops(folder) if c.identity > 0})[-identities:])
    crops = [c for c in market_crops(folder) if c.identity in chosen]
    per_camera = Counter((c.identity, c.camera) for c in crops)
    query, gallery = target / "query", target / "gallery"
    for sub in (query, gallery):
        sub.mkdir(parents=True, exist_ok=True)
    seen: set[tuple[int, int]] = set()
    for crop in crops:
        pair = (crop.identity, crop.camera)
        into = gallery if pair in seen or per_camera[pair] < 2 else query
        seen.add(pair)
        link = into / crop.path.name
        if not link.exists():
            link.symlink_to(crop.path.resolve())
    return query, gallery
