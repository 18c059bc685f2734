"""The model-pack interface: a detector and a recognizer behind insightface's two verbs."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from peoplegraph.engine.faces import Detections, Face


class ModelPackError(RuntimeError):
    """A model pack cannot be prepared: files missing, wrong hash, unloadable. The message says how to fix it."""


class FaceModelPack(Protocol):
    name: str  # what the user asked for: "yunet-sface", "buffalo_l", a folder
    model_id: str  # names the embedding space: faces of two model ids are never compared
    embedding_dim: int
    detection_threshold: float  # pack default, 0-1
    nms_threshold: float  # IoU above which two boxes are one face
    cluster_similarity: float  # pack default cosine similarity for "same person"
    # pack defaults for auto-matching and selfie search; None: derived from cluster_similarity
    auto_threshold: float | None
    review_threshold: float | None
    search_similarity: float | None

    def prepare(self, threads: int = 0) -> None:
        """Load (and on first use convert/verify) the model files. Raises ModelPackError."""

    def detect(self, image: np.ndarray, detection_threshold: float | None = None) -> Detections:
        """Faces found in a BGR uint8 image (the pack's threshold when None), in the image's pixels."""

    def embed(self, image: np.ndarray, detections: Detections, scale: float = 1.0) -> list[Face]:
        """The faces of `detections` with their embeddings (and ages, where the pack can), in full-size pixels:
        `scale` maps image pixels to full-size pixels (box * scale)."""

    def get(self, image: np.ndarray, scale: float = 1.0, detection_threshold: float | None = None) -> list[Face]:
        """detect, then embed: the faces of a BGR uint8 image in full-size pixels."""
