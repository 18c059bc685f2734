"""What the engine hands out: faces found in one photo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Face:
    """One face in a photo, in the pixels of the full-size photo as the viewer sees it (EXIF applied).

    box: x1, y1, x2, y2; landmarks: (5, 2) eyes (left, right as seen), nose, mouth corners;
    score: detection confidence 0-1; embedding: L2-normalised float32 vector of the pack's dimension;
    age: estimated age in years where the pack carries an age model, else None.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float
    embedding: np.ndarray
    age: float | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Detections:
    """What a detector found in one image, in that image's pixels, most confident first: boxes (n, 4)
    x1 y1 x2 y2, landmarks (n, 5, 2), scores (n,) 0-1."""

    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> Detections:
        return Detections(self.boxes[keep], self.landmarks[keep], self.scores[keep])
