"""Building and running an ARQ worker, in its own process or inside the API's."""

from __future__ import annotations

from arq.connections import RedisSettings
from arq.worker import Worker

from peoplegraph.services.runtime import Runtime
from peoplegraph.workers.tasks import TASKS

JOB_TIMEOUT_S = 24 * 3600  # a whole library can take hours; progress tells the user it is alive


def build_worker(runtime: Runtime, redis_settings: RedisSettings, *, in_process: bool, burst: bool = False) -> Worker:
    return Worker(
        functions=list(TASKS),
        redis_settings=redis_settings,
        ctx={"runtime": runtime},
        max_jobs=runtime.settings.worker_concurrency,
        job_timeout=JOB_TIMEOUT_S,
        handle_signals=not in_process,
        burst=burst,
        poll_delay=0.2,
    )
