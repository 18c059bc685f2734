"""The face index: columns of every face in memory and in files, kept in step with the store by
`IndexedVectorStore`, rebuilt from the store when it cannot be trusted; exact and inverted-list search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import peoplegraph.observations.face_index as face_index
from peoplegraph.observations.face_index import FaceIndex, ProjectFaces
from peoplegraph.observations.indexed import IndexedVectorStore
from peoplegraph.observations.model import UNCLUSTERED, FaceObservation
from peoplegraph.observations.store import StoreBusyError
from synthetic_runtime import MemoryVectors

DIM = 16


def _faces(ids: range, seed: int = 0, people: int = 50) -> list[FaceObservation]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, DIM))
    out = []
    for i in ids:
        e = centres[i % people] + 0.3 * rng.normal(size=DIM)
        out.append(FaceObservation(i, "p", f"{i // 2:064x}", (0.0, 0.0, 60.0, 60.0), [0.0] * 10, 0.9, UNCLUSTERED,
                                   (e / np.linalg.norm(e)).astype(np.float32), quality_score=80.0))
    return out


def test_rows_members_and_exact_nearest() -> None:
    faces = ProjectFaces.of(_faces(range(100, 400)))
    assert faces.rows([105, 99, 399]).tolist() == [5, -1, 299]
    faces.cluster_ids[[3, 7, 9]] = 4
    assert faces.members([4, UNCLUSTERED]).tolist() == [3, 7, 9]
    rows, sims = faces.nearest(faces.embeddings[:5], 3)
    brute = faces.embeddings[:5] @ faces.embeddings.T
    assert (rows[:, 0] == np.arange(5)).all()  # each face is its own nearest
    assert np.allclose(sims, -np.sort(-brute, axis=1)[:, :3], atol=1e-6)
    among = np.zeros(len(faces), bool)
    among[[3, 7, 9]] = True
    rows, sims = faces.nearest(faces.embeddings[:2], 5, among=among)
    assert set(rows[0][rows[0] >= 0].tolist()) == {3, 7, 9} and np.isinf(sims[0][3:]).all()


def test_saved_index_reloads_and_a_dirty_one_is_not_trusted(tmp_path: Path) -> None:
    index = FaceIndex(tmp_path, DIM)
    index.replace("p", ProjectFaces.of(_faces(range(50))))
    for start in range(50, 50 + 40 * 5, 5):  # more appends than MAX_PARTS: the parts are merged
        index.mark_dirty("p")
        index.append("p", ProjectFaces.of(_faces(range(start, start + 5))))
        index.clear_dirty("p")
    index._loaded["p"].cluster_ids[:10] = 7
    index.save_clusters("p")
    assert len(list((tmp_path / "p").glob("part-*.npz"))) <= face_index.MAX_PARTS
    with pytest.raises(StoreBusyError, match="PEOPLEGRAPH_FACE_INDEX_DIR"):  # one process per folder
        FaceIndex(tmp_path, DIM)
    index.mark_dirty("p")  # a write that never finished
    index.close()
    assert FaceIndex(tmp_path, DIM).cached("p") is None
    index = FaceIndex(tmp_path, DIM)
    index.clear_dirty("p")
    again = index.cached("p")
    assert again is not None and len(again) == 250 and again.face_ids.tolist() == list(range(250))
    assert again.cluster_ids[:10].tolist() == [7] * 10 and again.photo_id(3) == f"{1:064x}"
    index.close()
    assert FaceIndex(tmp_path / "other", DIM + 1).cached("q") is None


def test_large_projects_search_inverted_lists_that_survive_a_restart(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(face_index, "EXACT_LIMIT", 1000)
    everyone = _faces(range(5000), people=400)
    exact = ProjectFaces.of(everyone)
    index = FaceIndex(tmp_path, DIM)
    faces = index.replace("p", ProjectFaces.of(everyone[:4000]))
    index.append("p", ProjectFaces.of(everyone[4000:]))
    assert faces.lists is not None and faces.lists.assignment.size == 5000
    want, _ = exact.nearest(exact.embeddings[::50], 10)
    got, _ = faces.nearest(exact.embeddings[::50], 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want.tolist(), got.tolist())])
    assert recall >= 0.95
    index.close()
    reloaded = FaceIndex(tmp_path, DIM).cached("p")
    assert reloaded.lists is not None and np.array_equal(reloaded.lists.assignment, faces.lists.assignment)
    # each query finds the best of its own lists' rows (among those the mask allows)
    queries, among = exact.embeddings[::7], np.arange(5000) % 3 != 0
    for mask in (None, among):
        got, got_sims = faces.nearest(queries, 10, among=mask)
        for query, row, sim in zip(queries, got, got_sims):
            alone = faces.lists.rows_of(faces.lists.probes(query)[0])
            alone = alone[mask[alone]] if mask is not None else alone
            best = alone[np.argsort(-(faces.embeddings[alone] @ query), kind="stable")[:10]]
            assert set(row.tolist()) == set(best.tolist())
            assert np.allclose(sim, np.sort(faces.embeddings[best] @ query)[::-1], atol=1e-5)


def test_the_indexed_store_keeps_the_index_in_step_and_rebuilds_it(tmp_path: Path) -> None:
    store = MemoryVectors(DIM)
    vectors = IndexedVectorStore(store, tmp_path)
    vectors.upsert(_faces(range(20)))
    vectors.set_clusters("p", {3: 1, 4: 1, 999: 2})  # an unknown id changes nothing
    faces = vectors.project_faces("p")
    assert len(faces) == 20 and faces.cluster_ids[[3, 4]].tolist() == [1, 1]
    assert [f.face_id for f in vectors.faces_of_clusters("p", [1])] == [3, 4]
    vectors.upsert(_faces(range(15, 25)))  # five known, five new
    assert len(vectors.project_faces("p")) == 25
    # a process that died between the store write and the index write: the next one reads the store again
    vectors.index.mark_dirty("p")
    vectors.index.close()
    store.set_clusters("p", {5: 8})
    fresh = IndexedVectorStore(store, tmp_path)
    assert fresh.project_faces("p").cluster_ids[fresh.project_faces("p").rows([5])].tolist() == [8]
    fresh.index.close()
    # an index that lost rows (an older copy of the folder) is rebuilt too
    store.upsert(_faces(range(25, 30)))
    vectors = IndexedVectorStore(store, tmp_path)
    assert len(vectors.project_faces("p")) == 30
    vectors.drop_project("p")
    assert not (tmp_path / "faces_synthetic" / "p").exists()


class _CountedVectors(MemoryVectors):
    """Records the per-project counts asked of it (slow in milvus-lite)."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.counted: list[str] = []

    def count(self, project: str) -> int:
        self.counted.append(project)
        return super().count(project)


