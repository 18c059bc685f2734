"""Where the job queue lives: the configured Redis, or a private server the app starts and stops."""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

from arq.connections import RedisSettings

from peoplegraph.settings import Settings
from peoplegraph.workers.redis_server import PrivateRedis, arq_redis_settings


@contextmanager
def queue_redis(settings: Settings) -> Iterator[RedisSettings]:
    """arq RedisSettings for PEOPLEGRAPH_REDIS_URL, or for a private redis-server in DATA_DIR/redis."""
    if settings.redis_url:
        yield arq_redis_settings(settings.redis_url)
        return
    with PrivateRedis(settings.data_dir / "redis") as server:
        yield arq_redis_settings(server.url)
