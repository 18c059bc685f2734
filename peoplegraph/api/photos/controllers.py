"""Photos in: uploads (a worker job each), clustering jobs, and selfie search. Thin: they validate, hand over to
services or the job queue, and shape the answer."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid

from arq.connections import ArqRedis
from litestar import Controller, Request, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ValidationException

from peoplegraph.api import schemas
from peoplegraph.api.access import project_guard
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services import search as search_service
from peoplegraph.services.clustering import MODES
from peoplegraph.services.photo_media import display_name
from peoplegraph.services.runtime import Runtime
from peoplegraph.workers.tasks import cluster_photos, ingest_photos

UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
NAME_MAX_CHARS = 255  # of a client's file name, kept as the photo's display name (a file system's own limit)


async def multipart_files(request: Request) -> list[UploadFile]:
    """The files of a multipart/form-data body (any field names); a body that is not one is a 400 saying so."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ValidationException("send the photos as multipart/form-data files (the request has content type "
                                  f"{request.headers.get('content-type') or 'none'})")
    if request.headers.get("content-length") == "0" or not await request.body():
        raise ValidationException("the request body is empty: send the photos as multipart/form-data files")
    form = await request.form()
    return [value for _, value in form.multi_items() if isinstance(value, UploadFile)]


class PhotoController(Controller):
    path = "/projects/{project:str}"
    guards = [project_guard]

    @post("/photos", status_code=202, opt={"role": "editor"})
    async def upload(self, project: str, runtime: Runtime, queue: ArqRedis, request: Request) -> schemas.Accepted:
        """Upload one or more photos (multipart, any field name); they are ingested by a worker job."""
        validate_project_name(project)
        data = await multipart_files(request)
        if not data:
            raise ValidationException("no files in the upload: send photos as multipart/form-data files")
        spool = runtime.settings.data_dir / "uploads" / uuid.uuid4().hex
        await asyncio.to_thread(spool.mkdir, parents=True)
        files: list[dict[str, str]] = []
        try:
            for index, upload in enumerate(data):
                name = (upload.filename or f"upload-{index}")[-NAME_MAX_CHARS:]  # the end keeps the suffix
                target = spool / f"{index:05d}_{UNSAFE_NAME.sub('_', name)[-120:]}"
                content = await upload.read()
                await asyncio.to_thread(target.write_bytes, content)
                files.append({"name": name, "path": str(target)})
            job = await queue.enqueue_job(ingest_photos.__name__, project, files, str(spool), request.user.name)
        except BaseException:
            # no job will ever read these files: a failed upload leaves nothing behind
            await asyncio.to_thread(shutil.rmtree, spool, True)
            raise
        assert job is not None  # only None for a duplicate explicit job id, which we never pass
        return schemas.Accepted(project, [job.job_id], files=len(files))

    @post("/clustering", status_code=202, opt={"role": "editor"})
    async def cluster(self, project: str, queue: ArqRedis, mode: str = "reset") -> schemas.Accepted:
        """Enqueue a clustering job: `mode` reset (every face again) or missing (faces without a cluster)."""
        validate_project_name(project)
        if mode not in MODES:
            raise ValidationException(f"mode: {mode!r} is not one of {', '.join(MODES)}")
        job = await queue.enqueue_job(cluster_photos.__name__, project, mode)
        assert job is not None
        return schemas.Accepted(project, [job.job_id], mode=mode)

    @post("/search", status_code=200)
    async def search(self, project: str, runtime: Runtime, request: Request) -> schemas.SearchAnswer:
        """Selfie search: one photo of a person (multipart, one file) in, the project's photos that person
        appears in out, best match first, with scores and how each was reached (face or cluster)."""
        validate_project_name(project)
        data = await multipart_files(request)
        if len(data) != 1:
            raise ValidationException(f"send exactly one selfie as a multipart file, not {len(data)} files")
        content = await data[0].read()
        name = data[0].filename or "selfie"

        def run() -> schemas.SearchAnswer:
            query = search_service.selfie_embedding(runtime, content, name)
            found = search_service.search_project(runtime, project, query)
            photos = {p.photo_id: p for p in runtime.graph.photos_by_id(project, [m.photo_id for m in found])}
            return schemas.typed({"project": project, "threshold": runtime.search_similarity,
                                  "photos": [{**m.to_dict(), "name": display_name(photos[m.photo_id]),
                                              "thumbnail": f"/projects/{project}/photos/{m.photo_id}/thumbnail"}
                                             for m in found if m.photo_id in photos]}, schemas.SearchAnswer)

        try:
            return await asyncio.to_thread(run)
        except ValueError as exc:  # not an image, no face in it
            raise ValidationException(str(exc)) from None
