"""A face observation as the objective layer stores it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

UNCLUSTERED = -1
UNKNOWN_AGE = -1.0  # the pack estimates no age

PROJECT_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


ID_LIMIT = 2**63  # face ids are 63-bit; cluster ids fit the same range
IDS_SHOWN = 10  # ids a message names; the rest are counted


def checked_id(value: object, field: str, what: str) -> int:
    """An id as a client sends it (a whole number, in a string or not) within 0..2^63-1; ValueError naming the
    field otherwise (a larger number would overflow the stores' 64-bit columns)."""
    text = str(value).strip()
    try:
        number = int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else -1  # not "１２" nor "٣"
    except ValueError:
        number = -1
    if not 0 <= number < ID_LIMIT:
        raise ValueError(f"{field}: {str(value)[:40]!r} is not a {what} id (a whole number from 0 to 2^63-1)")
    return number


def listed(ids: Sequence[object], shown: int = IDS_SHOWN) -> str:
    """Ids as a message names them: the first `shown`, then how many more (a batch of 10,000 unknown ids
    answers in a line, not in 200 KB)."""
    head = ", ".join(map(str, ids[:shown]))
    return head + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def validate_project_name(project: object, field: str = "project") -> str:
    """The one check on project names (user input that ends up in filter expressions and graph keys).

    Letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 128 characters: no quotes,
    backslashes, slashes or `..`-only names can reach a store. Returns the name; raises ValueError naming
    the field otherwise.
    """
    if not isinstance(project, str) or not PROJECT_NAME_PATTERN.fullmatch(project):
        raise ValueError(
            f"{field}: invalid project name {project!r}: use 1-128 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return project


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
    # Pose in degrees and quality (engine/pose.py, engine/quality.py); quality_flags is a bitmask of
    # quality.FLAG_BITS (small_face 1, blurry 2, poor_lighting 4, profile 8, sunglasses 16, occlusion 32).
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    quality_score: float = 0.0
    quality_flags: int = 0
    age: float = UNKNOWN_AGE  # years, estimated by the pack's age model


NO_FACE = -1  # a body with no face found inside its box


@dataclass
class BodyObservation:
    body_id: int
    project: str
    photo_id: str  # sha256 of the file's bytes
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in the photo's full-size, upright pixels
    det_score: float  # the person detector's, 0-1
    face_id: int = NO_FACE  # the face inside the box, NO_FACE when none was found there
    embedding: np.ndarray | None = field(default=None, repr=False)
    # the embedding of the box below its face (None without a face, or with too little body under it): what a
    # body whose head is hidden or cut away is compared with
    below_face: np.ndarray | None = field(default=None, repr=False)
