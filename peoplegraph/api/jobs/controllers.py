"""Jobs: a job's state and progress, and the same as server-sent events until it ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import ServerSentEvent, ServerSentEventMessage

from peoplegraph.api import schemas
from peoplegraph.api.access import check_project
from peoplegraph.services.runtime import Runtime
from peoplegraph.workers.progress import read_progress

EVENT_INTERVAL_S = 0.5  # how often a job's event stream looks for news


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
