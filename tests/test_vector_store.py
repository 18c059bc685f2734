"""MilvusVectorStore's contract on milvus-lite and on a real Milvus server (tests/milvus_server.py: MILVUS_URI
or the Milvus 2.3 standalone server of the `milvus` package): round trips, paging past 16,384 rows, cluster
updates, search, project-name validation, persistence across processes and loading on open. The busy-folder
error and the folder lock are milvus-lite's alone."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from milvus_server import private_database
from processes import held_by_another_process, run_python
from peoplegraph.observations.factory import open_vector_store
from peoplegraph.observations.milvus import MilvusVectorStore, collection_name_for, server_version
from peoplegraph.observations.bodies import MilvusBodyStore
from peoplegraph.observations.model import (NO_FACE, UNCLUSTERED, BodyObservation, FaceObservation, face_id_for,
                                            validate_project_name)
from peoplegraph.observations.store import StoreBusyError
from peoplegraph.settings import Settings

DIM = 8
MODEL = "test-model/v1"


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_faces(project: str, vectors: np.ndarray, faces_per_photo: int = 3) -> list[FaceObservation]:
    faces = []
    for i, vector in enumerate(vectors):
        photo_id = f"{i // faces_per_photo:064x}"
        box = (float(i % 97), float(i % 89), 40.0 + i % 7, 50.0)
        faces.append(
            FaceObservation(
                face_id=face_id_for(project, photo_id, MODEL, box),
                project=project,
                photo_id=photo_id,
                box=box,
                landmarks=[float(i % 10 + k) for k in range(10)],
                det_score=0.5 + (i % 50) / 100,
                embedding=vector,
            )
        )
    return faces


BACKENDS = ("lite", "server")


@dataclass(frozen=True)
class Backend:
    name: str
    uri: str  # a milvus-lite folder, or a server URI naming a database of this test's own
    token: str = ""

    def open(self, model_id: str = MODEL, dim: int = DIM) -> MilvusVectorStore:
        return MilvusVectorStore(self.uri, model_id, dim, token=self.token)


@contextmanager
def fresh_backend(request: pytest.FixtureRequest, name: str, folder: Path) -> Iterator[Backend]:
    """An empty store of backend `name`: a milvus-lite folder under `folder`, or a new database on the
    session's Milvus server (dropped at the end)."""
    if name == "lite":
        yield Backend("lite", str(folder / "nested" / "milvus.db"))
        return
    server = request.getfixturevalue("milvus_server")
    with private_database(server) as uri:
        yield Backend("server", uri, server.token)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The store the module's contract tests share, once per backend."""
    with fresh_backend(request, request.param, tmp_path_factory.mktemp("vectors")) as made:
        yield made


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty store of one test's own, once per backend."""
    with fresh_backend(request, request.param, tmp_path) as made:
        yield made


@pytest.fixture(scope="module")
def store(backend: Backend) -> Iterator[MilvusVectorStore]:
    with backend.open() as opened:
        yield opened


def test_folder_created_and_collection_named_per_model(store: MilvusVectorStore, backend: Backend) -> None:
    if backend.name == "lite":
        assert Path(backend.uri).is_dir()  # a milvus-lite ".db" is a folder, parents created
    assert store.collection == collection_name_for(MODEL) == "faces_test_model_v1"


def test_upsert_round_trip_and_idempotent(store: MilvusVectorStore) -> None:
    faces = make_faces("roundtrip", unit_vectors(10))
    store.upsert(faces)
    store.upsert(faces)  # re-ingesting adds nothing
    assert store.count("roundtrip") == 10
    got = {f.face_id: f for f in store.faces("roundtrip", with_embeddings=True)}
    for face in faces:
        back = got[face.face_id]
        assert back.photo_id == face.photo_id and back.project == "roundtrip"
        assert back.box == pytest.approx(face.box) and back.landmarks == pytest.approx(face.landmarks)
        assert back.det_score == pytest.approx(face.det_score, abs=1e-6)
        assert back.cluster_id == UNCLUSTERED
        np.testing.assert_allclose(back.embedding, face.embedding, rtol=1e-6)
    assert all(f.embedding is None for f in store.faces("roundtrip"))
    photo = faces[0].photo_id
    assert {f.face_id for f in store.faces_of_photo("roundtrip", photo)} == {f.face_id for f in faces[:3]}
    wanted = [faces[4].face_id, 12345, faces[1].face_id]
    assert [f.face_id for f in store.faces_by_id("roundtrip", wanted)] == [faces[4].face_id, faces[1].face_id]
    assert store.faces_by_id("roundtrip", wanted, with_embeddings=True)[0].embedding is not None


