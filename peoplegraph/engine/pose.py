"""Head pose (yaw, pitch, roll in degrees) from the 5 detector landmarks.

Landmarks come in the order of `Face.landmarks`: eye on the image's left, eye on the image's right, nose
tip, mouth corner on the image's left, mouth corner on the image's right.

Sign conventions (as the viewer sees the photo; checked on LFW photos of turned and tilted heads):

- roll > 0: the head is tilted counter-clockwise as seen (the top of the head moves to the image's left,
  towards the person's right shoulder), the same sense as a positive angle of `cv2.getRotationMatrix2D`;
  so rotating a photo by +20 degrees with OpenCV adds +20 degrees of roll.
- yaw > 0: the nose points to the image's right, i.e. the person turns to *their own left*. A mirrored
  photo flips the sign.
- pitch > 0: the head is tilted up (chin up, the nose tip moves towards the eye line).

Geometric model (weak perspective, a rigid face): the eye centres and the mouth corners lie in one plane
(the face plane); the nose tip stands out of it, towards the camera, by D = NOSE_DEPTH x the inter-ocular
distance. The landmarks are first de-rolled (rotated so that the eye line is horizontal).

- roll: the angle of the eye line.
- yaw: a turn by theta moves the nose tip sideways by D sin(theta) off the projected midline (the line
  through the eye midpoint and the mouth midpoint, both in the face plane) while the inter-ocular distance
  shrinks to d cos(theta); so offset / projected distance = NOSE_DEPTH tan(theta) and
  yaw = atan(offset / (NOSE_DEPTH x projected inter-ocular distance)).
- pitch: a tilt by phi moves the nose tip vertically by D sin(phi) while the eye-to-mouth height shrinks
  to h cos(phi); the nose's position between eye line and mouth line, r = (nose - eyes) / (mouth - eyes),
  becomes r0 - (D / h) tan(phi), where r0 = 0.495 is the frontal value of the ArcFace template (align.py)
  and h / d = 1.155 its height-to-width proportion; so pitch = atan((r0 - r) h / D).

NOSE_DEPTH = 0.45: the nose tip stands about 0.45 inter-ocular distances in front of the eye/mouth plane
in the generic 3D face model of OpenCV's head-pose examples (eye corners 135 units behind the nose tip,
mouth corners 125, pupils about 315 apart). The model ignores perspective and individual noses, so
expect errors of about 5-10 degrees. The landmarks set the limits too: YuNet's follow an in-plane rotation
only partly (rotating 12 LFW photos by 10/20/30 degrees changed the measured roll by about 0.8 of that,
0.6-1.0 face by face; its regression leans towards upright faces), so roll is underestimated on strongly
tilted heads; past about 60 degrees of yaw the detector's landmarks themselves
are unreliable (the far eye is hidden).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from peoplegraph.engine.align import ARCFACE_TEMPLATE

NOSE_DEPTH = 0.45  # nose-tip protrusion in inter-ocular distances (generic 3D face model)


def _template_proportions() -> tuple[float, float]:
    t = ARCFACE_TEMPLATE.astype(np.float64)
    eyes, mouth = (t[0] + t[1]) / 2, (t[3] + t[4]) / 2
    ratio = (t[2, 1] - eyes[1]) / (mouth[1] - eyes[1])
    height_over_width = (mouth[1] - eyes[1]) / (t[1, 0] - t[0, 0])
    return float(ratio), float(height_over_width)


FRONTAL_NOSE_RATIO, FRONTAL_HEIGHT_OVER_WIDTH = _template_proportions()


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees; see the module docstring for the sign conventions."""

    yaw: float
    pitch: float
    roll: float

    def to_dict(self) -> dict[str, float]:
        return {"yaw": round(self.yaw, 1), "pitch": round(self.pitch, 1), "roll": round(self.roll, 1)}


def estimate_pose(landmarks: np.ndarray) -> Pose:
    """Yaw, pitch and roll (degrees) of a face from its 5 landmarks (any pixel scale)."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    left_eye, right_eye, nose, left_mouth, right_mouth = points
    eye_vector = right_eye - left_eye
    # Image y grows downwards: a counter-clockwise tilt as seen lifts the right eye, dy < 0.
    roll_rad = math.atan2(-eye_vector[1], eye_vector[0])
    # De-roll: rotate counter-clockwise-as-seen tilt back so that the eye line is horizontal.
    cos_r, sin_r = math.cos(roll_rad), math.sin(roll_rad)
    # Row vectors times this matrix: x' = x cos - y sin, y' = x sin + y cos (y down) undoes the tilt.
    rotation = np.array([[cos_r, sin_r], [-sin_r, cos_r]])
    centre = (left_eye + right_eye) / 2
    p = (points - centre) @ rotation
    eyes = (p[0] + p[1]) / 2
    mouth = (p[3] + p[4]) / 2
    interocular = max(abs(p[1, 0] - p[0, 0]), 1e-6)
    height = mouth[1] - eyes[1]
    if height <= 1e-6:  # degenerate landmarks (mouth above the eyes): no meaningful yaw/pitch
        return Pose(yaw=0.0, pitch=0.0, roll=math.degrees(roll_rad))
    t = (p[2, 1] - eyes[1]) / height
    midline_x = eyes[0] + (mouth[0] - eyes[0]) * t
    offset = p[2, 0] - midline_x
    yaw = math.degrees(math.atan2(offset, NOSE_DEPTH * interocular))
    depth = NOSE_DEPTH / FRONTAL_HEIGHT_OVER_WIDTH  # D / h in eye-to-mouth heights
    pitch = math.degrees(math.atan((FRONTAL_NOSE_RATIO - t) / depth))
    return Pose(yaw=yaw, pitch=pitch, roll=math.degrees(roll_rad))
