"""Body observations: a person's box in a photo and its ReID embedding, in Milvus beside the faces.

One collection per body model (`bodies_<model id>`), projects kept apart by a partition key as faces are.
A body is tied to the face inside its box where there is one (`face_id`, NO_FACE otherwise); its id is
deterministic (project, photo, model, box), so ingesting a photo again adds nothing twice. Which photos a
model has looked at, people found or not, the graph's photo records say (`body_model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient

from peoplegraph.observations.milvus import (ID_BATCH, PHOTO_ID_MAX_LENGTH, PROJECT_MAX_LENGTH,
                                             MilvusCollections, collection_name_for, quote)
from peoplegraph.observations.model import BodyObservation, validate_project_name

BODY_PREFIX = "bodies_"
FIELDS = ("body_id", "project", "photo_id", "box", "det_score", "face_id")


class MilvusBodyStore(MilvusCollections):
    """Body observations of one ReID model; every call is scoped to one project."""

    def __init__(self, uri: str, model_id: str, dim: int, token: str = "") -> None:
        self.model_id, self.dim = model_id, int(dim)
        self.collection = collection_name_for(model_id, BODY_PREFIX)
        self.collections = (self.collection,)
        super().__init__(uri, token)

    def _ensure_collections(self) -> None:
        client, name = self._client, self.collection
        if client.has_collection(name):
            fields = {f["name"]: f for f in client.describe_collection(name)["fields"]}
            if "body_id" not in fields or "embedding" not in fields:
                raise ValueError(f"collection {name} in {self.uri} is not a peoplegraph body collection")
            existing = int(fields["embedding"]["params"]["dim"])
            if existing != self.dim:
                raise ValueError(f"dim: collection {name} in {self.uri} holds {existing}-dimensional bodies but "
                                 f"model {self.model_id!r} makes {self.dim}-dimensional ones")
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                            description=f"peoplegraph bodies of model {self.model_id}")
        schema.add_field("body_id", DataType.INT64, is_primary=True)
        schema.add_field("project", DataType.VARCHAR, max_length=PROJECT_MAX_LENGTH, is_partition_key=True)
        schema.add_field("photo_id", DataType.VARCHAR, max_length=PHOTO_ID_MAX_LENGTH)
        schema.add_field("box", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=4)
        schema.add_field("det_score", DataType.FLOAT)
        schema.add_field("face_id", DataType.INT64)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=self.dim)
        self._create(name, schema, "embedding", "HNSW", "COSINE", {"M": 16, "efConstruction": 200})

    def _row(self, body: BodyObservation) -> dict[str, Any]:
        validate_project_name(body.project)
        vector = np.asarray(body.embedding, np.float32).reshape(-1) if body.embedding is not None else None
        if vector is None or vector.shape[0] != self.dim:
            raise ValueError(f"embedding: body {body.body_id} needs {self.dim} numbers")
        if len(body.box) != 4:
            raise ValueError(f"box: body {body.body_id} needs 4 numbers")
        return {"body_id": int(body.body_id), "project": body.project, "photo_id": body.photo_id,
                "box": [float(v) for v in body.box], "det_score": float(body.det_score),
                "face_id": int(body.face_id), "embedding": vector.tolist()}

    def upsert(self, bodies: Sequence[BodyObservation]) -> None:
        """Insert or replace by body id."""
        with self._writing("bodies"):
            self._write(self.collection, [self._row(b) for b in bodies], primary="body_id")

    def bodies(self, project: str, *, with_embeddings: bool = False,
               photo_ids: Sequence[str] | None = None) -> list[BodyObservation]:
        """The project's bodies (those of `photo_ids` only, when given), in body id order."""
        fields = [*FIELDS, "embedding"] if with_embeddings else list(FIELDS)
        if photo_ids is None:
            rows = list(self._iterate(self.collection, self._project_filter(project), fields))
        else:
            wanted, rows = sorted(set(photo_ids)), []
            for start in range(0, len(wanted), ID_BATCH):
                listed = ",".join(quote(p) for p in wanted[start:start + ID_BATCH])
                rows += self._iterate(self.collection, f"{self._project_filter(project)} and photo_id in [{listed}]",
                                      fields)
        return sorted((self._body(row) for row in rows), key=lambda b: b.body_id)

    def bodies_by_id(self, project: str, body_ids: Sequence[int], *,
                     with_embeddings: bool = False) -> list[BodyObservation]:
        """The bodies among `body_ids` that belong to the project, in the order asked."""
        fields = [*FIELDS, "embedding"] if with_embeddings else list(FIELDS)
        rows = self._query_ids(self.collection, project, [int(i) for i in body_ids], fields, primary="body_id")
        found = {int(row["body_id"]): self._body(row) for row in rows}
        return [found[int(i)] for i in body_ids if int(i) in found]

    @staticmethod
    def _body(row: dict[str, Any]) -> BodyObservation:
        embedding = np.asarray(row["embedding"], np.float32) if "embedding" in row else None
        return BodyObservation(int(row["body_id"]), row["project"], row["photo_id"],
                               tuple(float(v) for v in row["box"]),  # type: ignore[arg-type]
                               float(row["det_score"]), int(row["face_id"]), embedding)

    def delete_photos(self, project: str, photo_ids: Sequence[str]) -> None:
        wanted = sorted(set(photo_ids))
        with self._writing("the removal of bodies"):
            for start in range(0, len(wanted), ID_BATCH):
                listed = ",".join(quote(p) for p in wanted[start:start + ID_BATCH])
                self._client.delete(self.collection, filter=f"{self._project_filter(project)} and photo_id in [{listed}]")
                self._unflushed += len(wanted)

    def drop_project(self, project: str) -> None:
        self._client.delete(self.collection, filter=self._project_filter(project))

    def count(self, project: str) -> int:
        self._flush_before_scan()
        rows = self._client.query(self.collection, filter=self._project_filter(project), output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0