def test_projects_are_isolated_and_drop_project(store: MilvusVectorStore) -> None:
    store.upsert(make_faces("iso-a", unit_vectors(5, seed=1)))
    store.upsert(make_faces("iso-b", unit_vectors(7, seed=2)))
    assert (store.count("iso-a"), store.count("iso-b")) == (5, 7)
    assert store.search("iso-a", unit_vectors(1, seed=2), 10)[0].__len__() == 5
    # ids are looked up by key alone: another project's ids are still not this project's faces
    b_ids = [f.face_id for f in store.faces("iso-b")]
    assert store.faces_by_id("iso-a", b_ids) == [] and len(store.faces_by_id("iso-b", b_ids)) == 7
    store.drop_project("iso-a")
    assert store.count("iso-a") == 0 and store.faces("iso-a") == []
    assert store.count("iso-b") == 7


def test_delete_faces_removes_only_those_of_the_project(store: MilvusVectorStore) -> None:
    a, b = make_faces("del-a", unit_vectors(4, seed=3)), make_faces("del-b", unit_vectors(3, seed=4))
    store.upsert(a + b)
    store.delete_faces("del-a", [a[0].face_id, a[2].face_id, b[0].face_id, 999])  # another project's id: kept
    assert sorted(f.face_id for f in store.faces("del-a")) == sorted([a[1].face_id, a[3].face_id])
    assert store.count("del-b") == 3


