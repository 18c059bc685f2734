"""Job progress in Redis, written by workers and read by the API."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

PROGRESS_TTL_S = 7 * 24 * 3600


def progress_key(job_id: str) -> str:
    return f"peoplegraph:progress:{job_id}"


async def write_progress(redis: Redis, job_id: str, progress: dict[str, Any]) -> None:
    await redis.set(progress_key(job_id), json.dumps(progress), ex=PROGRESS_TTL_S)


async def read_progress(redis: Redis, job_id: str) -> dict[str, Any] | None:
    raw = await redis.get(progress_key(job_id))
    return json.loads(raw) if raw else None
