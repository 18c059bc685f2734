"""Face alignment on 5 landmarks to the standard 112x112 ArcFace template."""

from __future__ import annotations

import cv2
import numpy as np

# insightface's `arcface_dst`: left eye, right eye (as seen in the image), nose tip, left and right mouth
# corners, for a 112x112 crop. ArcFace, SFace and most open recognizers were trained on crops made with it.
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def similarity_transform(landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """The 2x3 similarity transform (rotation, uniform scale, shift) taking landmarks onto the template."""
    target = ARCFACE_TEMPLATE * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(np.asarray(landmarks, np.float32).reshape(5, 2), target,
                                            method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("landmarks are degenerate: no similarity transform onto the template")
    return matrix


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """A size x size crop of the face, eyes and mouth where the template puts them."""
    return cv2.warpAffine(image, similarity_transform(landmarks, size), (size, size), borderValue=0.0)
