"""Every face of one photo described as an editor needs it: detection, pose, quality, age where the pack can.

The one path from decoded pixels to described faces, shared by `peoplegraph detect` and ingest.
"""

from __future__ import annotations

from dataclasses import dataclass

from peoplegraph.engine.decode import DecodedImage
from peoplegraph.engine.faces import Face
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


def describe_faces(pack: FaceModelPack, image: DecodedImage, settings: object,
                   detection_threshold: float | None = None) -> list[FaceDescription]:
    """The faces of `image` at least `min_face_size` px on their shorter side, with pose, quality and age.

    `settings` is a Settings (or anything with its threshold attributes); `detection_threshold` None means
    the setting, else the pack's own.
    """
    threshold = getattr(settings, "detection_threshold") if detection_threshold is None else detection_threshold
    faces = pack.get(image.pixels, image.scale, threshold)
    thresholds = QualityThresholds.from_settings(settings)
    min_side = getattr(settings, "min_face_size")
    child_age = getattr(settings, "child_age")
    described = []
    for face in faces:
        if min(face.width, face.height) < min_side:
            continue
        pose, quality = analyse(image.pixels, face, thresholds, scale=image.scale)
        child = None if face.age is None else face.age < child_age
        described.append(FaceDescription(face, pose, quality, child))
    return described
