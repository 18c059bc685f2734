"""GraphQL types of the identity graph: people (with their privacy), organisations and memberships, relations,
events, and the person's faces in each photo."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from peoplegraph.identity.records import (
    Appearance, EventRecord, MembershipRecord, OrganisationRecord, PersonRecord, PhotoRecord, RelationRecord,
)
from peoplegraph.linking.bodies import BodyAppearance as FoundBody
from peoplegraph.linking.bodies import body_appearances
from peoplegraph.linking.repair import RepairReport
from peoplegraph.services.biography import biography_html as render_biography
from peoplegraph.services.runtime import Runtime

from peoplegraph.graphql.types import Box, CoAppearance, Photo, check_page, runtime_of

SHOWN = "normal"  # the visibility of people lists leave in without `includeHidden`


def shown(person: PersonRecord, include_hidden: bool) -> bool:
    """Whether a list (people, members) shows the person: hidden and private ones only when asked for."""
    return include_hidden or person.visibility == SHOWN


@strawberry.type
class ExternalId:
    source: str
    id: str


@strawberry.input(description="An id elsewhere, e.g. {source: \"wikidata\", id: \"Q76\"}; id \"\" removes the "
                              "source's id.")
class ExternalIdInput:
    source: str
    id: str


@strawberry.type(description="One face of the person in a photo, and how it came to be named: confirmed, auto, "
                             "imported (the face's own decision) or cluster (it joined a named cluster).")
class FaceAppearance:
    face_id: strawberry.ID
    box: Box
    cluster_id: int
    method: str
    score: float | None = strawberry.field(description="The auto-matching score, for `auto`.")

    @classmethod
    def of(cls, a: Appearance) -> FaceAppearance:
        return cls(face_id=strawberry.ID(str(a.face_id)), box=Box.of(a.box), cluster_id=a.cluster_id,
                   method=a.method, score=a.score)


@strawberry.type(description="A photo a person appears in, with that person's faces in it.")
class PersonPhoto(Photo):
    appearances: list[FaceAppearance] = strawberry.field(description="The person's faces in this photo.")

    @classmethod
    def with_faces(cls, photo: PhotoRecord, faces: list[Appearance]) -> PersonPhoto:
        return cls.of(photo, appearances=[FaceAppearance.of(a) for a in faces])  # type: ignore[return-value]


@strawberry.type(description="A team, club, company, band...: what people are members of.")
class Organisation:
    id: str
    name: str
    kind: str

    @classmethod
    def of(cls, o: OrganisationRecord) -> Organisation:
        return cls(id=o.organisation_id, name=o.name, kind=o.kind)


@strawberry.type(description="A person's membership of an organisation, in a role, for a period (since/until: "
                             "YYYY, YYYY-MM or YYYY-MM-DD; null unknown, or for until still a member).")
class Membership:
    person: Person
    organisation: Organisation
    role: str
    since: str | None
    until: str | None

    @classmethod
    def of(cls, m: MembershipRecord, person: Person, organisation: Organisation) -> Membership:
        return cls(person=person, organisation=organisation, role=m.role, since=m.since or None,
                   until=m.until or None)


@strawberry.type(description="`personId` is `kind` of `otherId` (e.g. personId parent of otherId).")
class Relation:
    person_id: str
    person_name: str
    kind: str
    other_id: str
    other_name: str

    @classmethod
    def of(cls, r: RelationRecord, names: dict[str, str]) -> Relation:
        return cls(person_id=r.person_id, person_name=names.get(r.person_id, ""), kind=r.kind, other_id=r.other_id,
                   other_name=names.get(r.other_id, ""))


@strawberry.type(description="A match, a premiere, a wedding: photos were taken at it; it may be part of a "
                             "larger one.")
class Event:
    project: strawberry.Private[str]
    id: str
    name: str
    date: str | None = strawberry.field(description="YYYY, YYYY-MM or YYYY-MM-DD; null unknown.")
    place: str
    part_of: str | None = strawberry.field(description="The id of the larger event.")

    @classmethod
    def of(cls, e: EventRecord) -> Event:
        return cls(project=e.project, id=e.event_id, name=e.name, date=e.date or None, place=e.place,
                   part_of=e.part_of or None)

    @strawberry.field(description="The photos taken at the event (paginated, limit at most 1000).")
    async def photos(self, info: Info, limit: int = 100, offset: int = 0) -> list[Photo]:
        check_page(limit, offset)
        found = await asyncio.to_thread(runtime_of(info).graph.event_photos, self.project, self.id)
        return [Photo.of(p) for p in found[offset:offset + limit]]


@strawberry.type
class PersonEvent:
    event: Event
    photo_count: int = strawberry.field(description="How many of the event's photos show the person.")


@strawberry.type(description="A person found in a photo by their body: the body's box, the body score (best cosine "
                             "to the person's reference bodies of the same event or time window), those reference "
                             "bodies, and the score of the body's own face (null without one).")
class BodyAppearance:
    body_id: str
    person_id: str = strawberry.field(description="Who the body is tagged (or suggested) as.")
    photo_id: str
    box: Box
    status: str = strawberry.field(description="tagged, or queued (waiting in the body review queue).")
    score: float | None
    reference_body_ids: list[str]
    face_id: str | None
    face_score: float | None
    actor: str
    decided_at: str

    @classmethod
    def of(cls, a: FoundBody) -> BodyAppearance:
        return cls(body_id=str(a.body_id), person_id=a.person_id, photo_id=a.photo_id, box=Box.of(a.box), status=a.status, score=a.score,
                   reference_body_ids=[str(r) for r in a.references], face_id=None if a.face_id < 0 else str(a.face_id),
                   face_score=a.face_score, actor=a.actor, decided_at=a.decided_at)


@strawberry.type(description="A named person. A `private` person's biography, notes, aliases, dates, external "
                             "ids, memberships and relations are withheld (null or empty); `hidden` and `private` "
                             "people are left out of lists unless `includeHidden` is given.")
class Person:
    project: strawberry.Private[str]
    private: strawberry.Private[bool]
    id: str
    name: str
    visibility: str = strawberry.field(description="normal, hidden or private.")
    born: str | None = strawberry.field(description="YYYY-MM-DD; null unknown (or private).")
    died: str | None = strawberry.field(description="YYYY-MM-DD; null unknown, alive (or private).")
    aliases: list[str]
    biography: str | None = strawberry.field(description="Markdown; null when private.")
    notes: str | None = strawberry.field(description="The editors' notes; null when private.")
    external_ids: list[ExternalId]
    cluster_ids: list[int]
    photo_count: int

    @classmethod
    def of(cls, p: PersonRecord) -> Person:
        private = p.visibility == "private"
        return cls(
            project=p.project, private=private, id=p.person_id, name=p.name, visibility=p.visibility,
            born=None if private else p.born or None, died=None if private else p.died or None,
            aliases=[] if private else list(p.aliases), biography=None if private else p.biography,
            notes=None if private else p.notes,
            external_ids=[] if private else [ExternalId(source=s, id=i) for s, i in p.external_ids],
            cluster_ids=list(p.cluster_ids), photo_count=p.photo_count,
        )

    @strawberry.field(description="The biography rendered to HTML a page may insert as it is (raw HTML in the "
                                  "Markdown escaped, javascript: and other unsafe links left as text, headings "
                                  "from h3); null when private.")
    def biography_html(self) -> str | None:
        return None if self.biography is None else render_biography(self.biography)

    @strawberry.field(description="The people who appear in photos with this person, most photos together first "
                                  "(hidden and private people only with `includeHidden`).")
    async def co_appearances(self, info: Info, include_hidden: bool = False) -> list[CoAppearance]:
        found = await asyncio.to_thread(runtime_of(info).graph.co_appearances, self.project, self.id,
                                        everyone=include_hidden)
        return [CoAppearance(person_id=p, name=n, photos=k) for p, n, k in found]

    @strawberry.field(description="A page of the photos this person appears in (by path; limit at most 1000), "
                                  "each with the person's faces there.")
    async def photos(self, info: Info, limit: int = 50, offset: int = 0) -> list[PersonPhoto]:
        check_page(limit, offset)
        found = await person_photos_loader(info).load((self.project, self.id, limit, offset))
        return [PersonPhoto.with_faces(photo, faces) for photo, faces in found]

    @strawberry.field(description="The organisations this person is (or was) a member of; empty when private.")
    async def memberships(self, info: Info) -> list[Membership]:
        if self.private:
            return []
        found, organisations = await asyncio.to_thread(_memberships, runtime_of(info), self.project, self.id)
        return [Membership.of(m, self, Organisation.of(organisations[m.organisation_id])) for m in found]

    @strawberry.field(description="Relations at either end of which this person is; empty when private, and "
                                  "relations with private people are left out.")
    async def relations(self, info: Info) -> list[Relation]:
        if self.private:
            return []
        found, people = await asyncio.to_thread(_relations, runtime_of(info), self.project, self.id)
        names = {p.person_id: p.name for p in people.values()}
        return [Relation.of(r, names) for r in found
                if all(p in people and people[p].visibility != "private" for p in (r.person_id, r.other_id))]

    @strawberry.field(description="Where this person was found by their body, apart from their faces (a face "
                                  "hidden, a back turned): `status` tagged (default) or queued, best body score first.")
    async def body_appearances(self, info: Info, status: str = "tagged") -> list[BodyAppearance]:
        found = await asyncio.to_thread(body_appearances, runtime_of(info), self.project, self.id, status=status)
        return [BodyAppearance.of(a) for a in found]

    @strawberry.field(description="The events of the photos this person appears in, with how many such photos.")
    async def events(self, info: Info) -> list[PersonEvent]:
        found = await asyncio.to_thread(runtime_of(info).graph.person_events, self.project, self.id)
        return [PersonEvent(event=Event.of(e), photo_count=n) for e, n in found]


@strawberry.type(description="Whether the vector store, the graph and the decisions agreed, and what repair did.")
class RepairOutcome:
    problems: list[str]
    repaired: bool
    clusters: int | None
    unclustered_faces: int | None

    @classmethod
    def of(cls, report: RepairReport) -> RepairOutcome:
        run = report.clustering
        return cls(problems=list(report.problems), repaired=report.repaired,
                   clusters=run.clusters if run else None, unclustered_faces=run.unclustered_faces if run else None)


@strawberry.type(description="Photos tagged with an event: how many of those named the project has.")
class EventTagging:
    event_id: str
    photos: int


PersonPhotosKey = tuple[str, str, int, int]  # project, person id, limit, offset


def person_photos_loader(info: Info) -> DataLoader[PersonPhotosKey, list]:
    """The request's loader of people's photo pages: the pages a list of people asks for in one graph call
    per (project, limit, offset), where each person's `photos` would make one of its own."""
    context = info.context
    if "person_photos" not in context:
        runtime = runtime_of(info)

        async def load(keys: list[PersonPhotosKey]) -> list[list]:
            wanted: dict[tuple[str, int, int], list[str]] = {}
            for project, person_id, limit, offset in keys:
                wanted.setdefault((project, limit, offset), []).append(person_id)
            found = {}
            for (project, limit, offset), people in wanted.items():
                pages = await asyncio.to_thread(runtime.graph.people_photos, project, people, limit=limit, offset=offset)
                found.update({(project, p, limit, offset): page for p, page in pages.items()})
            return [found[key] for key in keys]

        context["person_photos"] = DataLoader(load_fn=load)
    return context["person_photos"]


def _memberships(runtime: Runtime, project: str, person_id: str):
    graph = runtime.graph
    return (graph.memberships(project, person_id=person_id),
            {o.organisation_id: o for o in graph.organisations(project)})


def _relations(runtime: Runtime, project: str, person_id: str):
    graph = runtime.graph
    found = graph.relations(project, person_id)
    named = {p for r in found for p in (r.person_id, r.other_id)}
    return found, {p: person for p in named if (person := graph.person(project, p)) is not None}
