"""People found by their body over REST: the body appearances (apart from face ones), the body review queue,
and a body matching run. Thin: each route checks its input and runs the `linking.bodies` call the CLI and
GraphQL run, in a thread. Body ids travel as strings (63-bit), like face ids."""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, Response, get, post

from peoplegraph.api.access import project_guard
from peoplegraph.api.review.controllers import MAX_PAGE
from peoplegraph.api.schemas import Body, BodyAppearance, BodyMatch, BodyReview, typed
from peoplegraph.linking import bodies
from peoplegraph.observations.model import checked_id
from peoplegraph.services.runtime import Runtime


class BodyAnswer(Body):
    body_ids: list[str]
    accept: bool


def _appearance(project: str, found: bodies.BodyAppearance) -> BodyAppearance:
    return typed({**found.to_dict(), "thumbnail": f"/projects/{project}/photos/{found.photo_id}/thumbnail"},
                 BodyAppearance)


class BodyController(Controller):
    path = "/projects/{project:str}/bodies"
    guards = [project_guard]

    @get("/", description="People found by their body, apart from their faces: `status` tagged (default) or "
         "queued (the body review queue), of one `person_id` or everyone, best body score first; `limit` (1-"
         f"{MAX_PAGE}) and `offset`, the total in X-Total-Count. Each with the body score, the reference bodies "
         "it was scored on and the score of its own face (null without one).")
    async def appearances(self, project: str, runtime: Runtime, person_id: str | None = None, status: str = "tagged",
                          limit: int = 100, offset: int = 0) -> Response[list[BodyAppearance]]:
        if not 0 < limit <= MAX_PAGE or offset < 0:
            raise ValueError(f"limit/offset: limit 1-{MAX_PAGE} and offset >= 0, got {limit} and {offset}")
        found = await asyncio.to_thread(bodies.body_appearances, runtime, project, person_id, status=status)
        return Response([_appearance(project, a) for a in found[offset:offset + limit]],
                        headers={"X-Total-Count": str(len(found))})

    @post("/match", opt={"role": "editor"}, status_code=200,
          description="Match the bodies without a usable face to people by the bodies of the same event or time "
                      "window (an undoable action, `POST /projects/{project}/undo`).")
    async def match(self, project: str, runtime: Runtime) -> BodyMatch:
        return typed((await asyncio.to_thread(bodies.match_bodies, runtime, project)).to_dict(), BodyMatch)

    @post("/review", opt={"role": "editor"}, status_code=200,
          description="Accept (the suggested person) or reject bodies of the body review queue (undoable).")
    async def review(self, project: str, data: BodyAnswer, request: Request) -> BodyReview:
        if not data.body_ids:
            raise ValueError("body_ids: a non-empty list of body ids (whole numbers, as strings)")
        ids = [checked_id(v, "body_ids", "body") for v in data.body_ids]
        done = await asyncio.to_thread(bodies.review_bodies, request.app.state.runtime, project, ids,
                                       accept=data.accept, actor=request.user.name)
        return typed(done.to_dict(), BodyReview)
