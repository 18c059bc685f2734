"""GraphQL queries and mutations over the catalog and the identity graph. Face ids are 63-bit, so they travel
as ID strings. Resolvers stay thin: the work is done in `services` and `linking`, in a thread (the stores
block); a ValueError there becomes a GraphQL error with its message, which names the field at fault."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import strawberry
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import ExecutionResult, Info

from peoplegraph.api.access import may_undo_any
from peoplegraph.graphql.identity import (
    BodyAppearance, Event, EventTagging, ExternalIdInput, Membership, Organisation, Person, Relation, RepairOutcome, shown,
)
from peoplegraph.graphql.types import (
    MAX_PAGE, Cluster, CoAppearanceChain, Editors, Face, HistoryStep, LinkingOutcome, Photo, Readers, Suggestion,
    actor_of, check_page, checked_face_ids, runtime_of,
)
from peoplegraph.identity.records import EventRecord, MembershipRecord, OrganisationRecord, RelationRecord
from peoplegraph.linking import people as people_service
from peoplegraph.linking.bodies import body_appearances, review_bodies
from peoplegraph.linking import repair as repair_service
from peoplegraph.linking import service as linking
from peoplegraph.linking.people import MergeConflictError
from peoplegraph.observations.model import checked_id, listed, validate_project_name
from peoplegraph.services import catalog
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

log = logging.getLogger(__name__)


@strawberry.type
class Query:
    @strawberry.field(permission_classes=[Readers], description="The project's machine clusters, largest first.")
    async def clusters(self, info: Info, project: str) -> list[Cluster]:
        return [Cluster.of(c) for c in await asyncio.to_thread(catalog.clusters, runtime_of(info), project)]

    @strawberry.field(permission_classes=[Readers], description="A page of the named people of a project, by name "
                      "(limit at most 1000; hidden and private ones only with `includeHidden`).")
    async def people(self, info: Info, project: str, include_hidden: bool = False, limit: int = MAX_PAGE,
                     offset: int = 0, search: Annotated[str, strawberry.argument(
                         description="Only people whose name or an alias holds this (any case).")] = "",
                     ) -> list[Person]:
        check_page(limit, offset)
        found = await asyncio.to_thread(catalog.people, runtime_of(info), project, search)
        return [Person.of(p) for p in found if shown(p, include_hidden)][offset:offset + limit]

    @strawberry.field(permission_classes=[Readers], description="The review queue: faces auto-matching suggested "
                      "for a person, best score first (limit at most 1000).")
    async def review_queue(self, info: Info, project: str, limit: int = 100, offset: int = 0) -> list[Suggestion]:
        check_page(limit, offset)
        queued = await asyncio.to_thread(linking.review_queue, runtime_of(info), project)
        return [Suggestion.of(d) for d in queued[offset:offset + limit]]

    @strawberry.field(permission_classes=[Readers], description="The body review queue: bodies body matching "
                      "suggested for a person, best body score first (limit at most 1000).")
    async def body_review_queue(self, info: Info, project: str, limit: int = 100,
                                offset: int = 0) -> list[BodyAppearance]:
        check_page(limit, offset)
        queued = await asyncio.to_thread(body_appearances, runtime_of(info), project, status="queued")
        return [BodyAppearance.of(a) for a in queued[offset:offset + limit]]

    @strawberry.field(permission_classes=[Readers], description="The decision history of faces, of a cluster's "
                      "faces or of a person, oldest first: who, when, how, and what each face was left with.")
    async def history(self, info: Info, project: str, face_ids: list[strawberry.ID] | None = None,
                      cluster_id: int | None = None, person_id: str | None = None) -> list[HistoryStep]:
        if not (face_ids or cluster_id is not None or person_id):
            raise ValueError("history: name faceIds, clusterId or personId")
        found = await asyncio.to_thread(linking.history, runtime_of(info), project,
                                        face_ids=checked_face_ids(face_ids or []) if face_ids else (),
                                        cluster_id=cluster_id, person_id=person_id)
        return [HistoryStep.of(e) for e in found]

    @strawberry.field(permission_classes=[Readers], description="One person, hidden and private ones included (a private person's personal "
                                  "fields withheld); an error when there is no such person.")
    async def person(self, info: Info, project: str, id: str) -> Person | None:
        return Person.of(await asyncio.to_thread(_person, runtime_of(info), project, id))

    @strawberry.field(permission_classes=[Readers], description="The project's organisations (teams, clubs, companies...).")
    async def organisations(self, info: Info, project: str) -> list[Organisation]:
        return [Organisation.of(o) for o in await asyncio.to_thread(runtime_of(info).graph.organisations, project)]

    @strawberry.field(permission_classes=[Readers], description="The members of an organisation whose membership overlaps since..until (YYYY, "
                                  "YYYY-MM or YYYY-MM-DD; \"\" open), with their roles; hidden and private people "
                                  "only with `includeHidden`.")
    async def members(self, info: Info, project: str, organisation_id: str, since: str = "", until: str = "",
                      include_hidden: bool = False) -> list[Membership]:
        organisation, found = await asyncio.to_thread(catalog.members, runtime_of(info), project, organisation_id,
                                                      since=since, until=until)
        team = Organisation.of(organisation)
        return [Membership.of(m, Person.of(p), team) for m, p in found if shown(p, include_hidden)]

    @strawberry.field(permission_classes=[Readers], description="The project's events, by date.")
    async def events(self, info: Info, project: str) -> list[Event]:
        return [Event.of(e) for e in await asyncio.to_thread(runtime_of(info).graph.events, project)]

    @strawberry.field(permission_classes=[Readers], description="The shortest chain of co-appearances from one person to another (at most "
                                  "`maxSteps` photos), or null when there is none.")
    async def co_appearance_chain(self, info: Info, project: str, first: str, last: str,
                                  max_steps: int = 6) -> CoAppearanceChain | None:
        found = await asyncio.to_thread(runtime_of(info).graph.co_appearance_chain, project, first, last, max_steps)
        return None if found is None else CoAppearanceChain(person_ids=found[0], photo_ids=found[1])

    @strawberry.field(permission_classes=[Readers], description="The photos in which every one of these people appears.")
    async def photos_with_all(self, info: Info, project: str, person_ids: list[str]) -> list[Photo]:
        return [Photo.of(p) for p in await asyncio.to_thread(runtime_of(info).graph.photos_with_all, project, person_ids)]

    @strawberry.field(permission_classes=[Readers], description="The project's photos, paginated (limit at most 1000).")
    async def photos(self, info: Info, project: str, limit: int = 100, offset: int = 0) -> list[Photo]:
        check_page(limit, offset)
        found = await asyncio.to_thread(catalog.photos, runtime_of(info), project, limit, offset)
        return [Photo.of(p) for p in found]

    @strawberry.field(permission_classes=[Readers], description="Every face of a project.")
    async def faces(self, info: Info, project: str) -> list[Face]:
        runtime = runtime_of(info)
        return [Face.of(f, runtime.settings.child_age) for f in await asyncio.to_thread(catalog.faces, runtime, project)]


def _person(runtime: Runtime, project: str, person_id: str):
    validate_project_name(project)
    return linking.existing_person(runtime, project, person_id)


async def _act(info: Info, action, *args, **kwargs) -> LinkingOutcome:
    return LinkingOutcome.of(await asyncio.to_thread(action, runtime_of(info), *args, **kwargs))


async def _graph(info: Info, method: str, *args):
    return await asyncio.to_thread(getattr(runtime_of(info).graph, method), *args)


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=[Editors], description="Confirm a cluster as a person: a new one by `name` or an existing one by "
                                     "`personId`. Every face of it is that person from now on.")
    async def confirm_cluster(self, info: Info, project: str, cluster_id: int, name: str | None = None,
                              person_id: str | None = None) -> LinkingOutcome:
        return await _act(info, linking.confirm_cluster, project, cluster_id, name=name, person_id=person_id,
                          actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="Ignore a cluster (background extras): its faces never join a cluster again.")
    async def ignore_cluster(self, info: Info, project: str, cluster_id: int) -> LinkingOutcome:
        return await _act(info, linking.ignore_cluster, project, cluster_id, actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="Take faces out of their cluster for good: they are not its person (or, in "
                                     "a cluster no one has named, not the individual its other faces are).")
    async def remove_faces(self, info: Info, project: str, face_ids: list[strawberry.ID]) -> LinkingOutcome:
        return await _act(info, linking.remove_faces, project, checked_face_ids(face_ids), actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="Ignored faces may seed and join clusters again.")
    async def unignore_faces(self, info: Info, project: str, face_ids: list[strawberry.ID]) -> LinkingOutcome:
        return await _act(info, linking.unignore_faces, project, checked_face_ids(face_ids), actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="The clusters are one individual: the person one of them is confirmed as, or "
                                     "an unnamed group kept by every later run. Clusters of two different people "
                                     "are refused (merge the people).")
    async def merge_clusters(self, info: Info, project: str, cluster_ids: list[int]) -> LinkingOutcome:
        return await _act(info, linking.merge_clusters, project, cluster_ids, actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="The chosen faces of a cluster are another individual than the rest: they "
                                     "form a cluster of their own, never again with the rest.")
    async def split_cluster(self, info: Info, project: str, cluster_id: int, face_ids: list[strawberry.ID]) -> LinkingOutcome:
        return await _act(info, linking.split_cluster, project, cluster_id, checked_face_ids(face_ids), actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="Accept (the suggested person) or reject queued auto-matching suggestions.")
    async def review_faces(self, info: Info, project: str, face_ids: list[strawberry.ID], accept: bool) -> LinkingOutcome:
        return await _act(info, linking.review_faces, project, checked_face_ids(face_ids), accept=accept, actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="Accept (the suggested person) or reject bodies of "
                                                                   "the body review queue; the bodies decided about.")
    async def review_bodies(self, info: Info, project: str, body_ids: list[strawberry.ID], accept: bool) -> list[str]:
        ids = [checked_id(given, "bodyIds", "body") for given in body_ids]
        done = await asyncio.to_thread(review_bodies, runtime_of(info), project, ids, accept=accept,
                                       actor=actor_of(info))
        return [str(b) for b in done.bodies]

    @strawberry.mutation(permission_classes=[Editors], description="Undo the latest editor action (person edits and merges included) or "
                                     "auto-matching run: an editor their own (CONFLICT when the latest is another's), an owner any.")
    async def undo(self, info: Info, project: str) -> LinkingOutcome:
        key = info.context["request"].user
        return await _act(info, linking.undo, project, only_by=None if may_undo_any(key) else key.name)

    @strawberry.mutation(permission_classes=[Editors], description="Recompute the machine's work on one cluster (or, without `clusterId`, "
                                     "cluster every face again); every human decision is kept.")
    async def reset_clusters(self, info: Info, project: str, cluster_id: int | None = None) -> LinkingOutcome:
        return await _act(info, linking.reset, project, cluster_id, actor=actor_of(info))

    @strawberry.mutation(permission_classes=[Editors], description="Change the given fields of a person (others stay; \"\" clears a date, the "
                                     "biography or the notes; an external id \"\" removes that source). Undoable.")
    async def edit_person(self, info: Info, project: str, id: str, name: str | None = None,
                          born: str | None = None, died: str | None = None, biography: str | None = None,
                          notes: str | None = None, add_aliases: list[str] | None = None,
                          remove_aliases: list[str] | None = None, external_ids: list[ExternalIdInput] | None = None,
                          visibility: str | None = None) -> Person:
        ids = None if external_ids is None else {e.source: e.id for e in external_ids}
        edited = await asyncio.to_thread(
            people_service.edit_person, runtime_of(info), project, id, name=name, born=born, died=died,
            biography=biography, notes=notes, add_aliases=add_aliases or (), remove_aliases=remove_aliases or (),
            external_ids=ids, visibility=visibility, actor=actor_of(info))
        return Person.of(edited)

    @strawberry.mutation(permission_classes=[Editors], description="Fold `mergedId` into `keptId` (names, aliases, biographies, notes, ids, "
                                     "memberships, relations and faces combined). Refused, with the conflicts "
                                     "listed (message, and `conflicts` in the error's extensions), until `prefer` "
                                     "(keptId or mergedId) says whose values win. Undoable.")
    async def merge_people(self, info: Info, project: str, kept_id: str, merged_id: str, prefer: str | None = None) -> LinkingOutcome:
        try:
            return await _act(info, people_service.merge_people, project, kept_id, merged_id, prefer=prefer,
                              actor=actor_of(info))
        except MergeConflictError as exc:
            raise GraphQLError(str(exc), extensions={"conflicts": exc.conflicts}) from exc

    @strawberry.mutation(permission_classes=[Editors], description="Create an organisation (a team, a club...) or rename it. ")
    async def add_organisation(self, info: Info, project: str, id: str, name: str, kind: str = "") -> Organisation:
        return Organisation.of(await _graph(info, "add_organisation", OrganisationRecord(project, id, name, kind)))

    @strawberry.mutation(permission_classes=[Editors], description="Record that a person is (or was) a member of an organisation, in a role, "
                                     "since..until (YYYY, YYYY-MM or YYYY-MM-DD; until \"\": still a member). "
                                    )
    async def add_membership(self, info: Info, project: str, person_id: str, organisation_id: str, role: str = "",
                             since: str = "", until: str = "") -> Membership:
        membership = MembershipRecord(project, person_id, organisation_id, role, since, until)
        person, organisation = await asyncio.to_thread(_add_membership, runtime_of(info), membership)
        return Membership.of(membership, Person.of(person), Organisation.of(organisation))

    @strawberry.mutation(permission_classes=[Editors], description="Record that `personId` is `kind` of `otherId` (parent, child, sibling, "
                                     "spouse, partner, relative, colleague, teammate, friend, other). "
                                    )
    async def add_relation(self, info: Info, project: str, person_id: str, kind: str, other_id: str) -> Relation:
        relation = RelationRecord(project, person_id, other_id, kind)
        names = await asyncio.to_thread(_add_relation, runtime_of(info), relation)
        return Relation.of(relation, names)

    @strawberry.mutation(permission_classes=[Editors], description="Create an event (or change it); `partOf` names a larger event. "
                                    )
    async def add_event(self, info: Info, project: str, id: str, name: str, date: str = "", place: str = "",
                        part_of: str = "") -> Event:
        return Event.of(await _graph(info, "add_event", EventRecord(project, id, name, date, place, part_of)))

    @strawberry.mutation(permission_classes=[Editors], description="Say these photos (ids) were taken at the event (each photo at one event; "
                                     "eventId \"\" takes them out of any).")
    async def tag_photos_with_event(self, info: Info, project: str, event_id: str, photo_ids: list[str]) -> EventTagging:
        if not photo_ids:
            raise ValueError("photoIds: name at least one photo")
        found = {p.photo_id for p in await _graph(info, "photos_by_id", project, photo_ids)}
        unknown = [p for p in dict.fromkeys(photo_ids) if p not in found]
        if unknown:  # all or nothing, as `peoplegraph events tag`
            raise ValueError(f"photoIds: {listed(unknown)}: no such photo in project {project!r}; nothing was changed")
        known = await _graph(info, "set_photo_event", project, photo_ids, event_id)
        return EventTagging(event_id=event_id, photos=known)

    @strawberry.mutation(permission_classes=[Editors], description="Check that the vector store, the graph and the decisions agree (after a "
                                     "crash, say) and, where they do not, finish the interrupted work.")
    async def repair(self, info: Info, project: str) -> RepairOutcome:
        return RepairOutcome.of(await asyncio.to_thread(repair_service.repair, runtime_of(info), project))


def _add_membership(runtime: Runtime, membership: MembershipRecord):
    runtime.graph.add_membership(membership)
    organisation = next(o for o in runtime.graph.organisations(membership.project)
                        if o.organisation_id == membership.organisation_id)
    return runtime.graph.person(membership.project, membership.person_id), organisation


def _add_relation(runtime: Runtime, relation: RelationRecord) -> dict[str, str]:
    runtime.graph.add_relation(relation)
    people = (runtime.graph.person(relation.project, p) for p in (relation.person_id, relation.other_id))
    return {p.person_id: p.name for p in people if p}


class PeoplegraphSchema(strawberry.Schema):
    """Every error carries a code in `extensions` (ERROR_CODES). Errors the client caused (a bad argument, an
    unknown id, a key that may not: ValueErrors and our own GraphQLErrors, and the query's own syntax and
    validation) are the client's to read, not the operator's: logged at INFO without a traceback. Anything
    else is a server error, logged with its traceback. A query runs within a time budget: past it, the
    client is answered and the fields not yet started never run (a mutation, once started, runs to its end)."""

    def __init__(self, *args, time_budget_s: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.time_budget_s = time_budget_s

    async def execute(self, query: str | None, *args, operation_name: str | None = None, **kwargs) -> ExecutionResult:
        running = super().execute(query, *args, operation_name=operation_name, **kwargs)
        if not _is_query(query, operation_name):
            return await running
        try:
            return await asyncio.wait_for(running, self.time_budget_s)
        except TimeoutError:
            log.info("GraphQL query stopped at its time budget of %.1f s", self.time_budget_s)
            return ExecutionResult(data=None, errors=[GraphQLError(
                f"the query ran past its time budget of {self.time_budget_s:g} s: ask for fewer fields or a "
                "smaller page", extensions={"code": "TIME_BUDGET_EXCEEDED"})])

    def process_errors(self, errors: list[GraphQLError], execution_context=None) -> None:
        unexpected = []
        for error in errors:
            original = error.original_error
            error.extensions = {"code": _code(error), **(error.extensions or {})}
            if original is None or isinstance(original, (ValueError, GraphQLError, PermissionError)):
                log.info("GraphQL request refused: %s", error.message)
            else:
                unexpected.append(error)
        if unexpected:
            super().process_errors(unexpected, execution_context)


# The code in each error's `extensions`, by what raised it (the first that matches).
ERROR_CODES = ((linking.Conflict, "CONFLICT"), (MergeConflictError, "CONFLICT"), (linking.Missing, "NOT_FOUND"),
               (ValueError, "BAD_REQUEST"),
               (PermissionError, "FORBIDDEN"))


def _code(error: GraphQLError) -> str:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return "GRAPHQL_VALIDATION_FAILED"  # syntax, unknown fields, wrong argument types, the query limits
    return next((code for kind, code in ERROR_CODES if isinstance(original, kind)), "INTERNAL_SERVER_ERROR")


def _is_query(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation to run is a query (a document that does not parse is left to strawberry)."""
    try:
        document = parse(query or "")
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (operation_name is None or (d.name and d.name.value == operation_name))]
    return len(operations) == 1 and operations[0].operation == OperationType.QUERY


def build_schema(settings: Settings) -> PeoplegraphSchema:
    """The schema with the settings' limits, so one client's query cannot stall the others: nesting depth,
    aliases (each runs its field again) and tokens, checked before anything runs, and the time budget."""
    return PeoplegraphSchema(query=Query, mutation=Mutation, time_budget_s=settings.graphql_time_budget_s, extensions=[
        QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases),
        MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
    ])
