"""The graph read the web edge makes on every request (the key it presents, or its session names), awaited on
the event loop: through the neo4j driver's async API on Neo4j (`AsyncNeo4jReads`), in a worker thread on the
embedded engine, which has no async API."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from peoplegraph.identity.records import ApiKeyRecord


class GraphReads(Protocol):
    async def api_key(self, key_id: str) -> tuple[ApiKeyRecord, str] | None: ...

    async def close(self) -> None: ...


class ThreadedReads:
    def __init__(self, graph: Any) -> None:
        self._graph = graph

    async def api_key(self, key_id: str) -> tuple[ApiKeyRecord, str] | None:
        return await asyncio.to_thread(self._graph.api_key, key_id)

    async def close(self) -> None:
        return None


def graph_reads(graph: Any) -> GraphReads:
    """The store's own async reads where it has them, else its sync ones in a thread."""
    make = getattr(graph, "async_reads", None)
    return make() if make is not None else ThreadedReads(graph)
