"""`ProjectFaces` and `FaceIndex`: the columns of a project's faces that clustering, matching and search read
in bulk, held in memory and in files beside the vector store.

Why a second copy: milvus-lite answers bulk reads and filtered queries by scanning rows in Python (reading
100k faces back took tens of seconds, one search about 100 ms at 100k rows), and every interactive step
needs the cluster of the faces near the ones it touches. The vector store stays the record: each face and
its `cluster_id` are written there, once per change. This index is a cache of it that `IndexedVectorStore`
updates on every write going through it, and that is rebuilt from the store when it is missing, when a
write was cut short (the `DIRTY` mark is set before a store write and cleared after the index is saved),
or when its row count differs from the store's.

Files, in DATA_DIR/face-index/<collection>/<project>/:
- part-N.npz: the faces one upsert appended (ids, photos, boxes, scores, quality, embeddings); never
  rewritten, merged into one when there are more than `MAX_PARTS`;
- clusters.npy: the cluster of every row, rewritten whole on a change (8 bytes a face: 8 MB at 1M);
- manifest.json: the parts, rows and dimension; DIRTY: a write in progress.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from peoplegraph.atomic import atomic_save, atomic_write
from peoplegraph.engine.cluster import EXACT_LIMIT
from peoplegraph.observations.inverted_lists import InvertedLists
from peoplegraph.observations.model import UNCLUSTERED, FaceObservation
from peoplegraph.observations.store import StoreBusyError

MAX_PARTS = 32
LOCK_FILE = ".lock"  # held (flock) by the one process using the folder (no project name starts with a dot)
# Largest (queries x faces) float32 similarity block computed at once by `nearest`.
BLOCK_BYTES = 64 * 1024 * 1024
_COLUMNS = ("face_ids", "photo_ids", "boxes", "det_scores", "quality", "embeddings")


@dataclass
class ProjectFaces:
    """Every face of a project as columns, row i the same face in each; `cluster_ids` is the only mutable
    one."""

    face_ids: np.ndarray  # int64 (n,)
    photo_ids: np.ndarray  # bytes (n,): the photo's sha256 in hex
    boxes: np.ndarray  # float32 (n, 4): x1, y1, x2, y2
    det_scores: np.ndarray  # float32 (n,)
    quality: np.ndarray  # float32 (n,): quality score 0-100
    embeddings: np.ndarray  # float32 (n, d), L2-normalised
    cluster_ids: np.ndarray  # int64 (n,)
    lists: InvertedLists | None = field(default=None, repr=False)  # large projects only (`index_lists`)
    _order: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, dim: int) -> ProjectFaces:
        return cls(np.zeros(0, np.int64), np.zeros(0, "S64"), np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.float32), np.zeros((0, dim), np.float32), np.zeros(0, np.int64))

    @classmethod
    def of(cls, faces: Sequence[FaceObservation], dim: int | None = None) -> ProjectFaces:
        """Columns of observations that carry their embeddings."""
        if not faces:
            return cls.empty(dim or 1)
        return cls(
            np.array([f.face_id for f in faces], np.int64),
            np.array([f.photo_id.encode() for f in faces], "S64"),
            np.array([f.box for f in faces], np.float32).reshape(-1, 4),
            np.array([f.det_score for f in faces], np.float32),
            np.array([f.quality_score for f in faces], np.float32),
            np.stack([np.asarray(f.embedding, np.float32).reshape(-1) for f in faces]),
            np.array([f.cluster_id for f in faces], np.int64),
        )

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> ProjectFaces:
        return cls(*(columns[name] for name in (*_COLUMNS, "cluster_ids")))

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in (*_COLUMNS, "cluster_ids")}

    def __len__(self) -> int:
        return int(self.face_ids.size)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def photo_id(self, row: int) -> str:
        return self.photo_ids[row].decode()

    def rows(self, face_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The row of each face id, -1 for ids the project does not have."""
        wanted = np.asarray(face_ids, np.int64).reshape(-1)
        if self._order is None:
            self._order = np.argsort(self.face_ids, kind="stable")
        if not len(self) or not wanted.size:
            return np.full(wanted.size, -1, np.int64)
        at = np.minimum(np.searchsorted(self.face_ids, wanted, sorter=self._order), len(self) - 1)
        found = self._order[at]
        return np.where(self.face_ids[found] == wanted, found, -1).astype(np.int64)

    def members(self, cluster_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The rows of the faces in any of these clusters, in row order."""
        wanted = np.asarray(list(cluster_ids), np.int64)
        wanted = wanted[wanted != UNCLUSTERED]
        if not wanted.size:
            return np.zeros(0, np.int64)
        return np.flatnonzero(np.isin(self.cluster_ids, wanted))

    def nearest(self, queries: np.ndarray, k: int, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each query vector, the rows of its `k` most similar faces, best first, and the similarities;
        only rows where the boolean mask `among` holds, when given. Exact, or from the inverted lists when the
        project has them (past `EXACT_LIMIT` faces, as the clustering's own k-NN graph). Missing places are
        -1 with similarity -inf."""
        q = np.asarray(queries, np.float32).reshape(-1, self.dim)
        k = max(0, min(int(k), len(self)))
        rows = np.full((len(q), k), -1, np.int64)
        sims = np.full((len(q), k), -np.inf, np.float32)
        if not k or not len(q):
            return rows, sims
        if self.lists is not None:
            self._nearest_in_lists(q, k, among, rows, sims)
            return rows, sims
        step = max(1, BLOCK_BYTES // (4 * len(self)))
        for start in range(0, len(q), step):
            block = q[start:start + step] @ self.embeddings.T
            if among is not None:
                block[:, ~among] = -np.inf
            top = np.argpartition(-block, k - 1, axis=1)[:, :k] if k < block.shape[1] else np.tile(
                np.arange(block.shape[1]), (len(block), 1))
            top_sims = np.take_along_axis(block, top, axis=1)
            order = np.argsort(-top_sims, axis=1, kind="stable")
            top, top_sims = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sims, order, axis=1)
            rows[start:start + len(block)] = np.where(np.isfinite(top_sims), top, -1)
            sims[start:start + len(block)] = top_sims
        return rows, sims

    def _nearest_in_lists(self, q: np.ndarray, k: int, among: np.ndarray | None, rows: np.ndarray,
                          sims: np.ndarray) -> None:
        """`nearest` through the inverted lists: each query against the rows of its own probed lists. (Taking
        queries in blocks against their lists' rows at once measured no faster at 1M faces: one person's
        faces probe over 300 of the 790 lists.)"""
        assert self.lists is not None
        for i, probes in enumerate(self.lists.probes(q)):
            found = self.lists.rows_of(probes)
            if among is not None:
                found = found[among[found]]
            kk = min(k, found.size)
            if not kk:
                continue
            similarity = self.embeddings[found] @ q[i]
            top = np.argpartition(-similarity, kk - 1)[:kk] if kk < found.size else np.arange(found.size)
            top = top[np.argsort(-similarity[top], kind="stable")]
            rows[i, :kk], sims[i, :kk] = found[top], similarity[top]

    def append(self, other: ProjectFaces) -> None:
        for name in (*_COLUMNS, "cluster_ids"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))
        if self.lists is not None:
            self.lists.add(other.embeddings)
        self._order = None

    def index_lists(self, lists: InvertedLists | None = None) -> bool:
        """Give a project past `EXACT_LIMIT` faces its inverted lists (these, or trained now; again when it
        outgrew them); True when they were trained here."""
        if len(self) <= EXACT_LIMIT:
            self.lists = None
            return False
        if lists is not None and lists.assignment.size == len(self) and not lists.stale(len(self)):
            self.lists = lists
            return False
        if self.lists is not None and not self.lists.stale(len(self)):
            return False
        self.lists = InvertedLists.train(self.embeddings)
        return True

    def select(self, rows: np.ndarray) -> ProjectFaces:
        return ProjectFaces(*(getattr(self, name)[rows] for name in (*_COLUMNS, "cluster_ids")))


