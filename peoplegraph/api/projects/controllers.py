"""Projects and their keys."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from litestar import Controller, Request, delete, get, post
from litestar.exceptions import NotFoundException

from peoplegraph.access.keys import PROJECT_ROLES, KeyService
from peoplegraph.api import schemas
from peoplegraph.api.schemas import Body
from peoplegraph.api.access import admin_guard, project_guard
from peoplegraph.identity.records import ApiKeyRecord
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services import projects
from peoplegraph.services.runtime import Runtime


class NewProject(Body):
    name: str


class NewKey(Body):
    name: str
    role: str


class ProjectController(Controller):
    """Projects and their keys."""

    path = "/projects"
    guards = [project_guard]

    @get("/", description="The projects this key reaches.")
    async def projects(self, request: Request, runtime: Runtime) -> list[schemas.Project]:
        key: ApiKeyRecord = request.user
        names = await asyncio.to_thread(runtime.graph.projects)
        return [schemas.Project(n) for n in names if key.role == "admin" or n == key.project]

    @post("/", guards=[admin_guard], status_code=201, description="Create a project (admin keys only).")
    async def create_project(self, data: NewProject, runtime: Runtime) -> schemas.Project:
        name = validate_project_name(data.name)
        if name in await asyncio.to_thread(runtime.graph.projects):
            raise ValueError(f"name: project {name!r} exists already")
        await asyncio.to_thread(runtime.graph.ensure_project, name)
        return schemas.Project(name)

    @delete("/{project:str}", opt={"role": "owner"}, status_code=200,
            description="Delete the project: its photos, faces, clusters, people, decisions, keys and media.")
    async def delete_project(self, project: str, runtime: Runtime) -> schemas.Deleted:
        await asyncio.to_thread(projects.delete_project, runtime, project)
        return schemas.Deleted(project)

    @post("/{project:str}/keys", opt={"role": "owner"}, status_code=201,
          description="A new key of the project (shown once): name (who holds it) and role (owner, editor, viewer).")
    async def create_key(self, project: str, data: NewKey, runtime: Runtime) -> schemas.IssuedKey:
        if data.role not in PROJECT_ROLES:
            raise ValueError(f"role: {data.role!r} is not one of {', '.join(PROJECT_ROLES)}")
        issued = await asyncio.to_thread(KeyService(runtime.graph).create, data.name, data.role, project)
        return schemas.typed({**asdict(issued.record), "secret": issued.secret}, schemas.IssuedKey)

    @get("/{project:str}/keys", opt={"role": "owner"}, description="The project's keys (never their secrets).")
    async def keys(self, project: str, runtime: Runtime) -> list[schemas.Key]:
        return [schemas.typed(k, schemas.Key) for k in await asyncio.to_thread(KeyService(runtime.graph).keys, project)]

    @delete("/{project:str}/keys/{key_id:str}", opt={"role": "owner"}, status_code=200,
            description="Revoke a key of the project: it is refused from the next request on.")
    async def revoke_key(self, project: str, key_id: str, runtime: Runtime) -> schemas.Key:
        try:
            revoked = await asyncio.to_thread(KeyService(runtime.graph).revoke, key_id, project)
        except KeyError as exc:
            raise NotFoundException(str(exc.args[0])) from None
        return schemas.typed(revoked, schemas.Key)
