"""A face observation as the objective layer stores it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

UNCLUSTERED = -1


def face_id_for(project: str, photo_id: str, model_id: str, box: tuple[float, float, float, float]) -> int:
    """Deterministic 63-bit id: the same face of the same file in the same project always gets the same id."""
    key = f"{project}\x1f{photo_id}\x1f{model_id}\x1f" + ",".join(f"{v:.1f}" for v in box)
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 1


@dataclass
class FaceObservation:
    face_id: int
    project: str
    photo_id: str  # sha256 of the file's bytes
    box: tuple[float, float, float, float]
    landmarks: list[float]  # 10 numbers: x, y of the 5 landmarks
    det_score: float
    cluster_id: int = UNCLUSTERED
    embedding: np.ndarray | None = field(default=None, repr=False)
