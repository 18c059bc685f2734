"""Person boxes with the faces inside them, and the crops a ReID pack embeds (pure compute, numpy in and out)."""

from __future__ import annotations

import numpy as np

# A face belongs to a person box when its centre lies in the box's top HEAD_SHARE of height and in the middle
# CENTRE_SHARE of its width (a head sits above the body's middle; a neighbour's face at the box's edge is the
# neighbour's), and the face is at most FACE_WIDTH_SHARE of the box's width (a face as wide as the box is
# someone nearer the camera, standing in front).
HEAD_SHARE = 0.45
CENTRE_SHARE = 0.6
FACE_WIDTH_SHARE = 0.9
CROP_MARGIN = 0.05  # of the box's size, added around a person's crop (the detector's boxes are tight)
# A body's part below its face is embedded when it is at least this many face heights tall (a head and
# shoulders have no body below them to compare).
BELOW_FACE_HEIGHTS = 1.0


def tie_faces(people: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """For each person box (n, 4: x1, y1, x2, y2), the index of the face box (m, 4) inside it, -1 for none.

    Each face goes to one person at most: the pairs are taken best first, best being the face whose centre is
    nearest the box's centre line and top (a face in front of another's body sits lower and off-centre)."""
    people = np.asarray(people, np.float32).reshape(-1, 4)
    faces = np.asarray(faces, np.float32).reshape(-1, 4)
    tied = np.full(len(people), -1, np.int64)
    if not len(people) or not len(faces):
        return tied
    width = np.maximum(people[:, 2] - people[:, 0], 1.0)[:, None]
    height = np.maximum(people[:, 3] - people[:, 1], 1.0)[:, None]
    cx = ((faces[:, 0] + faces[:, 2]) / 2)[None, :]
    cy = ((faces[:, 1] + faces[:, 3]) / 2)[None, :]
    across = (cx - people[:, 0:1]) / width  # 0..1 inside the box
    down = (cy - people[:, 1:2]) / height
    inside = (np.abs(across - 0.5) <= CENTRE_SHARE / 2) & (down >= 0) & (down <= HEAD_SHARE)
    inside &= ((faces[:, 2] - faces[:, 0])[None, :] <= FACE_WIDTH_SHARE * width)
    cost = np.abs(across - 0.5) + down
    taken = np.zeros(len(faces), bool)
    for flat in np.argsort(np.where(inside, cost, np.inf), axis=None, kind="stable"):
        person, face = divmod(int(flat), len(faces))
        if not inside[person, face]:
            break
        if tied[person] < 0 and not taken[face]:
            tied[person], taken[face] = face, True
    return tied


def person_crops(image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """The BGR crop of each box (in the image's pixels), widened by CROP_MARGIN and kept inside the image."""
    height, width = image.shape[:2]
    crops = []
    for x1, y1, x2, y2 in np.asarray(boxes, np.float32).reshape(-1, 4):
        dx, dy = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
        left, top = max(0, int(x1 - dx)), max(0, int(y1 - dy))
        right, bottom = min(width, int(np.ceil(x2 + dx))), min(height, int(np.ceil(y2 + dy)))
        crops.append(image[top:max(bottom, top + 1), left:max(right, left + 1)])
    return crops


def below_face_boxes(people: np.ndarray, faces: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """For each person box, the part of it below its tied face (`tied` as `tie_faces` answers), NaN where it
    has no face or less than BELOW_FACE_HEIGHTS face heights of body under the face. Its crop's margin takes in
    the neck and the line of the shoulders, where the box of a body whose head is gone starts."""
    people = np.asarray(people, np.float32).reshape(-1, 4)
    faces = np.asarray(faces, np.float32).reshape(-1, 4)
    out = np.full_like(people, np.nan)
    for i, face in enumerate(np.asarray(tied).tolist()):
        if face < 0:
            continue
        x1, _, x2, y2 = people[i]
        below = y2 - faces[face, 3]
        if below >= BELOW_FACE_HEIGHTS * (faces[face, 3] - faces[face, 1]):
            out[i] = (x1, faces[face, 3], x2, y2)
    return out
