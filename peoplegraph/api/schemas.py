"""The typed answers of the REST API (its OpenAPI response schemas). Ids that are 63-bit (faces) are strings, as
a browser's numbers would round them; confidences are 0-100. `typed` checks an answer against its schema as it
is made, so the description cannot drift from what is sent."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import msgspec
from msgspec import Struct

from peoplegraph.services.clustering import ClusteringReport

T = TypeVar("T")


def typed(value: Any, kind: type[T]) -> T:
    return msgspec.convert(value, kind, from_attributes=True)


class Body(Struct, forbid_unknown_fields=True):
    """A request body: a field it does not know is refused, naming it (a misspelt one would be ignored)."""


class Health(Struct):
    status: str
    version: str
    model_pack: str


class Project(Struct):
    name: str


class Deleted(Struct):
    deleted: str


class Key(Struct):
    key_id: str
    name: str
    project: str
    role: str
    created_at: str
    revoked_at: str


class IssuedKey(Key):
    secret: str  # shown once


class Accepted(Struct):
    project: str
    jobs: list[str]
    files: int | None = None
    mode: str | None = None


class JobState(Struct):
    id: str
    state: str  # queued, deferred, in_progress, complete, failed
    progress: dict[str, Any] | None  # stage, done, total, per_s, eta_s (and the stage's own counts)
    result: dict[str, Any] | None = None
    error: str | None = None


class SearchHit(Struct):
    photo_id: str
    score: float  # the selfie's cosine similarity to this photo's face (via body: to the person's best face)
    face_id: str | None  # None via body
    via: str  # face: the face itself matched; cluster: reached through the person's cluster; body: the person
    # was tagged there by their body (their face hidden)
    body_id: str | None  # via body: that body
    name: str  # the file name the photo came with
    thumbnail: str


class SearchAnswer(Struct):
    project: str
    threshold: float
    photos: list[SearchHit]


class Representative(Struct):
    face_id: str
    photo_id: str
    box: list[float]


class ClusterQuality(Struct):
    mean_quality: float  # the faces' mean quality score, 0-100
    low_quality_faces: int  # faces under the seed threshold: blurred, tiny or turned away


class Cluster(Struct):
    id: int
    size: int
    representative: Representative
    mean_confidence: float
    photos: int
    person_id: str | None
    crop: str
    quality: ClusterQuality | None = None


class Pose(Struct):
    yaw: float
    pitch: float
    roll: float


class Face(Struct):
    face_id: str
    photo_id: str
    box: list[float]
    landmarks: list[float]
    confidence: float
    cluster_id: int
    pose: Pose
    quality: dict[str, Any]  # score 0-100, and each flag (sunglasses, profile, ...) with its measure
    age: float | None
    crop: str
    thumbnail: str


class Outcome(Struct):
    """What an editor action did: the faces (or, undoing a body action, the bodies) decided about, the person, and
    the clustering run that applied it."""

    action: str
    project: str
    faces: list[str]
    person_id: str | None
    clustering: ClusteringReport | None  # None: an action on bodies alone (undoing body matching or its review)
    conflicts: list[dict[str, Any]]
    bodies: list[str]  # the bodies decided about, when undoing a body action


class Suggestion(Struct):
    face_id: str
    suggested_person_id: str | None
    score: float | None  # cosine similarity, as the auto threshold
    reference_face_ids: list[str]
    crop: str


class BodyAppearance(Struct):
    """A person found in a photo by their body (tagged) or suggested for it (queued)."""

    body_id: str
    person_id: str
    photo_id: str
    box: list[float]  # x1, y1, x2, y2 in the photo's full-size pixels
    status: str  # tagged | queued
    score: float | None  # the body score: best cosine to the person's reference bodies in the event or window
    references: list[str]  # those reference bodies, most similar first
    face_id: str | None  # the face inside the body's box, null when none
    face_score: float | None  # that face's best cosine to the person's faces, null without a face
    actor: str
    decided_at: str
    thumbnail: str


class BodyMatch(Struct):
    references: int
    candidates: int
    tagged: int
    queued: int
    cleared: int
    without_window: int
    auto_threshold: float
    review_threshold: float


class BodyReview(Struct):
    action: str
    project: str
    bodies: list[str]
    person_id: str | None


class HistoryStep(Struct):
    seq: int | None
    action: str
    actor: str
    decided_at: str
    face_id: str | None
    method: str | None
    person_id: str | None
    removed_from: list[str]
    ignored: bool
    score: float | None
    source: str = ""  # the file an imported decision was read from


class Person(Struct):
    person_id: str
    name: str
    visibility: str
    aliases: list[str]
    cluster_ids: list[int]
    photo_count: int


class PhotoDeleted(Struct):
    deleted: str
    clusters: int


class ShareLink(Struct):
    link_id: str
    project: str
    event_id: str
    created_by: str
    created_at: str
    expires_at: str
    revoked_at: str
    has_password: bool
    album: list[str]  # photo ids, when the link is to an album


class IssuedShareLink(ShareLink):
    token: str  # shown once
    url: str


class GuestPhoto(Struct):
    thumbnail: str
    large: str
    download: str


class GuestAnswer(Struct):
    photos: list[GuestPhoto]
    message: str


class GuestLink(Struct):
    """What a guest may know of a link before searching: never its project, event or photos."""

    has_password: bool
    expires_at: str  # "" : never
    scope: Literal["project", "event", "album"]  # what the guest's searches look through


class SessionInfo(Struct):
    name: str
    role: str
    project: str | None
    csrf: str
    expires_at: str


class SignedOut(Struct):
    signed_out: bool
