"""`ChangeJournal`: the writes to a project's faces, in order, for the face indexes of other processes.

Each process keeps its own face index (observations/face_index.py). When several processes share a Milvus
server (PEOPLEGRAPH_REDIS_URL set), every write through `IndexedVectorStore` is also appended to a Redis
stream per collection and project (`peoplegraph:faces:<collection>:<project>`): the new faces, or the new
cluster of each face. Before answering, an index applies the entries it has not seen, in order, so it
costs what changed, not a re-read of the store. Writes happen under the project's lock
(services/project_lock.py), so the stream is the order of the writes. The stream keeps the last
`MAX_ENTRIES` writes; an index further behind is rebuilt from the store.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np

KEY_PREFIX = "peoplegraph:faces:"
MAX_ENTRIES = 100_000


def pack(columns: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **columns)
    return buffer.getvalue()


def unpack(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data)) as loaded:
        return {name: loaded[name] for name in loaded.files}


class ChangeJournal:
    def __init__(self, redis_url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url)

    @staticmethod
    def _key(collection: str, project: str) -> str:
        return f"{KEY_PREFIX}{collection}:{project}"

    def append(self, collection: str, project: str, kind: str, columns: Mapping[str, np.ndarray]) -> str:
        """Add a write; returns its entry id."""
        entry = self._redis.xadd(self._key(collection, project), {"kind": kind, "data": pack(columns)},
                                 maxlen=MAX_ENTRIES, approximate=True)
        return entry.decode()

    def latest(self, collection: str, project: str) -> str:
        """The id of the newest entry ("0-0" when there is none)."""
        found = self._redis.xrevrange(self._key(collection, project), count=1)
        return found[0][0].decode() if found else "0-0"

    def since(self, collection: str, project: str, seen: str) -> list[tuple[str, str, dict[str, np.ndarray]]] | None:
        """The entries after `seen`, oldest first: (id, kind, columns); None when some of them were trimmed
        away (the caller must read the store again)."""
        key = self._key(collection, project)
        if seen != "0-0":
            oldest = self._redis.xrange(key, count=1)
            if oldest and _newer(oldest[0][0].decode(), seen) and not self._redis.xrange(key, seen, seen):
                return None
        entries = self._redis.xrange(key, f"({seen}" if seen != "0-0" else "-")
        return [(i.decode(), fields[b"kind"].decode(), unpack(fields[b"data"])) for i, fields in entries]

    def drop(self, collection: str, project: str) -> None:
        self._redis.delete(self._key(collection, project))

    def close(self) -> None:
        self._redis.close()


def _newer(a: str, b: str) -> bool:
    """Whether stream id `a` comes after `b`."""
    return tuple(map(int, a.split("-"))) > tuple(map(int, b.split("-")))