def test_faces_past_the_16384_query_window(store: MilvusVectorStore) -> None:
    n = 17_000
    faces = make_faces("big", unit_vectors(n, seed=3))
    store.upsert(faces)
    assert store.count("big") == n
    got = store.faces("big")
    assert len(got) == n and len({f.face_id for f in got}) == n
    with_embeddings = store.faces("big", with_embeddings=True)
    assert len(with_embeddings) == n and all(f.embedding.shape == (DIM,) for f in with_embeddings)
    store.set_clusters("big", {f.face_id: 1 for f in faces[: n // 2]})
    assert len(store.faces("big", only_unclustered=True)) == n - n // 2
    in_cluster = store.faces_of_clusters("big", [1, 42])  # paged past the query window too
    assert sorted(f.face_id for f in in_cluster) == sorted(f.face_id for f in faces[: n // 2])
    assert store.faces_of_clusters("big", []) == [] and store.faces_of_clusters("other", [1]) == []


def test_set_clusters_changes_only_cluster_ids(store: MilvusVectorStore, caplog: pytest.LogCaptureFixture) -> None:
    faces = make_faces("clusters", unit_vectors(50, seed=4))
    store.upsert(faces)
    before = {f.face_id: f for f in store.faces("clusters", with_embeddings=True)}
    assert set(before) == {f.face_id for f in faces}
    assignment = {f.face_id: i % 3 for i, f in enumerate(faces[:30])}
    with caplog.at_level(logging.INFO):
        store.set_clusters("clusters", {**assignment, 999: 5})  # an unknown id is ignored, not inserted
        store.set_clusters("clusters", {faces[0].face_id: 0})
        store.set_clusters("clusters", {faces[1].face_id: 7}, present=True)  # the caller vouches: no lookup
        store.set_clusters("clusters", {faces[1].face_id: assignment[faces[1].face_id]}, present=True)
    # nothing refused, nothing logged
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO and "milvus" in r.name] == []
    after = {f.face_id: f for f in store.faces("clusters", with_embeddings=True)}
    assert set(after) == set(before)
    for face_id, old in before.items():
        new = after[face_id]
        assert new.cluster_id == assignment.get(face_id, UNCLUSTERED)
        np.testing.assert_array_equal(new.embedding, old.embedding)
        assert (new.photo_id, new.box, new.landmarks, new.det_score) == (old.photo_id, old.box, old.landmarks, old.det_score)
    assert store.faces_by_id("clusters", [999]) == []


def test_search_returns_the_true_nearest_neighbour(store: MilvusVectorStore) -> None:
    vectors = unit_vectors(500, seed=5)
    faces = make_faces("search", vectors)
    store.upsert(faces)
    queries = unit_vectors(20, seed=6)
    answers = store.search("search", queries, 3)
    similarity = queries @ vectors.T
    assert len(answers) == 20
    for q, hits in enumerate(answers):
        assert len(hits) == 3
        best = int(np.argmax(similarity[q]))
        assert hits[0][0].face_id == faces[best].face_id
        assert hits[0][1] == pytest.approx(float(similarity[q, best]), abs=1e-4)
        assert [h[1] for h in hits] == sorted((h[1] for h in hits), reverse=True)
    assert store.search("search", vectors[7], 1)[0][0][0].face_id == faces[7].face_id  # one vector, 1-D


@pytest.mark.parametrize("bad", ['a"b', "../x", "", "a/b", "x\\y", "a b", "-x", "x" * 129])
def test_project_names_are_validated(store: MilvusVectorStore, bad: str) -> None:
    with pytest.raises(ValueError, match="project"):
        validate_project_name(bad)
    with pytest.raises(ValueError, match="project"):
        store.faces(bad)
    with pytest.raises(ValueError, match="project"):
        store.upsert(make_faces(bad, unit_vectors(1)))


def test_server_versions_are_read() -> None:
    assert server_version("v2.3.5-lite") == (2, 3) and server_version("2.6.1") == (2, 6)
    assert server_version("v3.0.0-rc1") == (3, 0) and server_version("milvus_lite-3.2.2") is None


def test_the_server_store_knows_what_its_server_can_do(store: MilvusVectorStore, backend: Backend) -> None:
    if backend.name == "lite":
        assert store.server_version is None and store._upsert
        return
    assert store.server_version is not None
    assert store._upsert == (store.server_version >= (2, 4))


def test_good_project_names_pass() -> None:
    for good in ("a", "Family-2024", "trip_to.rome", "x" * 128):
        assert validate_project_name(good) == good


def test_dim_mismatch_is_a_clear_error(store: MilvusVectorStore, backend: Backend) -> None:
    with pytest.raises(ValueError, match=r"dim: .*8-dimensional.*16-dimensional"):
        backend.open(dim=16)
    with pytest.raises(ValueError, match="embedding"):
        store.upsert([FaceObservation(1, "p", "x", (0, 0, 1, 1), [0.0] * 10, 0.9, embedding=np.ones(3))])


def test_persists_across_processes_and_reloads(fresh: Backend) -> None:
    written = run_python(
        f"""
        import numpy as np
        from peoplegraph.observations.milvus import MilvusVectorStore
        from peoplegraph.observations.model import FaceObservation
        store = MilvusVectorStore({fresh.uri!r}, {MODEL!r}, {DIM}, token={fresh.token!r})
        store.upsert([FaceObservation(i + 1, "persist", "ph", (1, 2, 3, 4), [0.0] * 10, 0.9, 7,
                                      np.eye({DIM}, dtype=np.float32)[i]) for i in range(3)])
        store.close()
        print("written")
        """
    )
    assert written.returncode == 0, written.stderr
    if fresh.name == "server":  # as after a server restart: the collection is not loaded
        from pymilvus import MilvusClient

        client = MilvusClient(uri=fresh.uri, token=fresh.token)
        client.release_collection(collection_name_for(MODEL))
        client.close()
    with fresh.open() as store:  # a fresh process: loads before searching
        assert store.count("persist") == 3
        assert [f.cluster_id for f in store.faces("persist")] == [7, 7, 7]
        query = np.eye(DIM, dtype=np.float32)[1]
        assert store.search("persist", query[None], 1)[0][0][0].face_id == 2


def test_locked_folder_raises_store_busy(tmp_path: Path) -> None:
    folder = tmp_path / "milvus.db"
    opener = f"from peoplegraph.observations.milvus import MilvusVectorStore\nstore = MilvusVectorStore({str(folder)!r}, {MODEL!r}, {DIM})"
    with held_by_another_process(opener):
        with pytest.raises(StoreBusyError) as caught:
            MilvusVectorStore(str(folder), MODEL, DIM)
        message = str(caught.value)
        assert "another peoplegraph process" in message and "milvus.db" in message
        assert "PEOPLEGRAPH_MILVUS_URI" in message
    with MilvusVectorStore(str(folder), MODEL, DIM) as store:  # free again once the holder is gone
        assert store.count("anything") == 0


def test_close_releases_the_folder_for_another_process(tmp_path: Path) -> None:
    folder = tmp_path / "milvus.db"
    MilvusVectorStore(str(folder), MODEL, DIM).close()
    other = run_python(
        f"""
        from peoplegraph.observations.milvus import MilvusVectorStore
        MilvusVectorStore({str(folder)!r}, {MODEL!r}, {DIM}).close()
        """
    )
    assert other.returncode == 0, other.stderr


def test_factory_opens_milvus_lite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = open_vector_store(settings, "yunet-sface", DIM)
    try:
        assert isinstance(store, MilvusVectorStore)
        assert (tmp_path / "data" / "milvus.db").is_dir()
    finally:
        store.close()


def test_factory_opens_the_server_settings_name(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    with fresh_backend(request, "server", tmp_path) as fresh:
        factory_opens_the_server(fresh, tmp_path)


def factory_opens_the_server(fresh: Backend, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", milvus_uri=fresh.uri, milvus_token=fresh.token)
    store = open_vector_store(settings, "yunet-sface", DIM)
    try:
        assert isinstance(store, MilvusVectorStore) and store.uri == fresh.uri and store.server_version is not None
        assert not (tmp_path / "data" / "milvus.db").exists()
    finally:
        store.close()


def test_a_collection_from_an_older_schema_is_refused_untouched(fresh: Backend) -> None:
    from pymilvus import DataType, MilvusClient

    def client() -> MilvusClient:
        return MilvusClient(fresh.uri) if fresh.name == "lite" else MilvusClient(uri=fresh.uri, token=fresh.token)

    if fresh.name == "lite":
        Path(fresh.uri).parent.mkdir(parents=True)
    old = client()
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("face_id", DataType.INT64, is_primary=True)
    schema.add_field("cluster_id", DataType.INT64)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIM)
    old.create_collection(collection_name_for(MODEL), schema=schema)
    old.close()
    with pytest.raises(ValueError, match="older peoplegraph and lacks the fields .*quality_score"):
        fresh.open()
    after = client()
    assert [f["name"] for f in after.describe_collection(collection_name_for(MODEL))["fields"]] == [
        "face_id", "cluster_id", "embedding"]
    after.close()


def test_a_refused_write_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from peoplegraph.observations.store import StoreWriteError

    store = MilvusVectorStore(str(tmp_path / "milvus.db"), MODEL, DIM)
    faces = make_faces("full", unit_vectors(3, seed=5))
    store.upsert(faces)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    for method in ("upsert", "delete"):
        monkeypatch.setattr(store._client, method, disk_full)
    for write in (lambda: store.upsert(faces), lambda: store.set_clusters("full", {faces[0].face_id: 3}),
                  lambda: store.delete_faces("full", [faces[0].face_id])):
        with pytest.raises(StoreWriteError, match="No space left on device.*peoplegraph repair"):
            write()
    monkeypatch.undo()
    assert store.count("full") == 3
    store.close()


def legacy_collection(fresh: Backend, faces: list[FaceObservation], clusters: list[int]) -> None:
    """A face collection as peoplegraph made them before the membership collection: `cluster_id` on the face
    row, and a copy of the membership collection cut short (`_migrating`) beside it."""
    from pymilvus import DataType, MilvusClient

    if fresh.name == "lite":
        Path(fresh.uri).parent.mkdir(parents=True)
    client = MilvusClient(fresh.uri) if fresh.name == "lite" else MilvusClient(uri=fresh.uri, token=fresh.token)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("face_id", DataType.INT64, is_primary=True)
    schema.add_field("project", DataType.VARCHAR, max_length=128, is_partition_key=True)
    schema.add_field("photo_id", DataType.VARCHAR, max_length=64)
    schema.add_field("box", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=4)
    schema.add_field("landmarks", DataType.ARRAY, element_type=DataType.FLOAT, max_capacity=10)
    schema.add_field("det_score", DataType.FLOAT)
    schema.add_field("cluster_id", DataType.INT64)
    for name in ("yaw", "pitch", "roll", "quality_score"):
        schema.add_field(name, DataType.FLOAT)
    schema.add_field("quality_flags", DataType.INT64)
    schema.add_field("age", DataType.FLOAT)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIM)
    name = collection_name_for(MODEL)
    client.create_collection(name, schema=schema, consistency_level="Strong")
    if fresh.name == "server":
        index = client.prepare_index_params()
        index.add_index("embedding", index_type="FLAT", metric_type="COSINE")
        client.create_index(name, index)
    client.load_collection(name)
    client.insert(name, [{"face_id": f.face_id, "project": f.project, "photo_id": f.photo_id, "box": list(f.box),
                          "landmarks": f.landmarks, "det_score": f.det_score, "cluster_id": cluster, "yaw": 0.0,
                          "pitch": 0.0, "roll": 0.0, "quality_score": 50.0, "quality_flags": 0, "age": -1.0,
                          "embedding": f.embedding.tolist()} for f, cluster in zip(faces, clusters)])
    cut_short = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    cut_short.add_field("face_id", DataType.INT64, is_primary=True)
    cut_short.add_field("marker", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(collection_name_for(MODEL, "clusters_") + "_migrating", schema=cut_short)
    client.close()


def test_an_older_collection_keeps_its_clusters(fresh: Backend) -> None:
    """Cluster ids on the face rows (before the membership collection) are copied once, on open; a copy cut
    short is made again; from then on clusters change in the membership collection alone."""
    faces = make_faces("old", unit_vectors(30, seed=8)) + make_faces("older", unit_vectors(5, seed=9))
    clusters = [i % 4 - 1 for i in range(len(faces))]  # UNCLUSTERED and clusters 0-2
    legacy_collection(fresh, faces, clusters)
    with fresh.open() as store:
        assert store._legacy
        got = {f.face_id: f.cluster_id for p in ("old", "older") for f in store.faces(p)}
        assert got == {f.face_id: c for f, c in zip(faces, clusters)}
        assert [f.face_id for f in store.faces_of_clusters("old", [2])] == sorted(
            f.face_id for f, c in zip(faces[:30], clusters) if c == 2)
        assert len(store.faces("old", only_unclustered=True)) == clusters[:30].count(UNCLUSTERED)
        store.set_clusters("old", {faces[0].face_id: 9})
        new = make_faces("old", unit_vectors(1, seed=10))[0]
        new.face_id, new.cluster_id = 12345, 4
        store.upsert([new])
    with fresh.open() as again:  # copied once: the second open finds the membership collection
        assert {f.face_id: f.cluster_id for f in again.faces_by_id("old", [faces[0].face_id, 12345, faces[1].face_id])} \
            == {faces[0].face_id: 9, 12345: 4, faces[1].face_id: clusters[1]}
        assert not again._client.has_collection(again.membership + "_migrating")


def test_the_body_collection_keeps_projects_apart(backend: Backend) -> None:
    """Bodies (a Milvus 2.3 server writes them by delete and insert): idempotent by id, kept per project,
    read by photo and by id with the embedding below their face, deleted by photo; another dimension refused."""
    rng = np.random.default_rng(0)
    with MilvusBodyStore(backend.uri, "reid-test", 8, token=backend.token) as store:
        rows = [BodyObservation(i, project, f"photo{i % 3}", (0.0, 0.0, 10.0, 20.0), 0.9, i * 10 if i % 2 else NO_FACE,
                                rng.normal(size=8).astype(np.float32),
                                rng.normal(size=8).astype(np.float32) if i % 2 else None)
                for i, project in enumerate(["a"] * 6 + ["b"] * 2)]
        store.upsert(rows)
        store.upsert(rows[:2])  # idempotent by body id
        assert store.count("a") == 6 and store.count("b") == 2
        assert [b.body_id for b in store.bodies("a", photo_ids=["photo0"])] == [0, 3]
        assert [b.face_id for b in store.bodies_by_id("a", [1, 0, 7])] == [10, NO_FACE]  # 7 is b's
        found = store.bodies("a", with_embeddings=True)
        assert np.allclose(found[1].embedding, rows[1].embedding)
        assert np.allclose(found[1].below_face, rows[1].below_face) and found[0].below_face is None
        by_id = store.bodies_by_id("a", [3, 2], with_embeddings=True)
        assert np.allclose(by_id[0].below_face, rows[3].below_face) and by_id[1].below_face is None
        assert store.bodies("a")[1].below_face is None  # read with the embeddings only
        store.upsert([BodyObservation(1, "a", "photo1", (0.0, 0.0, 10.0, 20.0), 0.9, NO_FACE, rows[1].embedding)])
        assert store.bodies_by_id("a", [1], with_embeddings=True)[0].below_face is None  # its face gone: dropped
        store.delete_photos("a", ["photo0"])
        assert [b.body_id for b in store.bodies("a")] == [1, 2, 4, 5]
        assert store.bodies_by_id("a", [3], with_embeddings=True) == []
        store.drop_project("a")
        assert store.count("a") == 0 and store.count("b") == 2
        assert np.allclose(store.bodies("b", with_embeddings=True)[1].below_face, rows[7].below_face)
    with pytest.raises(ValueError, match="dim"):
        MilvusBodyStore(backend.uri, "reid-test", 16, token=backend.token)
