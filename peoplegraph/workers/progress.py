"""Job progress in Redis, written by workers and read by the API."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PROGRESS_TTL_S = 7 * 24 * 3600


def counted(stage: str, done: int, total: int, began: float, **more: Any) -> dict[str, Any]:
    """A stage's progress with its rate (items a second since `began`, a time.monotonic()) and the seconds
    left at that rate (None until there is a rate)."""
    rate = done / max(time.monotonic() - began, 1e-6)
    left = 0.0 if done >= total else (total - done) / rate if rate > 0 else None
    return {"stage": stage, "done": done, "total": total, "per_s": round(rate, 2),
            "eta_s": None if left is None else round(left, 1), **more}


class StageTimes:
    """The stages a job went through, for its result: progress events are sampled (a short stage can pass
    between two), so the result lists every stage with its item count and seconds."""

    def __init__(self) -> None:
        self._stages: list[tuple[str, Any, float]] = []  # stage, total, began (time.monotonic())

    def note(self, payload: dict[str, Any]) -> None:
        stage = payload.get("stage")
        if stage and (not self._stages or self._stages[-1][0] != stage):
            self._stages.append((stage, payload.get("total"), time.monotonic()))

    def to_list(self) -> list[dict[str, Any]]:
        ends = [began for _, _, began in self._stages[1:]] + [time.monotonic()]
        return [{"stage": stage, "total": total, "seconds": round(end - began, 2)}
                for (stage, total, began), end in zip(self._stages, ends) if stage != "done"]


def progress_key(job_id: str) -> str:
    return f"peoplegraph:progress:{job_id}"


async def write_progress(redis: Redis, job_id: str, progress: dict[str, Any]) -> None:
    """Progress only describes the work: a Redis that is down or restarting must not stop the work (an
    upload's photos stored but never matched or clustered)."""
    try:
        await redis.set(progress_key(job_id), json.dumps(progress), ex=PROGRESS_TTL_S)
    except (RedisError, OSError) as exc:
        log.warning("job %s: progress %s not recorded (%s)", job_id, progress.get("stage"), exc)


async def read_progress(redis: Redis, job_id: str) -> dict[str, Any] | None:
    raw = await redis.get(progress_key(job_id))
    return json.loads(raw) if raw else None
