"""Every face of one photo described as an editor needs it: detection, pose, quality, age where the pack can.

The one path from decoded pixels to described faces, shared by `peoplegraph detect` and ingest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from peoplegraph.engine.decode import DecodedImage
from peoplegraph.engine.faces import Detections, Face
from peoplegraph.engine.pack import FaceModelPack
from peoplegraph.engine.pose import Pose
from peoplegraph.engine.quality import FaceQuality, QualityThresholds, analyse


@dataclass(frozen=True)
class FaceDescription:
    face: Face
    pose: Pose
    quality: FaceQuality
    child: bool | None  # None where the pack estimates no age

    def to_dict(self, model_id: str) -> dict:
        face = self.face
        return {
            "box": [round(v, 1) for v in face.box],
            "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks.reshape(-1, 2)],
            "confidence": round(face.score * 100, 1),
            "pose": self.pose.to_dict(),
            "quality": self.quality.to_dict(),
            "age": None if face.age is None else round(face.age, 1),
            "child": self.child,
            "model_id": model_id,
        }


def detect_faces(pack: FaceModelPack, image: DecodedImage, settings: object,
                 detection_threshold: float | None = None) -> Detections:
    """The pack's detections at least `min_face_size` full-size pixels on their shorter side (smaller ones are
    dropped before any further work). `detection_threshold` None means the setting, else the pack's own."""
    threshold = getattr(settings, "detection_threshold") if detection_threshold is None else detection_threshold
    found = pack.detect(image.pixels, threshold)
    sides = np.minimum(found.boxes[:, 2] - found.boxes[:, 0], found.boxes[:, 3] - found.boxes[:, 1]) * image.scale
    return found.select(sides >= getattr(settings, "min_face_size"))


def describe_faces(pack: FaceModelPack, image: DecodedImage, settings: object,
                   detection_threshold: float | None = None, detections: Detections | None = None,
                   ) -> list[FaceDescription]:
    """Every face of `image` with its embedding, pose, quality and age.

    `settings` is a Settings (or anything with its threshold attributes); `detections` made beforehand by
    `detect_faces` (ingest detects the next photos while this one is embedded), else detected here.
    """
    if detections is None:
        detections = detect_faces(pack, image, settings, detection_threshold)
    thresholds = QualityThresholds.from_settings(settings)
    child_age = getattr(settings, "child_age")
    described = []
    for face in pack.embed(image.pixels, detections, image.scale):
        pose, quality = analyse(image.pixels, face, thresholds, scale=image.scale)
        child = None if face.age is None else face.age < child_age
        described.append(FaceDescription(face, pose, quality, child))
    return described
