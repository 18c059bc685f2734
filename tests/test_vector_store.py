"""MilvusVectorStore on milvus-lite: round trips, paging past 16,384 rows, cluster updates, search,
project-name validation, persistence across processes and the busy-folder error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from processes import held_by_another_process, run_python
from peoplegraph.observations.factory import open_vector_store
from peoplegraph.observations.milvus import MilvusVectorStore, collection_name_for
from peoplegraph.observations.model import UNCLUSTERED, FaceObservation, face_id_for, validate_project_name
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




@pytest.fixture(scope="module")
def lite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vectors") / "nested" / "milvus.db"


@pytest.fixture(scope="module")
def store(lite_dir: Path) -> Iterator[MilvusVectorStore]:
    with MilvusVectorStore(str(lite_dir), MODEL, DIM) as opened:
        yield opened


def test_folder_created_and_collection_named_per_model(store: MilvusVectorStore, lite_dir: Path) -> None:
    assert lite_dir.is_dir()  # a milvus-lite ".db" is a folder, parents created
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
    store.drop_project("iso-a")
    assert store.count("iso-a") == 0 and store.faces("iso-a") == []
    assert store.count("iso-b") == 7


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


def test_set_clusters_changes_only_cluster_ids(store: MilvusVectorStore) -> None:
    faces = make_faces("clusters", unit_vectors(50, seed=4))
    store.upsert(faces)
    before = {f.face_id: f for f in store.faces("clusters", with_embeddings=True)}
    assignment = {f.face_id: i % 3 for i, f in enumerate(faces[:30])}
    store.set_clusters("clusters", {**assignment, 999: 5})  # an unknown id is ignored, not inserted
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


def test_good_project_names_pass() -> None:
    for good in ("a", "Family-2024", "trip_to.rome", "x" * 128):
        assert validate_project_name(good) == good


def test_dim_mismatch_is_a_clear_error(store: MilvusVectorStore, lite_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"dim: .*8-dimensional.*16-dimensional"):
        MilvusVectorStore(str(lite_dir), MODEL, 16)
    with pytest.raises(ValueError, match="embedding"):
        store.upsert([FaceObservation(1, "p", "x", (0, 0, 1, 1), [0.0] * 10, 0.9, embedding=np.ones(3))])


def test_persists_across_processes_and_reloads(tmp_path: Path) -> None:
    folder = tmp_path / "milvus.db"
    written = run_python(
        f"""
        import numpy as np
        from peoplegraph.observations.milvus import MilvusVectorStore
        from peoplegraph.observations.model import FaceObservation
        store = MilvusVectorStore({str(folder)!r}, {MODEL!r}, {DIM})
        store.upsert([FaceObservation(i + 1, "persist", "ph", (1, 2, 3, 4), [0.0] * 10, 0.9, 7,
                                      np.eye({DIM}, dtype=np.float32)[i]) for i in range(3)])
        store.close()
        print("written")
        """
    )
    assert written.returncode == 0, written.stderr
    with MilvusVectorStore(str(folder), MODEL, DIM) as store:  # a fresh process: loads before searching
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


def test_a_collection_from_an_older_schema_is_refused_untouched(tmp_path: Path) -> None:
    from pymilvus import DataType, MilvusClient

    from peoplegraph.observations.milvus import collection_name_for

    uri = str(tmp_path / "old" / "milvus.db")
    (tmp_path / "old").mkdir()
    client = MilvusClient(uri)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("face_id", DataType.INT64, is_primary=True)
    schema.add_field("cluster_id", DataType.INT64)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=DIM)
    client.create_collection(collection_name_for(MODEL), schema=schema)
    client.close()
    with pytest.raises(ValueError, match="older peoplegraph and lacks the fields .*quality_score"):
        MilvusVectorStore(uri, MODEL, DIM)
