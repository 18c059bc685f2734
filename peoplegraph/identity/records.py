"""Plain records that cross the `GraphStore` boundary."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PhotoRecord:
    project: str
    photo_id: str  # sha256 of the file's bytes
    path: str  # where it was first seen (file path or upload name)
    width: int
    height: int
    face_count: int


@dataclass(frozen=True)
class ClusterRecord:
    """A machine cluster: its faces live in the vector store (cluster id per face), its summary here."""

    project: str
    cluster_id: int
    size: int
    representative_face_id: int
    representative_photo_id: str
    representative_box: tuple[float, float, float, float]
    mean_confidence: float
    photo_ids: tuple[str, ...] = field(default=(), compare=False)  # distinct, sorted
    # faces of this cluster in each photo of photo_ids (same order); empty means one each
    faces_per_photo: tuple[int, ...] = field(default=(), compare=False)
    person_id: str | None = None


@dataclass(frozen=True)
class PersonRecord:
    project: str
    person_id: str
    name: str
    cluster_ids: tuple[int, ...] = ()
    photo_count: int = 0
