"""`EmbeddedGraphStore`: the subjective layer in a local LadybugDB file (the default graph store).

Why LadybugDB and not Kuzu: Kuzu (embedded Cypher with real transactions, the engine this design was
written for) had its upstream repository archived in 2025 and gets no more releases; LadybugDB
(`pip install ladybug`, `import ladybug`) is its maintained fork with the same Python API
(`Database`, `Connection.execute(query, parameters)`, `QueryResult.has_next()/get_next()`), the same
Cypher dialect and the same file format family, so nothing here is Kuzu-specific beyond the dialect.

Facts of the engine this adapter relies on (DESIGN.md, "Stores"): a schema is required (node and rel
tables, created here on open), labels cannot be chosen at run time, `SET n += map` does not exist, and
one process at a time may open a database file for writing: a second one is answered with
`StoreBusyError`. A statement that fails inside an explicit transaction rolls the whole transaction back
(the engine ends it itself), so a failed write never leaves half of its rows behind.

The Cypher itself lives in `peoplegraph.identity.cypher`, shared with the Neo4j adapter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ladybug

from peoplegraph.identity import cypher, statements
from peoplegraph.observations.store import StoreBusyError

LOCK_MESSAGES = ("Could not set lock on file", "Lock is held by")


def busy_message(path: Path | str) -> str:
    return (
        f"the graph store {path} is in use by another process: another peoplegraph process (e.g. "
        "`peoplegraph serve` or a worker) holds DATA_DIR/graph.lbug. Stop it, or point PEOPLEGRAPH_GRAPH_URI "
        "at a Neo4j server (bolt://host:7687) that several processes can share."
    )


class EmbeddedGraphStore(cypher.CypherGraphStore):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = ladybug.Database(str(self.path))
        except RuntimeError as exc:
            if any(marker in str(exc) for marker in LOCK_MESSAGES):
                raise StoreBusyError(busy_message(self.path)) from exc
            raise
        self._conn = ladybug.Connection(self._db)
        self._in_transaction = False
        try:
            for statement in statements.EMBEDDED_SCHEMA:
                self._conn.execute(statement)
        except BaseException:
            self.close()
            raise

    def _run(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        result = self._conn.execute(query, params or {})
        columns = result.get_column_names()
        rows = []
        while result.has_next():
            rows.append(dict(zip(columns, result.get_next())))
        return rows

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self._in_transaction:  # nested: part of the outer transaction
            yield
            return
        self._conn.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._in_transaction = False
            try:
                self._conn.execute("ROLLBACK")
            except RuntimeError as exc:  # a failed statement already ended (rolled back) the transaction
                if "No active transaction" not in str(exc):
                    raise
            raise
        self._in_transaction = False
        self._conn.execute("COMMIT")

    def close(self) -> None:
        conn, db = self.__dict__.pop("_conn", None), self.__dict__.pop("_db", None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        if db is not None:
            with contextlib.suppress(Exception):
                db.close()

    def __enter__(self) -> EmbeddedGraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