class FaceIndex:
    """The `ProjectFaces` of each project of one collection, loaded once per process and kept in step with
    the files in `folder`."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder = Path(folder)
        self.dim = int(dim)
        self._loaded: dict[str, ProjectFaces] = {}
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(lock)
            raise StoreBusyError(
                f"the face index {self.folder} is in use by another process: give each process that shares "
                "DATA_DIR its own PEOPLEGRAPH_FACE_INDEX_DIR") from None
        self._release = weakref.finalize(self, os.close, lock)  # closing the file releases the lock

    def close(self) -> None:
        """Release the folder for another process."""
        self._release()

    def _dir(self, project: str) -> Path:
        return self.folder / project

    def cached(self, project: str) -> ProjectFaces | None:
        """The project's faces in memory, or as last saved, or None when there is nothing trustworthy (no
        files, or a write that never finished)."""
        if project in self._loaded:
            return self._loaded[project]
        folder = self._dir(project)
        if (folder / "DIRTY").exists() or not (folder / "manifest.json").exists():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if int(manifest["dim"]) != self.dim:
                return None
            faces = _read_parts([folder / name for name in manifest["parts"]], int(manifest["rows"]), self.dim)
            if faces is None:
                return None
            faces.cluster_ids = np.load(folder / "clusters.npy")
            if faces.cluster_ids.size != len(faces):
                return None
        except (OSError, ValueError, KeyError):
            return None
        lists = None
        if (folder / "centroids.npy").exists() and (folder / "lists.npy").exists():
            lists = InvertedLists(np.load(folder / "centroids.npy"), np.load(folder / "lists.npy"),
                                  int(manifest.get("lists_trained_rows", 0)))
        if faces.index_lists(lists):
            self._save_lists(project, faces)
        self._loaded[project] = faces
        return faces

    def total_rows(self) -> int:
        """The faces of every project this folder indexes, as saved (the projects' manifests)."""
        total = 0
        for manifest in self.folder.glob("*/manifest.json"):
            with contextlib.suppress(OSError, ValueError, KeyError):
                total += int(json.loads(manifest.read_text())["rows"])
        return total

    def replace(self, project: str, faces: ProjectFaces) -> ProjectFaces:
        """Make `faces` (read from the store) the project's index, on disk as one part."""
        shutil.rmtree(self._dir(project), ignore_errors=True)
        self._dir(project).mkdir(parents=True, exist_ok=True)
        self.mark_dirty(project)
        self._loaded[project] = faces
        faces.index_lists()
        self._write_part(project, faces, [])
        self._save_lists(project, faces)
        self.save_clusters(project)
        self.clear_dirty(project)
        return faces

    def mark_dirty(self, project: str) -> None:
        folder = self._dir(project)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "DIRTY").touch()

    def clear_dirty(self, project: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._dir(project) / "DIRTY").unlink()

    def append(self, project: str, faces: ProjectFaces) -> None:
        """Add new faces (ids the index does not hold) and save them as a part; merges the parts when there
        are too many."""
        current = self._loaded[project]
        current.append(faces)
        current.index_lists()
        self._save_lists(project, current)
        manifest = self._manifest(project)
        if len(manifest["parts"]) >= MAX_PARTS:
            self._write_part(project, current, manifest["parts"])
        else:
            self._write_part(project, faces, manifest["parts"], keep=True)
        self.save_clusters(project)

    def save_clusters(self, project: str) -> None:
        folder = self._dir(project)
        atomic_save(folder / "clusters.npy", lambda f: np.save(f, self._loaded[project].cluster_ids))
        manifest = self._manifest(project)
        manifest["rows"] = len(self._loaded[project])
        atomic_write(folder / "manifest.json", json.dumps(manifest).encode())

    def _save_lists(self, project: str, faces: ProjectFaces) -> None:
        folder = self._dir(project)
        if faces.lists is None:
            for name in ("centroids.npy", "lists.npy"):
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
            return
        atomic_save(folder / "centroids.npy", lambda f: np.save(f, faces.lists.centroids))
        atomic_save(folder / "lists.npy", lambda f: np.save(f, faces.lists.assignment))
        manifest = {**self._manifest(project), "lists_trained_rows": faces.lists.trained_rows}
        atomic_write(folder / "manifest.json", json.dumps(manifest).encode())

    def journal_position(self, project: str) -> str:
        """The last entry of the change journal this index holds ("0-0": none)."""
        return str(self._manifest(project).get("journal", "0-0"))

    def set_journal_position(self, project: str, entry: str) -> None:
        manifest = {**self._manifest(project), "journal": entry or "0-0"}
        atomic_write(self._dir(project) / "manifest.json", json.dumps(manifest).encode())

    def forget(self, project: str) -> None:
        self._loaded.pop(project, None)
        shutil.rmtree(self._dir(project), ignore_errors=True)

    def _manifest(self, project: str) -> dict:
        path = self._dir(project) / "manifest.json"
        if path.exists():
            return json.loads(path.read_text())
        return {"parts": [], "rows": 0, "dim": self.dim}

    def _write_part(self, project: str, faces: ProjectFaces, old_parts: list[str], keep: bool = False) -> None:
        folder = self._dir(project)
        number = max([int(p.split("-")[1].split(".")[0]) for p in old_parts], default=0) + 1
        name = f"part-{number:06d}.npz"
        atomic_save(folder / name, lambda f: np.savez(f, **{c: getattr(faces, c) for c in _COLUMNS}))
        parts = [*old_parts, name] if keep else [name]
        manifest = {**self._manifest(project), "parts": parts, "rows": len(self._loaded[project]), "dim": self.dim}
        atomic_write(folder / "manifest.json", json.dumps(manifest).encode())
        if not keep:
            for old in old_parts:
                with contextlib.suppress(FileNotFoundError):
                    (folder / old).unlink()


def _read_parts(paths: list[Path], rows: int, dim: int) -> ProjectFaces | None:
    """The parts' columns (not the clusters), read one part at a time into columns of `rows` rows (no second copy of a large
    project's embeddings while they are joined); None when the parts do not hold `rows` rows."""
    faces = ProjectFaces.empty(dim)
    columns: dict[str, np.ndarray] = {}
    at = 0
    for path in paths:
        with np.load(path) as part:
            for name in _COLUMNS:
                piece = part[name]
                if name not in columns:
                    columns[name] = np.empty((rows, *piece.shape[1:]), piece.dtype)
                if at + len(piece) > rows:
                    return None
                columns[name][at:at + len(piece)] = piece
            at += len(piece)
    if at != rows:
        return None
    for name, column in columns.items():
        setattr(faces, name, column)
    return faces  # clusters: the caller's (clusters.npy)
