"""`Neo4jGraphStore`: the subjective layer on a Neo4j server (PEOPLEGRAPH_GRAPH_URI=bolt://... or neo4j://...).

Same Cypher and semantics as the embedded store (`peoplegraph.identity.cypher`); uniqueness constraints
on every node key and project indexes are created on start (the constraints are what make a duplicate
key fail the transaction, as the embedded engine's primary keys do). Writes run in explicit
transactions (`session.begin_transaction()`), rolled back on any error. Needs the optional extra:
`pip install 'peoplegraph[neo4j]'`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from peoplegraph.identity import cypher, statements
from peoplegraph.identity.records import ApiKeyRecord


# The server's INFORMATION notes (every `IF NOT EXISTS` on each start) are left out of the driver's log, and so
# are UNRECOGNIZED warnings: a property no node has yet (a person's `born` before anyone has one) is the
# normal state of a young graph, not news, and logged it floods every log.
DRIVER_OPTIONS = {"notifications_min_severity": "WARNING", "notifications_disabled_categories": ["UNRECOGNIZED"]}


class Neo4jGraphStore(cypher.CypherGraphStore):
    dialect = "neo4j"

    def __init__(self, uri: str, user: str = "neo4j", password: str = "", *, database: str | None = None) -> None:
        try:
            import neo4j
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "a bolt:// or neo4j:// graph URI needs the Neo4j driver: pip install 'peoplegraph[neo4j]'"
            ) from exc
        self.uri = uri
        self._database = database
        self._auth = (user, password) if user or password else None
        self._driver = neo4j.GraphDatabase.driver(uri, auth=self._auth, **DRIVER_OPTIONS)
        self._tx: Any = None
        try:
            self._driver.verify_connectivity()
            for statement in (*statements.NEO4J_SCHEMA, statements.SEED_HIGHEST_GONE):
                self._driver.execute_query(statement, database_=database)
        except BaseException:
            self.close()
            raise

    def _run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if self._tx is not None:
            return [record.data() for record in self._tx.run(query, params or {})]
        records, _, _ = self._driver.execute_query(query, params or {}, database_=self._database)
        return [record.data() for record in records]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._tx is not None:  # nested: part of the outer transaction
            yield
            return
        with self._driver.session(database=self._database) as session:
            tx = session.begin_transaction()
            self._tx = tx
            try:
                yield
            except BaseException:
                self._tx = None
                with contextlib.suppress(Exception):
                    tx.rollback()
                raise
            self._tx = None
            tx.commit()

    def async_reads(self) -> AsyncNeo4jReads:
        """The reads every request makes, through the driver's async API (made in the event loop that uses
        it: the app's lifespan)."""
        return AsyncNeo4jReads(self.uri, self._auth, self._database)

    def close(self) -> None:
        driver = self.__dict__.pop("_driver", None)
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.close()

    def __enter__(self) -> Neo4jGraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncNeo4jReads:
    """The graph reads the web edge makes on every request (the key a request presents, or its browser session
    names), on the app's event loop through the neo4j driver's async API: no worker thread waits on Bolt
    while the server answers. The rest of the app reaches the graph through the linking and service layers,
    which the CLI and the workers share, in threads."""

    def __init__(self, uri: str, auth: tuple[str, str] | None, database: str | None) -> None:
        import neo4j

        self._database = database
        self._driver = neo4j.AsyncGraphDatabase.driver(uri, auth=auth, **DRIVER_OPTIONS)

    async def api_key(self, key_id: str) -> tuple[ApiKeyRecord, str] | None:
        records, _, _ = await self._driver.execute_query(statements.API_KEY, {"key_id": key_id},
                                                         database_=self._database, routing_="r")
        return cypher.api_key_of([record.data() for record in records])

    async def close(self) -> None:
        await self._driver.close()
