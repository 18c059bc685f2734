"""Building and running an ARQ worker, in its own process or inside the API's."""

from __future__ import annotations

import asyncio
import logging

from arq.connections import RedisSettings
from arq.worker import Worker
from redis.exceptions import RedisError

from peoplegraph.services.runtime import Runtime
from peoplegraph.workers.tasks import TASKS

JOB_TIMEOUT_S = 24 * 3600  # a whole library can take hours; progress tells the user it is alive
REDIS_RETRY_S = (0.5, 1, 2, 5, 10)  # waits between tries while the queue's Redis is unreachable, then the last
log = logging.getLogger(__name__)


class QueueWorker(Worker):
    """An ARQ worker that outlives its Redis: when the queue's Redis goes away (killed, restarted, a network
    cut), arq's own loop stops the worker, and with it an API's in-process worker for good; this one says so,
    keeps the jobs it is running, and polls again until Redis is back (its append-only file keeps the
    queue across a restart)."""

    _outage = 0

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as exc:
            wait = REDIS_RETRY_S[min(self._outage, len(REDIS_RETRY_S) - 1)]
            if not self._outage:
                log.warning("the job queue's Redis is unreachable (%s): retrying until it is back", exc)
            self._outage += 1
            await asyncio.sleep(wait)
            return
        if self._outage:
            log.warning("the job queue's Redis is back after %d tries", self._outage)
            self._outage = 0


def build_worker(runtime: Runtime, redis_settings: RedisSettings, *, in_process: bool, burst: bool = False) -> Worker:
    return QueueWorker(
        functions=list(TASKS),
        redis_settings=redis_settings,
        ctx={"runtime": runtime},
        max_jobs=runtime.settings.worker_concurrency,
        job_timeout=JOB_TIMEOUT_S,
        handle_signals=not in_process,
        burst=burst,
        poll_delay=0.2,
    )
