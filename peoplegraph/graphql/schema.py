"""GraphQL types and queries over the catalog. Face ids are 63-bit, so they travel as ID strings."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.types import Info

from peoplegraph.engine.quality import flags_from_bits
from peoplegraph.identity.records import ClusterRecord, PersonRecord, PhotoRecord
from peoplegraph.linking import service as linking
from peoplegraph.linking.service import LinkingResult
from peoplegraph.observations.model import UNKNOWN_AGE, FaceObservation
from peoplegraph.services import catalog
from peoplegraph.services.runtime import Runtime

MAX_PAGE = 1000


def _runtime(info: Info) -> Runtime:
    return info.context["request"].app.state.runtime


def _check_page(limit: int, offset: int) -> None:
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit must be 1..{MAX_PAGE} and offset >= 0")


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

    @classmethod
    def of(cls, photo: PhotoRecord) -> Photo:
        return cls(id=photo.photo_id, project=photo.project, path=photo.path, width=photo.width,
                   height=photo.height, face_count=photo.face_count)

    @strawberry.field
    async def faces(self, info: Info) -> list[Face]:
        runtime = _runtime(info)
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


@strawberry.type
class Person:
    project: strawberry.Private[str]
    id: str
    name: str
    born: str | None
    cluster_ids: list[int]
    photo_count: int

    @classmethod
    def of(cls, p: PersonRecord) -> Person:
        return cls(project=p.project, id=p.person_id, name=p.name, born=p.born or None,
                   cluster_ids=list(p.cluster_ids), photo_count=p.photo_count)

    @strawberry.field(description="The people who appear in photos with this person, most photos together first.")
    async def co_appearances(self, info: Info) -> list[CoAppearance]:
        found = await asyncio.to_thread(_runtime(info).graph.co_appearances, self.project, self.id)
        return [CoAppearance(person_id=p, name=n, photos=k) for p, n, k in found]

    @strawberry.field(description="The photos this person appears in (paginated, limit at most 1000).")
    async def photos(self, info: Info, limit: int = 100, offset: int = 0) -> list[Photo]:
        _check_page(limit, offset)
        found = await asyncio.to_thread(_runtime(info).graph.photos_with_all, self.project, [self.id])
        return [Photo.of(p) for p in found[offset:offset + limit]]


@strawberry.type(description="People from first to last; photoIds[i] shows personIds[i] with personIds[i + 1].")
class CoAppearanceChain:
    person_ids: list[str]
    photo_ids: list[str]


@strawberry.type
class CoAppearance:
    person_id: str
    name: str
    photos: int


@strawberry.type
class Query:
    @strawberry.field(description="The project's machine clusters, largest first.")
    async def clusters(self, info: Info, project: str) -> list[Cluster]:
        return [Cluster.of(c) for c in await asyncio.to_thread(catalog.clusters, _runtime(info), project)]

    @strawberry.field(description="The named people of a project.")
    async def people(self, info: Info, project: str) -> list[Person]:
        return [Person.of(p) for p in await asyncio.to_thread(catalog.people, _runtime(info), project)]

    @strawberry.field(description="The shortest chain of co-appearances from one person to another (at most "
                                  "`maxSteps` photos), or null when there is none.")
    async def co_appearance_chain(self, info: Info, project: str, first: str, last: str,
                                  max_steps: int = 6) -> CoAppearanceChain | None:
        found = await asyncio.to_thread(_runtime(info).graph.co_appearance_chain, project, first, last, max_steps)
        return None if found is None else CoAppearanceChain(person_ids=found[0], photo_ids=found[1])

    @strawberry.field(description="The photos in which every one of these people appears.")
    async def photos_with_all(self, info: Info, project: str, person_ids: list[str]) -> list[Photo]:
        return [Photo.of(p) for p in await asyncio.to_thread(_runtime(info).graph.photos_with_all, project, person_ids)]

    @strawberry.field(description="The project's photos, paginated (limit at most 1000).")
    async def photos(self, info: Info, project: str, limit: int = 100, offset: int = 0) -> list[Photo]:
        _check_page(limit, offset)
        found = await asyncio.to_thread(catalog.photos, _runtime(info), project, limit, offset)
        return [Photo.of(p) for p in found]

    @strawberry.field(description="Every face of a project.")
    async def faces(self, info: Info, project: str) -> list[Face]:
        runtime = _runtime(info)
        return [Face.of(f, runtime.settings.child_age) for f in await asyncio.to_thread(catalog.faces, runtime, project)]


@strawberry.type(description="What an editor action did: the faces decided about, the person, and the "
                             "clustering run that applied it.")
class LinkingOutcome:
    action: str
    face_ids: list[strawberry.ID]
    person_id: str | None
    clusters: int
    unclustered_faces: int

    @classmethod
    def of(cls, result: LinkingResult) -> LinkingOutcome:
        return cls(action=result.action, face_ids=[strawberry.ID(str(f)) for f in result.faces],
                   person_id=result.person_id, clusters=result.clustering.clusters,
                   unclustered_faces=result.clustering.unclustered_faces)


async def _act(info: Info, action, *args, **kwargs) -> LinkingOutcome:
    return LinkingOutcome.of(await asyncio.to_thread(action, _runtime(info), *args, **kwargs))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Confirm a cluster as a person: a new one by `name` or an existing one by "
                                     "`personId`. Every face of it is that person from now on.")
    async def confirm_cluster(self, info: Info, project: str, cluster_id: int, name: str | None = None,
                              person_id: str | None = None, actor: str = "") -> LinkingOutcome:
        return await _act(info, linking.confirm_cluster, project, cluster_id, name=name, person_id=person_id,
                          actor=actor)

    @strawberry.mutation(description="Ignore a cluster (background extras): its faces never join a cluster again.")
    async def ignore_cluster(self, info: Info, project: str, cluster_id: int, actor: str = "") -> LinkingOutcome:
        return await _act(info, linking.ignore_cluster, project, cluster_id, actor=actor)

    @strawberry.mutation(description="Take faces out of their confirmed person's cluster, for good.")
    async def remove_faces(self, info: Info, project: str, face_ids: list[strawberry.ID],
                           actor: str = "") -> LinkingOutcome:
        return await _act(info, linking.remove_faces, project, [int(f) for f in face_ids], actor=actor)

    @strawberry.mutation(description="Accept (the suggested person) or reject queued auto-matching suggestions.")
    async def review_faces(self, info: Info, project: str, face_ids: list[strawberry.ID], accept: bool,
                           actor: str = "") -> LinkingOutcome:
        return await _act(info, linking.review_faces, project, [int(f) for f in face_ids], accept=accept,
                          actor=actor)

    @strawberry.mutation(description="Undo the latest editor action or auto-matching run.")
    async def undo(self, info: Info, project: str) -> LinkingOutcome:
        return await _act(info, linking.undo, project)

    @strawberry.mutation(description="Cluster every face again; every human decision is kept.")
    async def reset_clusters(self, info: Info, project: str) -> LinkingOutcome:
        return await _act(info, linking.reset, project)


schema = strawberry.Schema(query=Query, mutation=Mutation)
