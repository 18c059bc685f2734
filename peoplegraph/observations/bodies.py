"""Body observations: a person's box in a photo and its ReID embedding, in Milvus beside the faces.

One collection per body model (`bodies_<model id>`), projects kept apart by a partition key as faces are.
A body is tied to the face inside its box where there is one (`face_id`, NO_FACE otherwise); its id is
deterministic (project, photo, model, box), so ingesting a photo again adds nothing twice. Which photos a
model has looked at, people found or not, the graph's photo records say (`body_model`).

A body with a face also has the embedding of its box below the face (`below_face`), kept in a second
collection (`bodies_below_face_<model id>`, by body id): a Milvus 2.3 server holds one vector field a
collection, and the body collections made before it keep their rows. Its rows are written after and deleted
with their bodies; one left without its body is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient

from peoplegraph.observations.milvus import (HNSW_PARAMS, ID_BATCH, PHOTO_ID_MAX_LENGTH, PROJECT_MAX_LENGTH,
                                             MilvusCollections, collection_name_for, quote)
from peoplegraph.observations.model import BodyObservation, validate_project_name

BODY_PREFIX = "bodies_"
BELOW_FACE_PREFIX = "bodies_below_face_"
FIELDS = ("body_id", "project", "photo_id", "box", "det_score", "face_id")


class MilvusBodyStore(MilvusCollections):
    """Body observations of one ReID model; every call is scoped to one project."""

    def __init__(self, uri: str, model_id: str, dim: int, token: str = "") -> None:
        self.model_id, self.dim = model_id, int(dim)
        self.collection = collection_name_for(model_id, BODY_PREFIX)
        self.below = collection_name_for(model_id, BELOW_FACE_PREFIX)
        self.collections = (self.collection, self.below)
        super().__init__(uri, token)

    def _ensure_collections(self) -> None:
        self._ensure(self.collection, "bodies", [
            ("photo_id", DataType.VARCHAR, {"max_length": PHOTO_ID_MAX_LENGTH}),
            ("box", DataType.ARRAY, {"element_type": DataType.FLOAT, "max_capacity": 4}),
            ("det_score", DataType.FLOAT, {}), ("face_id", DataType.INT64, {})])
        self._ensure(self.below, "bodies below their face", [
            ("photo_id", DataType.VARCHAR, {"max_length": PHOTO_ID_MAX_LENGTH})])

    def _ensure(self, name: str, what: str, fields: list[tuple[str, DataType, dict]]) -> None:
        """Check the collection, or make it: body id, project (the partition key), `fields`, embedding."""
        client = self._client
        if client.has_collection(name):
            found = {f["name"]: f for f in client.describe_collection(name)["fields"]}
            if "body_id" not in found or "embedding" not in found:
                raise ValueError(f"collection {name} in {self.uri} is not a peoplegraph body collection")
            existing = int(found["embedding"]["params"]["dim"])
            if existing != self.dim:
                raise ValueError(f"dim: collection {name} in {self.uri} holds {existing}-dimensional bodies but "
                                 f"model {self.model_id!r} makes {self.dim}-dimensional ones")
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                            description=f"peoplegraph {what} of model {self.model_id}")
        schema.add_field("body_id", DataType.INT64, is_primary=True)
        schema.add_field("project", DataType.VARCHAR, max_length=PROJECT_MAX_LENGTH, is_partition_key=True)
        for field_name, kind, params in fields:
            schema.add_field(field_name, kind, **params)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=self.dim)
        self._create(name, schema, "embedding", "HNSW", "COSINE", HNSW_PARAMS)

    def _vector(self, body: BodyObservation, vector: np.ndarray | None, field_name: str) -> list[float]:
        values = np.asarray(vector, np.float32).reshape(-1) if vector is not None else None
        if values is None or values.shape[0] != self.dim:
            raise ValueError(f"{field_name}: body {body.body_id} needs {self.dim} numbers")
        return values.tolist()

    def _row(self, body: BodyObservation) -> dict[str, Any]:
        validate_project_name(body.project)
        if len(body.box) != 4:
            raise ValueError(f"box: body {body.body_id} needs 4 numbers")
        return {"body_id": int(body.body_id), "project": body.project, "photo_id": body.photo_id,
                "box": [float(v) for v in body.box], "det_score": float(body.det_score),
                "face_id": int(body.face_id), "embedding": self._vector(body, body.embedding, "embedding")}

    def upsert(self, bodies: Sequence[BodyObservation]) -> None:
        """Insert or replace by body id (a body's below-face embedding with it: dropped when it has none now)."""
        rows = [self._row(b) for b in bodies]
        below = [{"body_id": int(b.body_id), "project": b.project, "photo_id": b.photo_id,
                  "embedding": self._vector(b, b.below_face, "below_face")} for b in bodies if b.below_face is not None]
        with self._writing("bodies"):
            self._write(self.collection, rows, primary="body_id")
            self._write(self.below, below, primary="body_id")
            without = [int(b.body_id) for b in bodies if b.below_face is None]
            for start in range(0, len(without), ID_BATCH):
                self._client.delete(self.below, ids=without[start:start + ID_BATCH])

    def bodies(self, project: str, *, with_embeddings: bool = False,
               photo_ids: Sequence[str] | None = None) -> list[BodyObservation]:
        """The project's bodies (those of `photo_ids` only, when given), in body id order."""
        fields = [*FIELDS, "embedding"] if with_embeddings else list(FIELDS)
        filters = [self._project_filter(project)] if photo_ids is None else self._photo_filters(project, photo_ids)
        rows = [row for filter_ in filters for row in self._iterate(self.collection, filter_, fields)]
        below = {int(row["body_id"]): row["embedding"] for filter_ in filters if with_embeddings
                 for row in self._iterate(self.below, filter_, ["body_id", "embedding"])}
        return sorted((self._body(row, below.get(int(row["body_id"]))) for row in rows), key=lambda b: b.body_id)

    def _photo_filters(self, project: str, photo_ids: Sequence[str]) -> list[str]:
        wanted = sorted(set(photo_ids))
        return [f"{self._project_filter(project)} and photo_id in [{','.join(quote(p) for p in wanted[s:s + ID_BATCH])}]"
                for s in range(0, len(wanted), ID_BATCH)]

    def bodies_by_id(self, project: str, body_ids: Sequence[int], *,
                     with_embeddings: bool = False) -> list[BodyObservation]:
        """The bodies among `body_ids` that belong to the project, in the order asked."""
        fields = [*FIELDS, "embedding"] if with_embeddings else list(FIELDS)
        ids = [int(i) for i in body_ids]
        rows = self._query_ids(self.collection, project, ids, fields, primary="body_id")
        below = {int(row["body_id"]): row["embedding"] for row in (
            self._query_ids(self.below, project, ids, ["body_id", "embedding"], primary="body_id")
            if with_embeddings else [])}
        found = {int(row["body_id"]): self._body(row, below.get(int(row["body_id"]))) for row in rows}
        return [found[int(i)] for i in body_ids if int(i) in found]

    @staticmethod
    def _body(row: dict[str, Any], below_face: Sequence[float] | None = None) -> BodyObservation:
        embedding = np.asarray(row["embedding"], np.float32) if "embedding" in row else None
        return BodyObservation(int(row["body_id"]), row["project"], row["photo_id"],
                               tuple(float(v) for v in row["box"]),  # type: ignore[arg-type]
                               float(row["det_score"]), int(row["face_id"]), embedding,
                               None if below_face is None else np.asarray(below_face, np.float32))

    def delete_photos(self, project: str, photo_ids: Sequence[str]) -> None:
        with self._writing("the removal of bodies"):
            for filter_ in self._photo_filters(project, photo_ids):
                for collection in self.collections:
                    self._client.delete(collection, filter=filter_)
            self._unflushed += len(set(photo_ids))

    def drop_project(self, project: str) -> None:
        for collection in self.collections:
            self._client.delete(collection, filter=self._project_filter(project))

    def count(self, project: str) -> int:
        self._flush_before_scan()
        rows = self._client.query(self.collection, filter=self._project_filter(project), output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0