def test_a_store_that_agrees_as_a_whole_is_not_counted_project_by_project(tmp_path: Path) -> None:
    store = _CountedVectors(DIM)
    writer = IndexedVectorStore(store, tmp_path)
    writer.upsert(_faces(range(20)))
    writer.index.close()
    reader = IndexedVectorStore(store, tmp_path)
    assert len(reader.project_faces("p")) == 20 and store.counted == []
    reader.index.close()
    # faces written without the index: the totals differ, the project is counted and read again
    store.upsert(_faces(range(20, 23)))
    reader = IndexedVectorStore(store, tmp_path)
    assert len(reader.project_faces("p")) == 23 and store.counted == ["p"]
    reader.index.close()


def test_a_server_or_worker_loads_every_project_index_while_it_runs(tmp_path: Path) -> None:
    import time
    import types

    from peoplegraph.services.runtime import face_index_warming
    from synthetic_runtime import PROJECT, synthetic_runtime

    built = synthetic_runtime(tmp_path, [4, 3])
    built.vectors.index.close()
    for warm in (False, True):  # a process starting on the same stores, with the setting off, then on
        vectors = IndexedVectorStore(built.vectors._store, tmp_path / "face-index")
        starting = types.SimpleNamespace(graph=built.graph, vectors=vectors,
                                         settings=types.SimpleNamespace(warm_face_index=warm))
        with face_index_warming(starting):
            deadline = time.monotonic() + (30 if warm else 1)
            while PROJECT not in vectors.index._loaded and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (PROJECT in vectors.index._loaded) is warm
        vectors.index.close()
    assert len(vectors.index._loaded[PROJECT]) == 7
    built.graph.close()
