"""Liveness."""

from __future__ import annotations

from arq.connections import ArqRedis
from litestar import Controller, get

from peoplegraph import __version__
from peoplegraph.api import schemas
from peoplegraph.services.runtime import Runtime


class HealthController(Controller):
    @get("/health")
    async def health(self, runtime: Runtime, queue: ArqRedis) -> schemas.Health:
        await queue.ping()
        return schemas.Health("ok", __version__, runtime.settings.model_pack)
