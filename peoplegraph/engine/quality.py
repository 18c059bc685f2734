"""Quality indicators of one detected face, as a photo editor would call them out.

Every indicator is a flag plus the number it was decided on (pure numpy/OpenCV, deterministic):

| indicator | value | flagged when |
|---|---|---|
| small_face | shorter box side, full-size pixels | < min_quality_face_size (PhotoPrism's 50 px) |
| blurry | variance of the Laplacian of the aligned 112x112 grey crop (inside the photo) | < blur_threshold |
| poor_lighting | mean luminance 0-255 of the face region (value); its std is the contrast | mean < dark_luminance, mean > bright_luminance or std < min_contrast |
| profile | |yaw| in degrees (pose.py) | > profile_yaw |
| sunglasses | darker eye region's mean / mean of cheeks and nose (0-1+) | both eye regions darker than sunglasses_eye_ratio x the cheeks, both flat (std < 0.6 x the cheeks' std + 8) |
| occlusion | colour distance (Lab a*b*, 0-255 units) between the cheeks and the mouth/chin region, or 255 when a landmark lies outside the box | > occlusion_threshold |

Regions are fixed rectangles of the aligned crop around the ArcFace template's points (eyes at y 52,
nose tip at y 72, mouth corners at y 92): eyes 22x14 px around each eye point; cheeks and nose a band
y 60-80, x 28-84; lower face (beside the mouth, not the lips, and the chin) y 86-100 x 24-38 and 74-88,
y 101-111 x 38-74; the face region for lighting y 30-108, x 22-90.
Pixels that fall outside the photo (black borders of the warp) are left out of every statistic.

score (0-100) = 100 x (1 - 0.30 blur) x (1 - 0.25 size) x (1 - 0.25 light) x (1 - 0.25 pose)
x (1 - 0.20 sunglasses) x (1 - 0.30 occlusion), each term between 0 (fine) and 1 (bad):
blur = clip((2t - v) / t, 0, 1) for Laplacian variance v and threshold t (1 at or below t, 0 from 2t);
size = clip((2m - s) / m, 0, 1) for shorter side s and minimum m; pose = clip(|yaw| / profile_yaw, 0, 1);
light, sunglasses and occlusion are their flags (0 or 1). A sharp, large, well-lit frontal face scores 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from peoplegraph.engine.align import similarity_transform
from peoplegraph.engine.faces import Face
from peoplegraph.engine.pose import Pose, estimate_pose

CROP = 112
# (y1, y2, x1, x2) in the aligned 112x112 crop
LEFT_EYE = (45, 59, 27, 49)
RIGHT_EYE = (45, 59, 63, 85)
CHEEKS = (60, 80, 28, 84)
# around the mouth but not on the lips (lipstick is not a mask): lower cheeks on both sides and the chin
LOWER = ((86, 100, 24, 38), (86, 100, 74, 88), (101, 111, 38, 74))
FACE = (30, 108, 22, 90)
INDICATORS = ("small_face", "blurry", "poor_lighting", "profile", "sunglasses", "occlusion")
# Bit of each indicator in `FaceQuality.flags` (stored as one INT64 by the objective layer).
FLAG_BITS = {name: 1 << i for i, name in enumerate(INDICATORS)}


@dataclass(frozen=True)
class QualityThresholds:
    """The thresholds `analyse` decides on; `from_settings` takes them from `Settings` (same names)."""

    min_quality_face_size: float = 50.0
    blur_threshold: float = 35.0
    dark_luminance: float = 40.0
    bright_luminance: float = 215.0
    min_contrast: float = 12.0
    profile_yaw: float = 45.0
    sunglasses_eye_ratio: float = 0.35
    occlusion_threshold: float = 30.0

    @classmethod
    def from_settings(cls, settings: object) -> QualityThresholds:
        return cls(**{name: float(getattr(settings, name)) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Indicator:
    flag: bool
    value: float

    def to_dict(self) -> dict:
        return {"flag": self.flag, "value": round(self.value, 2)}


@dataclass(frozen=True)
class FaceQuality:
    score: float  # 0-100, see the module docstring
    small_face: Indicator
    blurry: Indicator
    poor_lighting: Indicator
    profile: Indicator
    sunglasses: Indicator
    occlusion: Indicator

    @property
    def flags(self) -> int:
        """The flagged indicators as a bitmask (FLAG_BITS)."""
        return sum(bit for name, bit in FLAG_BITS.items() if getattr(self, name).flag)

    def to_dict(self) -> dict:
        return {"score": round(self.score, 1), **{name: getattr(self, name).to_dict() for name in INDICATORS}}


def flags_from_bits(bits: int) -> dict[str, bool]:
    return {name: bool(bits & bit) for name, bit in FLAG_BITS.items()}


def _region(image: np.ndarray, valid: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    y1, y2, x1, x2 = box
    values = image[y1:y2, x1:x2]
    mask = valid[y1:y2, x1:x2]
    return values[mask] if mask.any() else values.reshape(-1, *image.shape[2:])


def analyse(image_bgr: np.ndarray, face: Face, thresholds: QualityThresholds | object | None = None,
            scale: float = 1.0) -> tuple[Pose, FaceQuality]:
    """Pose and quality of `face` in `image_bgr`.

    `face` is in full-size pixels; `scale` is full-size pixels per image pixel (DecodedImage.scale), so a
    photo decoded at reduced size is measured on the pixels it has. `thresholds` is a QualityThresholds or
    anything with the same attributes (a Settings).
    """
    if thresholds is None:
        thresholds = QualityThresholds()
    elif not isinstance(thresholds, QualityThresholds):
        thresholds = QualityThresholds.from_settings(thresholds)
    t = thresholds
    landmarks = np.asarray(face.landmarks, dtype=np.float64).reshape(5, 2)
    pose = estimate_pose(landmarks)

    matrix = similarity_transform(landmarks / scale, CROP)
    crop = cv2.warpAffine(image_bgr, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    inside = cv2.warpAffine(np.full(image_bgr.shape[:2], 255, np.uint8), matrix, (CROP, CROP),
                            flags=cv2.INTER_NEAREST, borderValue=0)
    valid = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)

    side = float(min(face.width, face.height))
    small = Indicator(side < t.min_quality_face_size, side)

    laplacian = cv2.Laplacian(grey, cv2.CV_32F, ksize=1)
    lap = laplacian[valid] if valid.any() else laplacian.reshape(-1)
    sharpness = float(lap.var())
    blurry = Indicator(sharpness < t.blur_threshold, sharpness)

    face_px = _region(grey, valid, FACE)
    mean_l, std_l = float(face_px.mean()), float(face_px.std())
    lighting = Indicator(mean_l < t.dark_luminance or mean_l > t.bright_luminance or std_l < t.min_contrast,
                         mean_l)

    profile = Indicator(abs(pose.yaw) > t.profile_yaw, abs(pose.yaw))

    cheeks = _region(grey, valid, CHEEKS)
    cheek_mean, cheek_std = float(cheeks.mean()), float(cheeks.std())
    eyes = [_region(grey, valid, box) for box in (LEFT_EYE, RIGHT_EYE)]
    eye_ratio = max(float(e.mean()) for e in eyes) / max(cheek_mean, 1.0)
    flat = all(float(e.std()) < 0.6 * cheek_std + 8.0 for e in eyes)
    sunglasses = Indicator(eye_ratio < t.sunglasses_eye_ratio and flat and cheek_mean >= t.dark_luminance,
                           eye_ratio)

    x1, y1, x2, y2 = face.box
    margin = 0.1 * max(face.width, face.height)
    outside = bool(((landmarks[:, 0] < x1 - margin) | (landmarks[:, 0] > x2 + margin) |
                    (landmarks[:, 1] < y1 - margin) | (landmarks[:, 1] > y2 + margin)).any())
    lab = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB).astype(np.float32)
    upper_ab = np.median(_region(lab, valid, CHEEKS)[:, 1:], axis=0)
    lower_ab = np.median(np.concatenate([_region(lab, valid, box) for box in LOWER])[:, 1:], axis=0)
    colour_gap = 255.0 if outside else float(np.linalg.norm(upper_ab - lower_ab))
    occlusion = Indicator(colour_gap > t.occlusion_threshold, colour_gap)

    blur_term = float(np.clip((2 * t.blur_threshold - sharpness) / max(t.blur_threshold, 1e-6), 0, 1))
    size_term = float(np.clip((2 * t.min_quality_face_size - side) / max(t.min_quality_face_size, 1e-6), 0, 1))
    pose_term = float(np.clip(abs(pose.yaw) / max(t.profile_yaw, 1e-6), 0, 1))
    score = 100.0 * ((1 - 0.30 * blur_term) * (1 - 0.25 * size_term) * (1 - 0.25 * lighting.flag) *
                     (1 - 0.25 * pose_term) * (1 - 0.20 * sunglasses.flag) * (1 - 0.30 * occlusion.flag))
    quality = FaceQuality(score=score, small_face=small, blurry=blurry, poor_lighting=lighting, profile=profile,
                          sunglasses=sunglasses, occlusion=occlusion)
    return pose, quality
