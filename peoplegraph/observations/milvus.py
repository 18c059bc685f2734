"""`MilvusVectorStore`: the objective layer in Milvus (a server) or milvus-lite (a local folder).

One collection per face model (`faces_<model id>`), projects kept apart by a partition-key field, so a
project's reads and deletes touch only its own partition. Facts this code leans on (DESIGN.md, "Stores"):

- milvus-lite takes a `.db` *folder* and one process at a time; a second process gets "Open local milvus
  failed" and is answered here with `StoreBusyError`.
- After a restart a collection is not loaded: it is loaded on open, before any search or query.
- A query answers at most 16,384 rows (offset + limit): `faces()` pages with `query_iterator`.
- Cluster membership lives in a collection of its own (`clusters_<model id>`: face id, project, cluster id
  and a constant 2-D marker, since Milvus wants a vector field in every collection), not on the face's row.
  A change of cluster is then one small row, where rewriting the face's row costs the whole row: Milvus
  before 2.6 has no partial upsert (the row was read back, 330-410 ms a Strong read, and written again),
  and milvus-lite writes a partial upsert as a new whole row beside the old one, which its compaction
  rarely reclaims (segments near 100k rows are never merged again): a reset of 1M faces left a second
  copy of every embedding in memory, 1.4 GB. Collections made before this (`cluster_id` on the face row)
  are migrated on open: their cluster ids are copied into a new membership collection that takes its name
  only once complete, and the old field is written as UNCLUSTERED from then on.
- Milvus 2.3 (checked on 2.3.5, the `milvus` PyPI package the tests start) against 2.6: its upsert into a partition-key collection files the new row under the wrong partition (routed
  by the wrong field, milvus-io/milvus#30607, fixed in Feb 2024), so the row vanishes from its project's
  reads and searches: before 2.4 a write is a delete by face id and an insert. The rest works as on 2.6:
  Strong consistency, `count(*)` with a filter, delete by filter, `query_iterator` past the 16,384 window,
  HNSW/COSINE, ARRAY fields, databases (`http://host:19530/<db>`), loading on open.
- milvus-lite scans unflushed (growing) rows about 5x slower than flushed ones (20k x 512-D: 9.4 s
  against 1.9 s for `faces()`), and a flush costs about 2 s: writes are counted, and a full scan
  (`faces`, `count`) flushes first once at least FLUSH_BEFORE_SCAN rows were written since the last flush.
- Filter templating (`filter_params`) is not supported by milvus-lite, so strings go into filter
  expressions literally: project names are validated by `validate_project_name` and every string is
  escaped on top of that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.exceptions import MilvusException

from peoplegraph.observations.model import UNCLUSTERED, UNKNOWN_AGE, FaceObservation, validate_project_name
from peoplegraph.observations.store import StoreBusyError, StoreWriteError

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "faces_"
MEMBERSHIP_PREFIX = "clusters_"
MIGRATING_SUFFIX = "_migrating"  # a membership collection being copied from an older face collection
MARKER = [0.0, 0.0]  # the membership rows' vector: Milvus wants one in every collection
PROJECT_MAX_LENGTH = 128
PHOTO_ID_MAX_LENGTH = 64
LANDMARK_COUNT = 10
HNSW_PARAMS = {"M": 16, "efConstruction": 200}
WRITE_BATCH = 1000  # rows per insert/upsert call (512-D: about 2 MB a call)
READ_BATCH = 4000  # rows per query_iterator page (a server allows at most 16,384)
ID_BATCH = 1000  # ids per `face_id in [...]` filter
QUERY_WINDOW = 16_384  # the most rows one query may answer (offset + limit)
UPSERT_SINCE = (2, 4)  # Milvus 2.3's upsert misroutes partition-key rows (module docstring)
STORED_FIELDS = ("face_id", "project", "photo_id", "box", "landmarks", "det_score", "yaw", "pitch", "roll",
                 "quality_score", "quality_flags", "age", "embedding")
META_FIELDS = [f for f in STORED_FIELDS if f != "embedding"]
LEGACY_CLUSTER_FIELD = "cluster_id"  # on the face rows of collections made before the membership collection
FLUSH_BEFORE_SCAN = 1000  # milvus-lite: unflushed rows after which a full scan flushes first
LITE_LOCK_FILE = "LOCK"  # milvus_lite.db.LOCK_FILENAME

_lite_users: dict[str, int] = {}
_lite_users_lock = threading.Lock()


def collection_name_for(model_id: str, prefix: str = COLLECTION_PREFIX) -> str:
    """`faces_` (or another prefix) + the model id with anything outside [A-Za-z0-9_] replaced by `_`."""
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", model_id)


def server_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of a Milvus server's version string ("v2.3.5-lite", "2.6.1"); None when unreadable."""
    found = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(found.group(1)), int(found.group(2))) if found else None


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _DropNoise(logging.Filter):
    """Drops the records milvus-lite and pymilvus log on a locked folder or a lite iterator (noise, not news)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("Failed to start MilvusLite server" in message or "failed to get mvccTs" in message)


_noise_filter = _DropNoise()
for _name in ("milvus_lite.server_manager", "pymilvus.client.iterator.query_iterator"):
    logging.getLogger(_name).addFilter(_noise_filter)


def _lite_folder_locked(folder: Path) -> bool:
    """True when another process holds milvus-lite's lock on `folder` (probed without keeping it)."""
    lock_path = folder / LITE_LOCK_FILE
    if not lock_path.exists():
        return False
    import fcntl

    fd = os.open(lock_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def busy_message(folder: Path | str) -> str:
    return (
        f"the vector store {folder} is in use by another process: another peoplegraph process (e.g. "
        f"`peoplegraph serve` or a worker) holds DATA_DIR/milvus.db. Stop it, or point PEOPLEGRAPH_MILVUS_URI "
        "at a Milvus server (http://host:19530) that several processes can share."
    )


class MilvusCollections:
    """One connection to Milvus (a server by URI) or milvus-lite (a local folder), and the writes and reads every
    peoplegraph collection shares; `collections` names those a full scan flushes first."""

    collections: tuple[str, ...] = ()

    def __init__(self, uri: str, token: str = "") -> None:
        self._lite_path: str | None = None
        self._unflushed = 0
        # what the server can do: milvus-lite 3.2 and Milvus >= 2.4 upsert; see the module docstring
        self.server_version: tuple[int, int] | None = None
        if "://" in uri:
            self.uri = uri
            self._client = MilvusClient(uri=uri, token=token)
            try:
                self.server_version = server_version(str(self._client.get_server_version()))
            except BaseException:
                self.close()
                raise
        else:
            folder = Path(uri).expanduser().resolve()
            folder.parent.mkdir(parents=True, exist_ok=True)
            self.uri = str(folder)
            try:
                self._client = MilvusClient(uri=self.uri)
            except MilvusException as exc:
                if _lite_folder_locked(folder):
                    raise StoreBusyError(busy_message(folder)) from exc
                raise
            self._lite_path = self.uri
            with _lite_users_lock:
                _lite_users[self.uri] = _lite_users.get(self.uri, 0) + 1
        known = self.server_version
        self._upsert = known is None or known >= UPSERT_SINCE
        try:
            self._ensure_collections()
            for collection in self.collections:  # after a restart nothing is loaded
                self._client.load_collection(collection)
        except BaseException:
            self.close()
            raise

    def _ensure_collections(self) -> None:
        """Make (or check) the collections this store keeps."""
        raise NotImplementedError

    def _create(self, name: str, schema: Any, vector: str, index_type: str, metric: str, params: dict) -> None:
        # Strong: a clustering run must see the faces an ingest wrote a moment ago.
        self._client.create_collection(name, schema=schema, consistency_level="Strong")
        if self._lite_path is not None:
            return
        index = self._client.prepare_index_params()
        index.add_index(vector, index_type=index_type, metric_type=metric, params=params)
        # The index of an empty collection is ready at once, but pymilvus' waiting loop sleeps 0.5 s before
        # it first asks: half a second off every new library's first ingest. load_collection waits for what
        # searches need.
        self._client.create_index(name, index, sync=False)
        self._client.load_collection(name)

    @contextlib.contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """A refused write (milvus-lite's disk full, a server gone) as one clear `StoreWriteError`."""
        try:
            yield
        except (MilvusException, OSError) as exc:
            raise StoreWriteError(
                f"the vector store {self.uri} could not write {what}: {exc}. If its disk is full, free space; then "
                "run `peoplegraph repair --project P` and the same command again") from exc

    def _write(self, collection: str, rows: list[dict[str, Any]], primary: str = "face_id") -> int:
        """Whole rows, replacing those of the same `primary` ids; returns how many."""
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            if self._upsert:
                self._client.upsert(collection, batch)
                continue
            latest = {row[primary]: row for row in batch}  # one row per id, as an upsert keeps
            self._client.delete(collection, ids=list(latest))
            self._client.insert(collection, list(latest.values()))
        self._unflushed += len(rows)
        return len(rows)


    @staticmethod
    def _project_filter(project: str) -> str:
        return f"project == {quote(validate_project_name(project))}"

    def _flush_before_scan(self) -> None:
        if self._lite_path is not None and self._unflushed >= FLUSH_BEFORE_SCAN:
            for collection in self.collections:
                self._client.flush(collection)
            self._unflushed = 0

    def _iterate(self, collection: str, filter_: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        self._flush_before_scan()
        iterator = self._client.query_iterator(collection, batch_size=READ_BATCH, filter=filter_, output_fields=fields)
        try:
            while True:
                page = iterator.next()
                if not page:
                    return
                yield from page
        finally:
            iterator.close()

    def _query_ids(self, collection: str, project: str, ids: list[int], fields: list[str],
                   consistency: str | None = None, primary: str = "face_id") -> list[dict[str, Any]]:
        """The project's rows of these ids (the collection's Strong consistency unless another `consistency` is
        asked). Looked up by primary key alone, the project checked on the rows: with the project in the filter
        too, milvus-lite scans the collection (0.3 s for 200 ids at 100k faces, against 0.02 s)."""
        validate_project_name(project)
        rows: list[dict[str, Any]] = []
        level = {} if consistency is None else {"consistency_level": consistency}
        wanted = list(dict.fromkeys([*fields, "project"]))
        for start in range(0, len(ids), ID_BATCH):
            chunk = ids[start : start + ID_BATCH]
            filter_ = f"{primary} in [{','.join(str(int(i)) for i in chunk)}]"
            found = self._client.query(collection, filter=filter_, output_fields=wanted, limit=len(chunk), **level)
            rows.extend({k: v for k, v in row.items() if k in fields} for row in found if row["project"] == project)
        return rows


    def close(self) -> None:
        client = self.__dict__.pop("_client", None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        path, self._lite_path = self._lite_path, None
        if path is None:
            return
        with _lite_users_lock:
            users = _lite_users.get(path, 1) - 1
            if users > 0:
                _lite_users[path] = users
                return
            _lite_users.pop(path, None)
        # The last user in this process: stop the in-process milvus-lite server so its folder lock is
        # released and another process (the CLI after a test, a restarted server) can open the folder.
        with contextlib.suppress(Exception):
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MilvusVectorStore(MilvusCollections):
    """Face observations of one model in one Milvus collection; every call is scoped to one project."""

    def __init__(self, uri: str, model_id: str, dim: int, token: str = "") -> None:
        if dim <= 0:
            raise ValueError(f"dim: must be positive, got {dim}")
        self.model_id = model_id
        self.dim = int(dim)
        self.collection = collection_name_for(model_id)
        self.membership = collection_name_for(model_id, MEMBERSHIP_PREFIX)
        self.collections = (self.collection, self.membership)
        self._legacy = False  # a face collection from before the membership collection (module docstring)
        super().__init__(uri, token)

    def _ensure_collections(self) -> None:
        self._ensure_collection()
        self._ensure_membership()

    # -- setup -----------------------------------------------------------------------------------------

    def _ensure_collection(self) -> None:
        client, name = self._client, self.collection
        if client.has_collection(name):
            described = client.describe_collection(name)
            fields = {f["name"]: f for f in described["fields"]}
            vector = fields.get("embedding")
            if vector is None or "face_id" not in fields:
                raise ValueError(f"collection {name} in {self.uri} is not a peoplegraph face collection")
            existing = int(vector["params"]["dim"])
            if existing != self.dim:
                raise ValueError(
                    f"dim: collection {name} in {self.uri} holds {existing}-dimensional embeddings but model "
                    f"{self.model_id!r} makes {self.dim}-dimensional ones; use another model pack or a fresh "
                    "store (collections are per model)"
                )
            missing = sorted(set(STORED_FIELDS) - set(fields))
            if missing:
                raise ValueError(
                    f"collection {name} in {self.uri} was made by an older peoplegraph and lacks the fields "
                    f"{', '.join(missing)}: ingest into a fresh data folder (PEOPLEGRAPH_DATA_DIR) or a new "
                    "Milvus database; nothing was changed"
                )
            self._legacy = LEGACY_CLUSTER_FIELD in fields
            if self._lite_path is not None and client.list_indexes(name):  # made by an earlier peoplegraph
                client.release_collection(name)
                for index_name in client.list_indexes(name):
                    client.drop_index(name, index_name)
            return
        schema = MilvusClient.create_schema(
            auto_id=False, enable_dynamic_field=False, description=f"peoplegraph faces of model {self.model_id}"
        )
        schema.add_field("face_id", DataType.INT64, is_primary=True)
        schema.add_field("project", DataType.VARCHAR, max_length=PROJECT_MAX_LENGTH, is_partition_key=True)
        schema.add_field("photo_id", DataType.VARCHAR, max_length=PHOTO_ID_MAX_LENGTH)
        schema.add_field("box", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=4)
        schema.add_field("landmarks", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=LANDMARK_COUNT)
        schema.add_field("det_score", DataType.FLOAT)
        schema.add_field("yaw", DataType.FLOAT)
        schema.add_field("pitch", DataType.FLOAT)
        schema.add_field("roll", DataType.FLOAT)
        schema.add_field("quality_score", DataType.FLOAT)
        schema.add_field("quality_flags", DataType.INT64)
        schema.add_field("age", DataType.FLOAT)  # years; UNKNOWN_AGE where the pack has no age model
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=self.dim)
        # no vector index in milvus-lite: peoplegraph searches its own face index beside it, which holds every
        # row in memory anyway (a FLAT index was one more copy of every embedding: 0.5 GB at 1M faces)
        self._create(name, schema, "embedding", "HNSW", "COSINE", HNSW_PARAMS)

    def _ensure_membership(self) -> None:
        """The membership collection; made from an older face collection's cluster ids where there is one,
        under a temporary name that becomes the real one only once every id is copied (a copy cut short is
        made again on the next open)."""
        client = self._client
        if client.has_collection(self.membership):
            return
        schema = MilvusClient.create_schema(
            auto_id=False, enable_dynamic_field=False, description=f"peoplegraph clusters of model {self.model_id}"
        )
        schema.add_field("face_id", DataType.INT64, is_primary=True)
        schema.add_field("project", DataType.VARCHAR, max_length=PROJECT_MAX_LENGTH, is_partition_key=True)
        schema.add_field("cluster_id", DataType.INT64)
        schema.add_field("marker", DataType.FLOAT_VECTOR, dim=len(MARKER))
        if not self._legacy:
            self._create(self.membership, schema, "marker", "FLAT", "L2", {})
            return
        partial = self.membership + MIGRATING_SUFFIX
        if client.has_collection(partial):
            client.drop_collection(partial)
        self._create(partial, schema, "marker", "FLAT", "L2", {})
        client.load_collection(partial)
        client.load_collection(self.collection)
        copied, batch = 0, []
        for row in self._iterate(self.collection, 'project != ""', ["face_id", "project", LEGACY_CLUSTER_FIELD]):
            batch.append(self._member(row["face_id"], row["project"], row[LEGACY_CLUSTER_FIELD]))
            if len(batch) == WRITE_BATCH:
                copied += self._write(partial, batch)
                batch = []
        copied += self._write(partial, batch)
        client.flush(partial)
        client.release_collection(partial)
        client.rename_collection(partial, self.membership)
        log.info("copied the cluster ids of %d faces from %s into %s", copied, self.collection, self.membership)

    # -- writes ----------------------------------------------------------------------------------------

    def _row(self, face: FaceObservation) -> dict[str, Any]:
        validate_project_name(face.project)
        if face.embedding is None:
            raise ValueError(f"embedding: face {face.face_id} has none")
        vector = np.asarray(face.embedding, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.dim:
            raise ValueError(f"embedding: face {face.face_id} has {vector.shape[0]} dimensions, expected {self.dim}")
        if len(face.box) != 4 or len(face.landmarks) != LANDMARK_COUNT:
            raise ValueError(f"box/landmarks: face {face.face_id} needs 4 box and {LANDMARK_COUNT} landmark numbers")
        row = {
            "face_id": int(face.face_id),
            "project": face.project,
            "photo_id": face.photo_id,
            "box": [float(v) for v in face.box],
            "landmarks": [float(v) for v in face.landmarks],
            "det_score": float(face.det_score),
            "yaw": float(face.yaw),
            "pitch": float(face.pitch),
            "roll": float(face.roll),
            "quality_score": float(face.quality_score),
            "quality_flags": int(face.quality_flags),
            "age": float(face.age),
            "embedding": vector.tolist(),
        }
        if self._legacy:
            row[LEGACY_CLUSTER_FIELD] = UNCLUSTERED  # read from the membership collection only
        return row

    @staticmethod
    def _member(face_id: int, project: str, cluster_id: int) -> dict[str, Any]:
        return {"face_id": int(face_id), "project": project, "cluster_id": int(cluster_id), "marker": MARKER}

    def upsert(self, observations: Sequence[FaceObservation]) -> None:
        """The faces' rows, then their clusters' (a face whose cluster row is missing is unclustered)."""
        with self._writing("faces"):
            self._write(self.collection, [self._row(face) for face in observations])
            self._write(self.membership, [self._member(f.face_id, f.project, f.cluster_id) for f in observations])

    def set_clusters(self, project: str, assignment: Mapping[int, int], *, present: bool = False) -> None:
        """Only the clusters change (one small row per face); ids not in the project are ignored (with
        `present`, the caller knows every id is the project's and none is looked up first)."""
        validate_project_name(project)
        items = [(int(k), int(v)) for k, v in assignment.items()]
        with self._writing("cluster ids"):
            for start in range(0, len(items), ID_BATCH):
                chunk = dict(items[start : start + ID_BATCH])
                found = list(chunk) if present else [
                    row["face_id"] for row in self._query_ids(self.collection, project, list(chunk), ["face_id"])]
                self._write(self.membership, [self._member(i, project, chunk[i]) for i in found])

    def delete_faces(self, project: str, face_ids: Sequence[int]) -> None:
        ids = sorted({int(f) for f in face_ids})
        with self._writing("the removal of faces"):
            for start in range(0, len(ids), ID_BATCH):
                batch = ids[start:start + ID_BATCH]
                for collection in (self.collection, self.membership):
                    self._client.delete(collection, filter=f"{self._project_filter(project)} and face_id in {batch}")
                self._unflushed += len(batch)

    def drop_project(self, project: str) -> None:
        validate_project_name(project)
        for collection in (self.collection, self.membership):
            self._client.delete(collection, filter=self._project_filter(project))

    # -- reads -----------------------------------------------------------------------------------------

    def _clusters_of(self, project: str, face_ids: list[int]) -> dict[int, int]:
        rows = self._query_ids(self.membership, project, face_ids, ["face_id", "cluster_id"])
        return {int(row["face_id"]): int(row["cluster_id"]) for row in rows}

    def _faces(self, project: str, rows: Sequence[Mapping[str, Any]], with_embedding: bool) -> list[FaceObservation]:
        """Face rows as observations, each with its cluster from the membership collection."""
        clusters = self._clusters_of(project, [int(row["face_id"]) for row in rows])
        return [self._face(row, with_embedding, clusters.get(int(row["face_id"]), UNCLUSTERED)) for row in rows]

    @staticmethod
    def _face(row: Mapping[str, Any], with_embedding: bool, cluster_id: int) -> FaceObservation:
        embedding = None
        if with_embedding:
            embedding = np.asarray(row["embedding"], dtype=np.float32)
        return FaceObservation(
            face_id=int(row["face_id"]),
            project=row["project"],
            photo_id=row["photo_id"],
            box=tuple(float(v) for v in row["box"]),  # type: ignore[arg-type]
            landmarks=[float(v) for v in row["landmarks"]],
            det_score=float(row["det_score"]),
            cluster_id=cluster_id,
            embedding=embedding,
            yaw=float(row.get("yaw", 0.0)),
            pitch=float(row.get("pitch", 0.0)),
            roll=float(row.get("roll", 0.0)),
            quality_score=float(row.get("quality_score", 0.0)),
            quality_flags=int(row.get("quality_flags", 0)),
            age=float(row.get("age", UNKNOWN_AGE)),
        )

    def faces(
        self, project: str, *, with_embeddings: bool = False, only_unclustered: bool = False
    ) -> list[FaceObservation]:
        """Every face of the project (paged, so past 16,384 rows too), in face id order."""
        filter_ = self._project_filter(project)
        clusters = {int(row["face_id"]): int(row["cluster_id"])
                    for row in self._iterate(self.membership, filter_, ["face_id", "cluster_id"])}
        fields = [*META_FIELDS, "embedding"] if with_embeddings else META_FIELDS
        faces = [self._face(row, with_embeddings, clusters.get(int(row["face_id"]), UNCLUSTERED))
                 for row in self._iterate(self.collection, filter_, fields)]
        if only_unclustered:
            faces = [face for face in faces if face.cluster_id == UNCLUSTERED]
        faces.sort(key=lambda f: f.face_id)
        return faces

    def faces_by_id(
        self, project: str, face_ids: Sequence[int], *, with_embeddings: bool = False
    ) -> list[FaceObservation]:
        """The faces among `face_ids` that belong to the project, in the order asked."""
        fields = [*META_FIELDS, "embedding"] if with_embeddings else META_FIELDS
        rows = self._query_ids(self.collection, project, [int(i) for i in face_ids], fields)
        found = {face.face_id: face for face in self._faces(project, rows, with_embeddings)}
        return [found[int(i)] for i in face_ids if int(i) in found]

    def faces_of_photo(self, project: str, photo_id: str) -> list[FaceObservation]:
        filter_ = f"{self._project_filter(project)} and photo_id == {quote(photo_id)}"
        rows = self._client.query(self.collection, filter=filter_, output_fields=META_FIELDS, limit=QUERY_WINDOW)
        return sorted(self._faces(project, rows, False), key=lambda f: f.face_id)

    def faces_of_clusters(
        self, project: str, cluster_ids: Sequence[int], *, with_embeddings: bool = False
    ) -> list[FaceObservation]:
        """Every face of the given clusters (paged), in face id order."""
        wanted = sorted({int(c) for c in cluster_ids})
        ids: list[int] = []
        for start in range(0, len(wanted), ID_BATCH):
            filter_ = f"{self._project_filter(project)} and cluster_id in {wanted[start:start + ID_BATCH]}"
            ids += [int(row["face_id"]) for row in self._iterate(self.membership, filter_, ["face_id"])]
        return self.faces_by_id(project, sorted(ids), with_embeddings=with_embeddings)

    def count(self, project: str) -> int:
        self._flush_before_scan()
        rows = self._client.query(self.collection, filter=self._project_filter(project), output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def total_rows(self) -> int | None:
        """milvus-lite's row count walks ids only (0.13 s at 100k rows), where counting one project reads and
        filters every row (8 s and 1 GB at 100k); a server's count of a project is cheap, and its collection
        statistics count deleted rows until compaction: None there."""
        if self._lite_path is None:
            return None
        self._flush_before_scan()
        return int(self._client.get_collection_stats(self.collection)["row_count"])

    def search(self, project: str, vectors: np.ndarray, limit: int) -> list[list[tuple[FaceObservation, float]]]:
        """For each query vector, the `limit` most similar faces of the project, best first, with cosine similarity."""
        filter_ = self._project_filter(project)
        queries = np.asarray(vectors, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.shape[0] == 0 or limit <= 0:
            return [[] for _ in range(queries.shape[0])]
        if queries.shape[1] != self.dim:
            raise ValueError(f"vectors: {queries.shape[1]} dimensions, expected {self.dim}")
        limit = min(int(limit), QUERY_WINDOW)
        answers: list[list[tuple[FaceObservation, float]]] = []
        for start in range(0, queries.shape[0], WRITE_BATCH):
            hits = self._client.search(
                self.collection,
                data=queries[start : start + WRITE_BATCH].tolist(),
                filter=filter_,
                limit=limit,
                output_fields=META_FIELDS,
                search_params={"metric_type": "COSINE", "params": {"ef": max(64, limit)}},
            )
            for per_query in hits:
                faces = self._faces(project, [hit["entity"] for hit in per_query], False)
                answers.append([(face, float(hit["distance"])) for face, hit in zip(faces, per_query)])
        return answers
