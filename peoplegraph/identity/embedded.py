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

A write-ahead log that cannot be replayed (a full disk or a crash cut it short, and the engine then
refuses to open the file at all) is copied aside (`graph.lbug.wal.broken-<time>`) and the database opened
with what of the log can be replayed; what is lost `peoplegraph repair` completes from the vector store.

The Cypher itself lives in `peoplegraph.identity.cypher`, shared with the Neo4j adapter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ladybug

from peoplegraph.identity import cypher, statements
from peoplegraph.observations.store import StoreBusyError

log = logging.getLogger(__name__)
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
        self.recovered_from: Path | None = None  # the broken log set aside when this open recovered
        try:
            self._db = ladybug.Database(str(self.path))
        except (RuntimeError, MemoryError) as exc:  # a corrupt log can make the engine allocate without end
            if any(marker in str(exc) for marker in LOCK_MESSAGES):
                raise StoreBusyError(busy_message(self.path)) from exc
            wal = self.path.with_name(self.path.name + ".wal")
            if not wal.exists():
                raise
            self.recovered_from = wal.with_name(f"{wal.name}.broken-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}")
            shutil.copy2(wal, self.recovered_from)
            log.warning("the graph store's write-ahead log could not be replayed (%s); it is kept as %s and the "
                        "graph opened with what of it could be read: run `peoplegraph repair` for each project",
                        exc, self.recovered_from)
            self._db = ladybug.Database(str(self.path), throw_on_wal_replay_failure=False)
        self._conn = ladybug.Connection(self._db)
        self._in_transaction = False
        try:
            for statement in (*statements.EMBEDDED_SCHEMA, statements.SEED_HIGHEST_GONE):
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
