"""GraphQL types over the catalog: photos, faces, clusters, and what an editor action did. Face ids are 63-bit,
so they travel as ID strings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from litestar.exceptions import NotFoundException, PermissionDeniedException
from strawberry.permission import BasePermission
from strawberry.types import Info

from peoplegraph.api.access import check_project
from peoplegraph.engine.quality import flags_from_bits
from peoplegraph.identity.records import ClusterRecord, FaceDecision, PhotoRecord
from peoplegraph.linking.service import HistoryEntry, LinkingResult
from peoplegraph.observations.model import UNKNOWN_AGE, FaceObservation, checked_id
from peoplegraph.services import catalog
from peoplegraph.services.runtime import Runtime

MAX_PAGE = 1000


def runtime_of(info: Info) -> Runtime:
    return info.context["request"].app.state.runtime


def check_page(limit: int, offset: int) -> None:
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit must be 1..{MAX_PAGE} and offset >= 0")


def checked_face_ids(ids: Iterable[str], field: str = "faceIds") -> list[int]:
    """Face ids as the API takes them (ID strings of 63-bit integers), checked."""
    return [checked_id(given, field, "face") for given in ids]


@strawberry.type
class Box:
    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def of(cls, box: tuple[float, float, float, float]) -> Box:
        return cls(x1=box[0], y1=box[1], x2=box[2], y2=box[3])


@strawberry.type(description="Head pose in degrees: yaw > 0 turned to the person's left (nose to the image's "
                             "right), pitch > 0 chin up, roll > 0 tilted counter-clockwise as seen.")
class Pose:
    yaw: float
    pitch: float
    roll: float


@strawberry.type(description="Quality indicators (flags) and an overall score 0-100.")
class Quality:
    score: float
    small_face: bool
    blurry: bool
    poor_lighting: bool
    profile: bool
    sunglasses: bool
    occlusion: bool


@strawberry.type
class Face:
    id: strawberry.ID
    photo_id: str
    box: Box
    landmarks: list[float]
    confidence: float = strawberry.field(description="Detection confidence, 0-100.")
    cluster_id: int | None
    pose: Pose
    quality: Quality
    age: float | None = strawberry.field(description="Estimated age in years; null where the model pack has no "
                                                     "age model.")
    child: bool | None = strawberry.field(description="Estimated age under the `child_age` setting; null where "
                                                      "unknown.")

    @classmethod
    def of(cls, face: FaceObservation, child_age: float) -> Face:
        age = None if face.age == UNKNOWN_AGE else face.age
        return cls(
            id=strawberry.ID(str(face.face_id)), photo_id=face.photo_id, box=Box.of(face.box),
            landmarks=list(face.landmarks), confidence=face.det_score * 100,
            cluster_id=face.cluster_id if face.cluster_id >= 0 else None,
            pose=Pose(yaw=face.yaw, pitch=face.pitch, roll=face.roll),
            quality=Quality(score=face.quality_score, **flags_from_bits(face.quality_flags)),
            age=age, child=None if age is None else age < child_age,
        )


@strawberry.type
class Photo:
    id: str
    project: str
    path: str
    width: int
    height: int
    face_count: int
    taken_at: str | None = strawberry.field(description="When the photo was taken (ISO 8601), null unknown.")

    @classmethod
    def of(cls, photo: PhotoRecord, **more: object) -> Photo:
        """The photo's fields; `more` fills a subclass's own."""
        return cls(id=photo.photo_id, project=photo.project, path=photo.path, width=photo.width,
                   height=photo.height, face_count=photo.face_count, taken_at=photo.taken_at or None, **more)

    @strawberry.field(description="Every face detected in the photo.")
    async def faces(self, info: Info) -> list[Face]:
        runtime = runtime_of(info)
        found = await asyncio.to_thread(catalog.faces_of_photo, runtime, self.project, self.id)
        return [Face.of(f, runtime.settings.child_age) for f in found]


@strawberry.type
class RepresentativeFace:
    face_id: strawberry.ID
    photo_id: str
    box: Box


@strawberry.type
class Cluster:
    id: int
    size: int
    average_confidence: float
    representative: RepresentativeFace
    photo_ids: list[str]
    person_id: str | None

    @classmethod
    def of(cls, c: ClusterRecord) -> Cluster:
        return cls(
            id=c.cluster_id, size=c.size, average_confidence=c.mean_confidence,
            representative=RepresentativeFace(
                face_id=strawberry.ID(str(c.representative_face_id)), photo_id=c.representative_photo_id,
                box=Box.of(c.representative_box),
            ),
            photo_ids=list(c.photo_ids), person_id=c.person_id,
        )


@strawberry.type(description="People from first to last; photoIds[i] shows personIds[i] with personIds[i + 1].")
class CoAppearanceChain:
    person_ids: list[str]
    photo_ids: list[str]


@strawberry.type
class CoAppearance:
    person_id: str
    name: str
    photos: int


@strawberry.type(description="Where two merged people disagreed: the field and each side's value.")
class MergeConflict:
    field: str
    kept: str
    merged: str


@strawberry.type(description="What an editor action did: the faces decided about, the person, and the "
                             "clustering run that applied it.")
class LinkingOutcome:
    action: str
    face_ids: list[strawberry.ID]
    body_ids: list[strawberry.ID] = strawberry.field(description="The bodies decided about, when undoing body "
                                                                 "matching or the body review.")
    person_id: str | None
    clusters: int | None = strawberry.field(description="None when no clustering ran (an action on bodies alone).")
    unclustered_faces: int | None
    conflicts: list[MergeConflict] = strawberry.field(description="Merging people: where the two disagreed and "
                                                                  "were settled by `prefer`.")

    @classmethod
    def of(cls, result: LinkingResult) -> LinkingOutcome:
        placed = result.clustering
        return cls(action=result.action, face_ids=[strawberry.ID(str(f)) for f in result.faces],
                   body_ids=[strawberry.ID(str(b)) for b in result.bodies], person_id=result.person_id,
                   clusters=placed.clusters if placed else None,
                   unclustered_faces=placed.unclustered_faces if placed else None,
                   conflicts=[MergeConflict(field=c["field"], kept=str(c["kept"]), merged=str(c["merged"]))
                              for c in result.conflicts])


@strawberry.type(description="A face auto-matching suggested for a person, waiting in the review queue.")
class Suggestion:
    face_id: strawberry.ID
    person_id: str
    score: float | None = strawberry.field(description="The match's cosine similarity (as the auto threshold).")
    reference_face_ids: list[strawberry.ID] = strawberry.field(description="The person's confirmed faces it was "
                                                                           "scored against.")

    @classmethod
    def of(cls, d: FaceDecision) -> Suggestion:
        return cls(face_id=strawberry.ID(str(d.face_id)), person_id=d.suggested_as or "",
                   score=None if d.score is None else round(d.score, 4),
                   reference_face_ids=[strawberry.ID(str(r)) for r in d.references])


@strawberry.type(description="One action in a decision history: who took it, when, and what it left the face "
                             "with (method, person, removals, score).")
class HistoryStep:
    seq: int | None = strawberry.field(description="The action's place in the undo log; null for a decision "
                                                   "taken before the log kept it.")
    action: str
    actor: str
    decided_at: str
    face_id: strawberry.ID | None = strawberry.field(description="Null for an action on the person alone.")
    method: str | None
    person_id: str | None
    removed_from: list[str]
    ignored: bool
    score: float | None
    source: str = strawberry.field(default="", description="The file an imported decision was read from "
                                                            "(its XMP); empty otherwise.")

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryStep:
        d = entry.to_dict()
        return cls(**{**d, "face_id": None if d["face_id"] is None else strawberry.ID(d["face_id"])})


class _ProjectRole(BasePermission):
    """The key of the request reaches the field's `project` with this role (peoplegraph.access.keys): another
    project's, or an unknown one, is not found; a role too low is refused."""

    role = "viewer"

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        request = info.context["request"]
        try:
            await check_project(request.app.state.runtime, request.user, kwargs.get("project", ""), self.role)
        except NotFoundException as exc:
            raise GraphQLError(str(exc.detail), extensions={"code": "NOT_FOUND"}) from None
        except PermissionDeniedException as exc:
            raise GraphQLError(str(exc.detail), extensions={"code": "FORBIDDEN"}) from None
        return True


class Readers(_ProjectRole):
    role = "viewer"


class Editors(_ProjectRole):
    role = "editor"


def actor_of(info: Info) -> str:
    """Who decides: the name of the request's key (no free-text actor over HTTP)."""
    return info.context["request"].user.name
