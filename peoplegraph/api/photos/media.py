"""Photos and faces as images: thumbnails, face crops and originals, and a person's portfolio as a zip, for
keys that may read the project; deleting a photo, for editors.

Everything here is named by content (a photo's sha256, a face's id from it), so a browser may keep it for
good: `Cache-Control: private, immutable` (private: a shared cache must not serve it to another key)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from litestar import Controller, Response, delete, get
from litestar.exceptions import NotFoundException
from litestar.response import Stream

from peoplegraph.api.access import project_guard
from peoplegraph.api.schemas import PhotoDeleted
from peoplegraph.observations.model import checked_id
from peoplegraph.media.store import THUMBNAIL_SIDES
from peoplegraph.services import export, photo_media, projects
from peoplegraph.services.runtime import Runtime

CACHE = "private, max-age=31536000, immutable"


async def _served(make, *args) -> bytes | tuple:
    try:
        return await asyncio.to_thread(make, *args)
    except photo_media.PhotoNotFound as exc:
        raise NotFoundException(str(exc)) from None


class MediaController(Controller):
    path = "/projects/{project:str}"
    guards = [project_guard]

    @get("/photos/{photo_id:str}/thumbnail", description="A JPEG of the photo as it is seen (EXIF orientation "
         f"applied), its longest side `side` pixels ({' or '.join(map(str, THUMBNAIL_SIDES))}).")
    async def thumbnail(self, project: str, photo_id: str, runtime: Runtime, side: int = THUMBNAIL_SIDES[0]
                        ) -> Response[bytes]:
        if side not in THUMBNAIL_SIDES:
            raise ValueError(f"side: {side} is not one of {', '.join(map(str, THUMBNAIL_SIDES))}")
        data = await _served(photo_media.thumbnail, runtime, project, photo_id, side)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": CACHE, "ETag": f'"{photo_id}-{side}"'})

    @get("/photos/{photo_id:str}/original", description="The photo's file as it was ingested, under its name.")
    async def original(self, project: str, photo_id: str, runtime: Runtime) -> Response[bytes]:
        data, kind, name = await _served(photo_media.original, runtime, project, photo_id)
        disposition = f"inline; filename*=UTF-8''{quote(name)}"
        return Response(data, media_type=kind, headers={"Cache-Control": CACHE, "ETag": f'"{photo_id}"',
                                                        "Content-Disposition": disposition})

    @get("/faces/{face_id:str}/crop", description="A JPEG of one face with a margin around it.")
    async def face_crop(self, project: str, face_id: str, runtime: Runtime) -> Response[bytes]:
        number = checked_id(face_id, "face_id", "face")
        data = await _served(photo_media.face_crop, runtime, project, number)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": CACHE, "ETag": f'"{face_id}"'})

    @delete("/photos/{photo_id:str}", opt={"role": "editor"}, status_code=200,
            description="Delete a photo: its faces, the decisions about them, its thumbnails, crops and kept "
                        "original; the clusters it was in lose its faces. A file in a CLI-ingested folder stays.")
    async def delete_photo(self, project: str, photo_id: str, runtime: Runtime) -> PhotoDeleted:
        try:
            report = await asyncio.to_thread(projects.delete_photo, runtime, project, photo_id)
        except KeyError as exc:
            raise NotFoundException(str(exc.args[0])) from None
        return PhotoDeleted(photo_id, report.clusters)

    @get("/people/{person_id:str}/export", description="A person's portfolio: a zip of the originals of every "
         "photo they appear in, with manifest.csv and manifest.json (each photo's file, size, time, and the "
         "person's faces in it with their boxes), streamed as it is made with its exact Content-Length; X-Export-Photos "
         "says how many photos.")
    async def export_person(self, project: str, person_id: str, runtime: Runtime) -> Stream:
        items = await asyncio.to_thread(export.portfolio, runtime, project, person_id)
        plan = await asyncio.to_thread(export.plan_zip, runtime, items)
        person = await asyncio.to_thread(runtime.graph.person, project, person_id)
        return zip_response(runtime, plan, f"{person.name if person else person_id}.zip")


def zip_response(runtime: Runtime, plan: export.ZipPlan, name: str) -> Stream:
    """The zip as it is made, its exact length announced (a browser shows the download's progress)."""
    return Stream(export.zip_stream(runtime, plan), media_type="application/zip", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}", "Content-Length": str(plan.length),
        "X-Export-Photos": str(plan.photos), "Cache-Control": "no-store"})
