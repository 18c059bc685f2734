"""Review over REST: the clusters and their faces, the editor's actions on them, the review queue, undo.

Thin: each route checks its input, runs a `linking` action (the same the CLI and GraphQL run) in a thread, and
shapes the answer. Face ids travel as strings (63-bit), confidences 0-100; the actor of every decision is the
name of the request's key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, get, post

from peoplegraph.api.access import may_undo_any, project_guard
from peoplegraph.api.schemas import Body, Cluster, Face, HistoryStep, Outcome, Person, Suggestion, typed
from peoplegraph.linking import service as linking
from peoplegraph.linking.service import LinkingResult
from peoplegraph.observations.model import checked_id
from peoplegraph.services import catalog
from peoplegraph.services.runtime import Runtime

MAX_PAGE = 500


class Confirmation(Body):
    name: str | None = None
    person_id: str | None = None


class FaceChoice(Body):
    face_ids: list[str]


class ClusterChoice(Body):
    cluster_ids: list[int]


class ReviewAnswer(Body):
    face_ids: list[str]
    accept: bool


def _page(limit: int, offset: int) -> None:
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise ValueError(f"limit/offset: limit 1-{MAX_PAGE} and offset >= 0, got {limit} and {offset}")


def _face_ids(values: list[str]) -> list[int]:
    if not values:
        raise ValueError("face_ids: a non-empty list of face ids (whole numbers, as strings)")
    return [checked_id(v, "face_ids", "face") for v in values]


def _outcome(result: LinkingResult) -> Outcome:
    return typed(result.to_dict(), Outcome)


def _face(project: str, face) -> Face:
    return typed({**catalog.face_to_dict(face),
                  "crop": f"/projects/{project}/faces/{face.face_id}/crop",
                  "thumbnail": f"/projects/{project}/photos/{face.photo_id}/thumbnail"}, Face)


class ReviewController(Controller):
    path = "/projects/{project:str}"
    guards = [project_guard]

    async def _act(self, request: Request, action: Callable[..., LinkingResult], *args: Any, **kwargs: Any
                   ) -> Outcome:
        runtime: Runtime = request.app.state.runtime
        result = await asyncio.to_thread(action, runtime, *args, actor=request.user.name, **kwargs)
        return _outcome(result)

    @get("/clusters", description="Clusters, largest first: `status` unnamed or confirmed (default all), "
         f"`limit` (1-{MAX_PAGE}) and `offset`; the total is in the X-Total-Count header. Each with its faces' "
         "quality (mean score, how many are poor). The faces of ignored clusters are at /faces/ignored.")
    async def clusters(self, project: str, runtime: Runtime, status: str = "all", limit: int = 100,
                       offset: int = 0) -> Response[list[Cluster]]:
        _page(limit, offset)
        shown, total = await asyncio.to_thread(catalog.cluster_page, runtime, project, status, limit, offset)
        quality = await asyncio.to_thread(catalog.cluster_quality, runtime, project, [c.cluster_id for c in shown])
        page = [typed({**catalog.cluster_to_dict(c), "crop": f"/projects/{project}/faces/{c.representative_face_id}/crop",
                       "quality": quality.get(c.cluster_id)}, Cluster) for c in shown]
        return Response(page, headers={"X-Total-Count": str(total)})

    @get("/clusters/{cluster_id:int}/faces", description="The faces of a cluster (paginated), with their crops "
         "and quality flags.")
    async def cluster_faces(self, project: str, cluster_id: int, runtime: Runtime, limit: int = 100,
                            offset: int = 0) -> Response[list[Face]]:
        _page(limit, offset)
        cluster_id = checked_id(cluster_id, "cluster_id", "cluster")
        faces, total = await asyncio.to_thread(catalog.cluster_face_page, runtime, project, cluster_id, limit, offset)
        if not total:
            raise await asyncio.to_thread(linking.missing_cluster, runtime, project, cluster_id)
        return Response([_face(project, f) for f in faces], headers={"X-Total-Count": str(total)})

    @post("/clusters/{cluster_id:int}/confirm", opt={"role": "editor"}, status_code=200,
          description="Confirm the cluster as a person: a new one by `name` or an existing one by `person_id`.")
    async def confirm(self, project: str, cluster_id: int, data: Confirmation, request: Request) -> Outcome:
        return await self._act(request, linking.confirm_cluster, project, cluster_id, name=data.name,
                               person_id=data.person_id)

    @post("/clusters/{cluster_id:int}/ignore", opt={"role": "editor"}, status_code=200,
          description="Ignore the cluster (background extras): its faces never join a cluster again.")
    async def ignore(self, project: str, cluster_id: int, request: Request) -> Outcome:
        return await self._act(request, linking.ignore_cluster, project, cluster_id)

    @post("/clusters/{cluster_id:int}/split", opt={"role": "editor"}, status_code=200,
          description="The chosen faces are another individual: a cluster of their own, never again with the rest.")
    async def split(self, project: str, cluster_id: int, data: FaceChoice, request: Request) -> Outcome:
        return await self._act(request, linking.split_cluster, project, cluster_id, _face_ids(data.face_ids))

    @post("/clusters/{cluster_id:int}/reset", opt={"role": "editor"}, status_code=200,
          description="Recompute the machine's work on this cluster; every human decision is kept.")
    async def reset_cluster(self, project: str, cluster_id: int, request: Request) -> Outcome:
        return await self._act(request, linking.reset, project, cluster_id)

    @get("/faces/ignored", description="The faces editors ignored (background extras: they join no cluster), "
         "paginated, with their crops; the total in X-Total-Count.")
    async def ignored_faces(self, project: str, runtime: Runtime, limit: int = 100, offset: int = 0
                            ) -> Response[list[Face]]:
        _page(limit, offset)
        decided = await asyncio.to_thread(linking.ignored_faces, runtime, project)
        wanted = [d.face_id for d in decided[offset:offset + limit]]
        faces = await asyncio.to_thread(runtime.vectors.faces_by_id, project, wanted)
        return Response([_face(project, f) for f in faces], headers={"X-Total-Count": str(len(decided))})

    @post("/faces/unignore", opt={"role": "editor"}, status_code=200,
          description="Ignored faces are extras no more: they are clustered again.")
    async def unignore_faces(self, project: str, data: FaceChoice, request: Request) -> Outcome:
        return await self._act(request, linking.unignore_faces, project, _face_ids(data.face_ids))

    @post("/faces/remove", opt={"role": "editor"}, status_code=200,
          description="Take faces out of their cluster for good: they are not its person.")
    async def remove_faces(self, project: str, data: FaceChoice, request: Request) -> Outcome:
        return await self._act(request, linking.remove_faces, project, _face_ids(data.face_ids))

    @post("/clusters/merge", opt={"role": "editor"}, status_code=200,
          description="The clusters are one individual (clusters of two different people are refused).")
    async def merge(self, project: str, data: ClusterChoice, request: Request) -> Outcome:
        return await self._act(request, linking.merge_clusters, project, data.cluster_ids)

    @get("/people", description="The project's people by name, paginated (`limit`, `offset`; the total in "
         "X-Total-Count): `search` keeps those whose name or an alias holds it (any case); hidden and private "
         "people only with `include_hidden` (a private person's aliases withheld).")
    async def people(self, project: str, runtime: Runtime, search: str = "", include_hidden: bool = False,
                     limit: int = 100, offset: int = 0) -> Response[list[Person]]:
        _page(limit, offset)
        found = [p for p in await asyncio.to_thread(catalog.people, runtime, project, search)
                 if include_hidden or p.visibility == "normal"]
        page = [Person(person_id=p.person_id, name=p.name, visibility=p.visibility,
                       aliases=[] if p.visibility == "private" else list(p.aliases), cluster_ids=list(p.cluster_ids),
                       photo_count=p.photo_count) for p in found[offset:offset + limit]]
        return Response(page, headers={"X-Total-Count": str(len(found))})

    @get("/review", description="The review queue: faces auto-matching suggested for a person, best score first.")
    async def queue(self, project: str, runtime: Runtime, limit: int = 100, offset: int = 0
                    ) -> Response[list[Suggestion]]:
        _page(limit, offset)
        queued = await asyncio.to_thread(linking.review_queue, runtime, project)
        page = [Suggestion(face_id=str(d.face_id), suggested_person_id=d.suggested_as,
                           score=None if d.score is None else round(d.score, 4), reference_face_ids=[str(r) for r in d.references],
                           crop=f"/projects/{project}/faces/{d.face_id}/crop") for d in queued[offset:offset + limit]]
        return Response(page, headers={"X-Total-Count": str(len(queued))})

    @post("/review", opt={"role": "editor"}, status_code=200,
          description="Accept (the suggested person) or reject queued suggestions.")
    async def answer(self, project: str, data: ReviewAnswer, request: Request) -> Outcome:
        return await self._act(request, linking.review_faces, project, _face_ids(data.face_ids), accept=data.accept)

    @post("/undo", opt={"role": "editor"}, status_code=200,
          description="Undo the latest action of the project: an editor their own (409 when the latest is "
                      "another's), an owner any (an editor's or an auto-matching run's).")
    async def undo(self, project: str, request: Request) -> Outcome:
        key = request.user
        only_by = None if may_undo_any(key) else key.name
        return _outcome(await asyncio.to_thread(linking.undo, request.app.state.runtime, project, only_by=only_by))

    @get("/faces/{face_id:str}/history", description="The decision history of a face, oldest first: who, when, "
         "how (action, method), the person and the score it was left with.")
    async def face_history(self, project: str, face_id: str, runtime: Runtime) -> list[HistoryStep]:
        return await _history(runtime, project, face_ids=_face_ids([face_id]))

    @get("/clusters/{cluster_id:int}/history", description="The decision history of a cluster's faces, oldest first.")
    async def cluster_history(self, project: str, cluster_id: int, runtime: Runtime) -> list[HistoryStep]:
        return await _history(runtime, project, cluster_id=cluster_id)

    @get("/people/{person_id:str}/history", description="The decision history of a person: the faces decided as "
         "(or not) them, and the edits of them, oldest first.")
    async def person_history(self, project: str, person_id: str, runtime: Runtime) -> list[HistoryStep]:
        return await _history(runtime, project, person_id=person_id)


async def _history(runtime: Runtime, project: str, **scope: Any) -> list[HistoryStep]:
    return [typed(e.to_dict(), HistoryStep) for e in await asyncio.to_thread(linking.history, runtime, project, **scope)]
