"""The ARQ task functions. Each is a thin async shell around a service run in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import time
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

from peoplegraph.engine.decode import ImageRejected
from peoplegraph.linking.bodies import match_bodies
from peoplegraph.linking.matching import match_new_faces
from peoplegraph.media.store import THUMBNAIL_SIDES
from peoplegraph.services import photo_media
from peoplegraph.services.photo_media import PhotoNotFound
from peoplegraph.services.clustering import cluster_new_faces, cluster_project
from peoplegraph.services.file_names import stored_name
from peoplegraph.services.ingest import IngestReport, IngestService, PhotoSource
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.xmp import import_people
from peoplegraph.workers.progress import StageTimes, counted, write_progress

PROGRESS_INTERVAL_S = 0.25


async def ingest_photos(ctx: dict[str, Any], project: str, files: list[dict[str, str]], cleanup_dir: str | None = None,
                        actor: str = "") -> dict:
    """Ingest uploaded files ({name, path}); `cleanup_dir` (the upload's spool folder) is removed afterwards;
    `actor`: the uploader (the names the files' XMP carries are confirmed in their name)."""
    runtime: Runtime = ctx["runtime"]
    job_id: str = ctx["job_id"]
    redis = ctx["redis"]
    loop = asyncio.get_running_loop()
    last, began = 0.0, time.monotonic()
    stages = StageTimes()

    async def progress(payload: dict[str, Any]) -> None:
        stages.note(payload)
        await write_progress(redis, job_id, payload)

    await progress(counted("ingesting", 0, len(files), began, faces=0))

    def on_progress(report: IngestReport, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_INTERVAL_S or report.processed == total:
            last = now
            payload = counted("ingesting", report.processed, total, began, faces=report.faces)
            asyncio.run_coroutine_threadsafe(write_progress(redis, job_id, payload), loop)

    sources = [PhotoSource(name=stored_name(f["name"]), path=Path(f["path"])) for f in files]
    try:
        # the spool is removed below: keep the photos
        service = IngestService(runtime, keep_originals=True, read_metadata=runtime.settings.read_metadata)
        report = await asyncio.to_thread(service.ingest, project, sources, on_progress)
    finally:
        if cleanup_dir:
            shutil.rmtree(cleanup_dir, ignore_errors=True)
    faces = len(report.face_ids)
    metadata = None
    if runtime.settings.read_metadata:  # the names the XMP inside the files gave, read as they were ingested
        await progress(counted("reading metadata", 0, report.photos, time.monotonic()))
        metadata = await asyncio.to_thread(import_people, runtime, project, report.named, actor=actor)
    await progress(counted("matching", 0, faces, time.monotonic(), photos=report.processed))
    matching = await asyncio.to_thread(match_new_faces, runtime, project, report.face_ids)
    await progress(counted("clustering", 0, faces, time.monotonic(), photos=report.processed))
    clustering = await asyncio.to_thread(cluster_new_faces, runtime, project, report.face_ids)
    body_matching = None
    if runtime.settings.body_reid:  # after the faces: a body carries the person its face is
        await progress(counted("matching bodies", 0, report.bodies, time.monotonic()))
        body_matching = await asyncio.to_thread(match_bodies, runtime, project, report.photo_ids)
    await _make_thumbnails(runtime, project, report.photo_ids, progress)
    await progress(counted("done", report.processed, len(files), began, faces=faces))
    return {**report.to_dict(), "matching": matching.to_dict(), "clustering": clustering.to_dict(),
            "metadata": None if metadata is None else metadata.to_dict(),
            "body_matching": None if body_matching is None else body_matching.to_dict(), "stages": stages.to_list()}


async def _make_thumbnails(runtime: Runtime, project: str, photo_ids: list[str],
                           progress: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """Every size of thumbnail of the uploaded photos, made now so that the first look at them waits for
    nothing; a photo that cannot be read is left to its own request to say why."""
    began, last = time.monotonic(), 0.0
    for done, photo_id in enumerate(photo_ids):
        if time.monotonic() - last >= PROGRESS_INTERVAL_S:
            last = time.monotonic()
            await progress(counted("thumbnails", done, len(photo_ids), began))
        for side in THUMBNAIL_SIDES:
            with contextlib.suppress(PhotoNotFound, ImageRejected):
                await asyncio.to_thread(photo_media.thumbnail, runtime, project, photo_id, side)


async def cluster_photos(ctx: dict[str, Any], project: str, mode: str = "reset") -> dict:
    runtime: Runtime = ctx["runtime"]
    job_id: str = ctx["job_id"]
    redis = ctx["redis"]
    loop = asyncio.get_running_loop()

    began: dict[str, float] = {}
    last = 0.0
    stages = StageTimes()

    def on_stage(stage: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        started = began.setdefault(stage, now)
        if now - last >= PROGRESS_INTERVAL_S or done in (0, total):
            last = now
            payload = counted(stage, done, total, started)
            stages.note(payload)
            asyncio.run_coroutine_threadsafe(write_progress(redis, job_id, payload), loop)

    report = await asyncio.to_thread(functools.partial(cluster_project, runtime, project, on_stage, mode=mode))
    await write_progress(redis, job_id, {"stage": "done"})
    return {**report.to_dict(), "stages": stages.to_list()}


TASKS = (ingest_photos, cluster_photos)
