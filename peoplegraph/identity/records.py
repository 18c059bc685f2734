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
    taken_at: str = ""  # when the photo was taken (EXIF DateTimeOriginal, ISO 8601), "" unknown


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
    born: str = ""  # birth date YYYY-MM-DD, "" unknown


@dataclass(frozen=True)
class ActionRecord:
    """An editor action (or an auto-matching run) as recorded for undo."""

    project: str
    seq: int  # 1, 2, ... in the order the actions were taken
    action: str
    actor: str
    decided_at: str
    face_ids: tuple[int, ...]


@dataclass(frozen=True)
class FaceDecision:
    """What a person (or the machine, with `method` auto) decided about one face: the current decision, by
    face id, so that no clustering run can undo it (engine/decisions.py turns these into constraints)."""

    face_id: int
    confirmed_as: str | None = None  # person id: this face is that person
    removed_from: frozenset[str] = frozenset()  # person ids: this face is not those people
    ignored: bool = False  # a background extra: never in a cluster
    suggested_as: str | None = None  # person id proposed by auto-matching, waiting in the review queue
    references: tuple[int, ...] = ()  # the confirmed faces an automatic match was scored against
    method: str = "confirmed"  # confirmed (a person decided), auto (matched), review (waiting), imported
    actor: str = ""  # who decided
    score: float | None = None  # the match score, for auto decisions
    decided_at: str = ""  # ISO 8601, UTC
