"""Thin controllers: they validate, hand over to services or the job queue, and shape the answer."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from peoplegraph import __version__
from peoplegraph.api import schemas
from peoplegraph.api.access import check_project, project_guard
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services import search as search_service
from peoplegraph.services.clustering import MODES
from peoplegraph.services.photo_media import display_name
from peoplegraph.services.runtime import Runtime
from peoplegraph.workers.progress import read_progress
from peoplegraph.workers.tasks import cluster_photos, ingest_photos

EVENT_INTERVAL_S = 0.5  # how often a job's event stream looks for news
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def multipart_files(request: Request) -> list[UploadFile]:
    """The files of a multipart/form-data body (any field names); a body that is not one is a 400 saying so."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise ValidationException("send the photos as multipart/form-data files (the request has content type "
                                  f"{request.headers.get('content-type') or 'none'})")
    if request.headers.get("content-length") == "0" or not await request.body():
        raise ValidationException("the request body is empty: send the photos as multipart/form-data files")
    form = await request.form()
    return [value for _, value in form.multi_items() if isinstance(value, UploadFile)]


class HealthController(Controller):
    @get("/health")
    async def health(self, runtime: Runtime, queue: ArqRedis) -> schemas.Health:
        await queue.ping()
        return schemas.Health("ok", __version__, runtime.settings.model_pack)


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
                name = upload.filename or f"upload-{index}"
                target = spool / f"{index:05d}_{UNSAFE_NAME.sub('_', name)[-120:]}"
                content = await upload.read()
                await asyncio.to_thread(target.write_bytes, content)
                files.append({"name": name, "path": str(target)})
            job = await queue.enqueue_job(ingest_photos.__name__, project, files, str(spool))
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


async def job_state(job_id: str, queue: ArqRedis, request: Request, runtime: Runtime) -> dict[str, Any]:
    """The job's state, progress and, once it ended, its result or error; 404 for a job of a project the
    request's key does not reach."""
    job = Job(job_id, queue)
    for _ in range(3):  # a job that ends between the two reads has neither its definition nor yet a result
        status = await job.status()
        info = None if status == JobStatus.not_found else await job.info()
        if info is not None or status == JobStatus.not_found:
            break
    missing = NotFoundException(f"no job {job_id!r} (unknown, or its result has expired)")
    if info is None or not info.args:
        raise missing
    try:  # a job of a project this key does not reach does not exist for it
        await check_project(runtime, request.user, info.args[0], "viewer")
    except (NotFoundException, PermissionDeniedException):
        raise missing from None
    answer: dict[str, Any] = {"id": job_id, "state": status.value, "progress": await read_progress(queue, job_id)}
    if status == JobStatus.complete:
        result = await job.result_info()
        if result is not None:
            answer["state"] = "complete" if result.success else "failed"
            answer["result" if result.success else "error"] = result.result if result.success else str(result.result)
    return answer


class JobController(Controller):
    path = "/jobs"

    @get("/{job_id:str}", description="A job's state (queued, in_progress, complete, failed), its progress "
         "(stage, done, total, per_s, eta_s) and, once it ended, its result or error.")
    async def job(self, job_id: str, queue: ArqRedis, request: Request, runtime: Runtime) -> schemas.JobState:
        return schemas.typed(await job_state(job_id, queue, request, runtime), schemas.JobState)

    @get("/{job_id:str}/events", description="The job's state as server-sent events (`progress`), one each time "
         "it changes, the last when the job ends (`end`).")
    async def events(self, job_id: str, queue: ArqRedis, request: Request, runtime: Runtime) -> ServerSentEvent:
        first = await job_state(job_id, queue, request, runtime)  # a 404 before the stream starts

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            answer, last = first, None
            while True:
                ended = answer["state"] in ("complete", "failed")
                if answer != last or ended:
                    yield ServerSentEventMessage(data=json.dumps(answer), event="end" if ended else "progress")
                if ended:
                    return
                last = answer
                await asyncio.sleep(EVENT_INTERVAL_S)
                answer = await job_state(job_id, queue, request, runtime)

        return ServerSentEvent(stream())
