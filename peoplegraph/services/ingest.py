"""Ingest: photo files in, face observations (vector store) and photo records (graph) out.

A small thread pool reads, decodes and detects the next photos while the caller embeds and describes
this one, so both cores stay busy (onnxruntime releases the GIL); writes are batched. Faces are written
before their photo record: a crash in between leaves a photo that the next ingest processes again, and
deterministic face ids make that re-run add nothing twice.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from peoplegraph.engine.analysis import describe_faces, detect_faces
from peoplegraph.engine.decode import (IMAGE_SUFFIXES, DecodedImage, ImageRejected, decode_for_detection,
                                       read_photo_file, sha256_of)
from peoplegraph.engine.faces import Detections
from peoplegraph.metadata.files import SIDECAR_SUFFIXES, PhotoPeople, photo_people
from peoplegraph.identity.records import PhotoRecord
from peoplegraph.observations.model import (UNCLUSTERED, UNKNOWN_AGE, BodyObservation, FaceObservation, face_id_for,
                                            validate_project_name)
from peoplegraph.observations.store import StoreWriteError
from peoplegraph.services.bodies import PeopleFound
from peoplegraph.services.file_names import file_path, stored_name
from peoplegraph.services.runtime import Runtime

log = logging.getLogger(__name__)

ProgressCallback = Callable[["IngestReport", int], None]
# Photos whose faces are written to the stores in one go: fewer, larger writes, little lost work on a crash.
WRITE_BATCH = 64
# Threads that read, decode and detect ahead of the caller. On 2 cores, 2 beat 1 by about 8 % on the
# bench/ingest_speed.py photos (17.4-17.6 s against 18.8-19.8 s for 500 photos); more only queue.
PREFETCH_THREADS = 2


@dataclass(frozen=True)
class PhotoSource:
    """A photo to ingest: a file on disk, or bytes received by the API under a display name (`stored_name`
    of the file's)."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    # what the photo's record keeps: a file's absolute path (found again from any folder: the original, its
    # sidecar), or the name an upload came with ("": the name)
    record_path: str = ""

    def read(self, max_bytes: int) -> bytes:
        """The photo's bytes (`ImageRejected` for what is not a regular file or is too large)."""
        if self.data is not None:
            return self.data
        assert self.path is not None
        return read_photo_file(self.path, self.name, max_bytes)

    @classmethod
    def of_file(cls, path: Path) -> PhotoSource:
        return cls(name=stored_name(path), path=path, record_path=stored_name(path.absolute()))


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class PhotoNote:
    """A photo stored with something left out: page 1 of several, an EXIF date not believed."""

    path: str
    note: str


NO_SUCH_PATH = "no such file or folder"  # a path named to ingest that is not there (a typo)
UNREADABLE_FOLDER = "cannot read folder"


@dataclass
class IngestReport:
    photos: int = 0  # photos seen (readable images, new or already stored)
    new_photos: int = 0
    faces: int = 0  # faces found in the new photos
    bodies: int = 0  # people's bodies found (with `body_reid`), in new photos and in those stored before it
    skipped: list[SkippedFile] = field(default_factory=list)
    notes: list[PhotoNote] = field(default_factory=list)
    # photos stored before, found at another path while no file is left where they were recorded (a folder
    # reorganised): "old path -> new path", the new one recorded
    moved: list[str] = field(default_factory=list)
    # the faces clustering and matching place: the new ones, and those of photos already stored that a run
    # stopped part way (killed between storing and placing them) left without a cluster
    face_ids: list[int] = field(default_factory=list, repr=False)
    photo_ids: list[str] = field(default_factory=list, repr=False)  # every photo seen, new or stored before
    # who the XMP of the photos seen names (with `read_metadata`): read while each photo's bytes were in hand
    named: list[PhotoPeople] = field(default_factory=list, repr=False)

    @property
    def processed(self) -> int:
        return self.photos + len(self.skipped)

    def to_dict(self) -> dict:
        out = asdict(self)
        del out["face_ids"], out["photo_ids"], out["named"]
        return out


def collect_sources(paths: Iterable[Path], report: IngestReport) -> list[PhotoSource]:
    """Files named directly are always tried (what is not a regular file is refused with its reason when it
    is read); folders are walked recursively for image suffixes."""
    sources: list[PhotoSource] = []
    for path in paths:
        if path.is_dir():
            sources.extend(PhotoSource.of_file(p) for p in walk_images(path, report.skipped))
        elif os.path.lexists(path):
            sources.append(PhotoSource.of_file(path))
        else:
            report.skipped.append(SkippedFile(stored_name(path), NO_SUCH_PATH))
    return sources


def walk_images(folder: Path, skipped: list[SkippedFile] | None = None) -> Iterator[Path]:
    """The photos under `folder` by suffix, hidden files and folders left out; files of other formats and
    folders that cannot be read are added to `skipped` with the reason, when given."""

    def unreadable(error: OSError) -> None:
        if skipped is not None:
            skipped.append(SkippedFile(stored_name(error.filename or folder),
                                       f"{UNREADABLE_FOLDER}: {error.strerror or error}"))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            suffix = Path(name).suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                yield Path(root) / name
            elif suffix in SIDECAR_SUFFIXES:
                continue  # a photo's XMP, read with the photo
            elif skipped is not None:
                skipped.append(SkippedFile(stored_name(Path(root) / name),
                                           f"not a photo format peoplegraph reads ({suffix or 'no suffix'})"))


class DiskSpaceError(OSError):
    """Too little free disk to write the next batch safely: ingest stops before writing it."""


def ensure_free_disk(settings) -> None:
    """Refuse to write below the `min_free_disk_mb` margin: a store that fills the disk mid-write is the way
    a library gets damaged (the embedded graph's log cut short)."""
    margin = settings.min_free_disk_mb
    if not margin:
        return
    folder = settings.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free // 2**20
    if free < margin:
        raise DiskSpaceError(f"only {free} MiB free on the disk of {folder}, below the {margin} MiB margin "
                             "(PEOPLEGRAPH_MIN_FREE_DISK_MB): ingest stopped before its next write. The photos "
                             "stored so far are kept; free some space and run the same ingest again.")


def _refused_photos(graph, photos: Sequence[PhotoRecord]) -> list[PhotoRecord]:
    """Write the photos one at a time; those the graph refuses."""
    refused = []
    for photo in photos:
        try:
            graph.add_photos([photo])
        except Exception:
            log.exception("the graph store refused photo %s", photo.path)
            refused.append(photo)
    return refused


@dataclass
class _Prepared:
    source: PhotoSource
    photo_id: str | None = None
    image: DecodedImage | None = None
    detections: Detections | None = None
    rejected: str | None = None
    known: bool = False
    data: bytes | None = field(default=None, repr=False)
    named: PhotoPeople | None = None  # who its XMP names (with `read_metadata`)
    people: PeopleFound | None = None  # its people's bodies (with `body_reid`), for a photo not yet looked at


T = TypeVar("T")
R = TypeVar("R")
_END = object()


def in_order_ahead(work: Callable[[T], R], items: Iterable[T], workers: int = PREFETCH_THREADS) -> Iterator[R]:
    """`work` on each item in worker threads, a few items ahead of the caller, answers in the items' order."""
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        queue: list[Future[R]] = []
        iterator = iter(items)
        for item in iterator:
            queue.append(pool.submit(work, item))
            if len(queue) >= workers * 2:
                break
        while queue:
            done = queue.pop(0).result()
            nxt = next(iterator, _END)
            if nxt is not _END:
                queue.append(pool.submit(work, nxt))
            yield done


def decode_and_detect(runtime: Runtime, data: bytes | Path, name: str) -> tuple[DecodedImage, Detections]:
    """A photo decoded as the viewer sees it (reduced for detection) and its faces found; ImageRejected with
    the reason when it cannot be, detection failures included (one bad photo must not stop a batch)."""
    settings = runtime.settings
    image = decode_for_detection(settings, data, name)
    try:
        return image, detect_faces(runtime.pack, image, settings, runtime.detection_threshold)
    except Exception as exc:
        log.exception("detecting faces in %s failed", name)
        raise ImageRejected(name, f"processing failed: {exc}") from exc


class IngestService:
    """`keep_originals`: keep each photo's bytes in the media store (uploads: the sender keeps no copy
    peoplegraph could read again), before its photo record is written."""

    def __init__(self, runtime: Runtime, *, write_batch: int = WRITE_BATCH,
                 decode_workers: int = PREFETCH_THREADS, keep_originals: bool = False,
                 read_metadata: bool = False) -> None:
        self.runtime = runtime
        self.write_batch = write_batch
        self.decode_workers = decode_workers
        self.keep_originals = keep_originals
        self.read_metadata = read_metadata  # who each photo's XMP names, into the report's `named`
        self._body_model = ""  # with `body_reid`: the body model ingest finds bodies with
        self._scanned: set[str] = set()  # the photos that model has looked at

    def ingest(
        self, project: str, sources: Sequence[PhotoSource], progress: ProgressCallback | None = None,
        report: IngestReport | None = None,
    ) -> IngestReport:
        validate_project_name(project)
        report = report or IngestReport()
        runtime = self.runtime
        ensure_free_disk(runtime.settings)
        vectors, graph = runtime.vectors, runtime.graph  # opening the vectors prepares the pack
        with runtime.locks.hold(project):  # a write like any other (on Neo4j it could deadlock with one)
            graph.ensure_project(project)
            vectors.check(project, writing=True)  # the project's face model: this pack's, or refused here
        if runtime.settings.body_reid:
            self._body_model = runtime.body_scanner.model_id
            self._scanned = graph.body_scanned(project, self._body_model)
        pending_faces: list[FaceObservation] = []
        pending_photos: list[PhotoRecord] = []
        pending_bodies: list[BodyObservation] = []
        rescanned: list[str] = []  # photos stored before, whose bodies are found now (not yet written)
        rescanned_now: set[str] = set()
        seen_now: set[str] = set()
        known: set[str] = set()
        found_at: dict[str, str] = {}  # stored photos seen again: the path of their file now

        def flush() -> None:
            if not pending_photos and not rescanned:
                return
            ensure_free_disk(runtime.settings)
            with runtime.locks.hold(project):
                # another process may have stored some of these photos since they were read: keep its faces
                fresh = {p.photo_id for p in pending_photos} - {p.photo_id for p in graph.photos_by_id(
                    project, [p.photo_id for p in pending_photos])}
                faces = [f for f in pending_faces if f.photo_id in fresh]
                if faces:
                    try:
                        vectors.upsert(faces)
                    except StoreWriteError:  # part of the batch may be written: take it back if the store lets us
                        with contextlib.suppress(Exception):
                            vectors.delete_faces(project, [f.face_id for f in faces])
                        raise  # what is left, `repair` removes (faces without their photo)
                photos = [p for p in pending_photos if p.photo_id in fresh]
                looked_at = [p.photo_id for p in photos] + rescanned
                bodies = [b for b in pending_bodies if b.photo_id in fresh or b.photo_id in rescanned]
                if bodies:
                    runtime.bodies.upsert(bodies)
                try:
                    graph.add_photos(photos)
                except Exception:  # one photo the graph refuses must not lose the batch: each alone
                    log.exception("writing %d photos to the graph failed; writing them one by one", len(photos))
                    for refused in _refused_photos(graph, photos):
                        gone = {f.face_id for f in faces if f.photo_id == refused.photo_id}
                        vectors.delete_faces(project, sorted(gone))
                        report.skipped.append(SkippedFile(refused.path, "the graph store refused the photo"))
                        report.photos, report.new_photos = report.photos - 1, report.new_photos - 1
                        report.faces -= len(gone)
                        report.face_ids = [f for f in report.face_ids if f not in gone]
                        looked_at.remove(refused.photo_id)
                        if bodies:
                            runtime.bodies.delete_photos(project, [refused.photo_id])
                if self._body_model:
                    graph.set_body_model(project, looked_at, self._body_model)
            pending_faces.clear()
            pending_photos.clear()
            pending_bodies.clear()
            rescanned.clear()

        total = len(sources) + len(report.skipped)
        for prepared in self._prepare_ahead(project, sources):
            name = prepared.source.name
            if prepared.rejected is not None:
                report.skipped.append(SkippedFile(name, prepared.rejected))
            elif prepared.known or prepared.photo_id in seen_now:
                self._keep(project, prepared)
                if prepared.known:
                    known.add(prepared.photo_id)
                    if prepared.source.record_path:
                        found_at[prepared.photo_id] = prepared.source.record_path
                    report.photo_ids.append(prepared.photo_id)
                    self._named(report, prepared)
                    if prepared.people is not None and prepared.photo_id not in rescanned_now:
                        rescanned_now.add(prepared.photo_id)  # the same file twice in one run: once
                        stored = runtime.vectors.faces_of_photo(project, prepared.photo_id)
                        pending_bodies.extend(runtime.body_scanner.observations(
                            project, prepared.photo_id, prepared.people, [f.box for f in stored],
                            [f.face_id for f in stored]))
                        report.bodies += len(prepared.people.boxes)
                        rescanned.append(prepared.photo_id)
                        if len(rescanned) >= self.write_batch:
                            flush()
                report.photos += 1
            else:
                assert prepared.image is not None and prepared.photo_id is not None
                try:
                    faces = self._observe(project, prepared.photo_id, prepared.image, prepared.detections)
                except Exception as exc:  # one bad photo must not stop the batch
                    log.exception("processing %s failed", name)
                    report.skipped.append(SkippedFile(name, f"processing failed: {exc}"))
                else:
                    self._keep(project, prepared)
                    if prepared.image.note:
                        report.notes.append(PhotoNote(name, prepared.image.note))
                    seen_now.add(prepared.photo_id)
                    report.photo_ids.append(prepared.photo_id)
                    self._named(report, prepared)
                    report.photos += 1
                    report.new_photos += 1
                    report.faces += len(faces)
                    report.face_ids.extend(f.face_id for f in faces)
                    pending_faces.extend(faces)
                    if prepared.people is not None:
                        pending_bodies.extend(runtime.body_scanner.observations(
                            project, prepared.photo_id, prepared.people, [f.box for f in faces],
                            [f.face_id for f in faces]))
                        report.bodies += len(prepared.people.boxes)
                    pending_photos.append(
                        PhotoRecord(project, prepared.photo_id, prepared.source.record_path or name, prepared.image.width,
                                    prepared.image.height, len(faces), prepared.image.taken_at)
                    )
                    if len(pending_photos) >= self.write_batch:
                        flush()
            if progress is not None:
                progress(report, total)
        flush()
        report.face_ids.extend(self._unplaced(project, known))
        report.moved = self._follow_moves(project, found_at)
        return report

    def _follow_moves(self, project: str, found_at: dict[str, str]) -> list[str]:
        """Record the new path of the stored photos found again elsewhere whose recorded file is gone, so
        that their original is served, and their sidecar written, from where they are now. A photo whose
        first file is still there keeps it (a second copy of the same bytes is not a move)."""
        if not found_at:
            return []
        moves = {p.photo_id: (p.path, found_at[p.photo_id])
                 for p in self.runtime.graph.photos_by_id(project, list(found_at))
                 if p.path != found_at[p.photo_id] and file_path(p.path).is_absolute()
                 and not file_path(p.path).exists()}
        if moves:
            with self.runtime.locks.hold(project):
                self.runtime.graph.set_photo_paths(project, {photo: new for photo, (_, new) in moves.items()})
        return [f"{old} -> {new}" for old, new in sorted(moves.values())]

    def _unplaced(self, project: str, photo_ids: set[str]) -> list[int]:
        """The faces of these stored photos that have no cluster (a run stopped before placing them, or
        placed as noise: placing those again is harmless)."""
        if not photo_ids:
            return []
        faces = self.runtime.vectors.project_faces(project)
        wanted = np.fromiter((p.encode() for p in photo_ids), "S64", len(photo_ids))
        rows = np.flatnonzero((faces.cluster_ids == UNCLUSTERED) & np.isin(faces.photo_ids, wanted))
        return faces.face_ids[rows].tolist()

    @staticmethod
    def _named(report: IngestReport, prepared: _Prepared) -> None:
        if prepared.named is not None:
            report.named.append(replace(prepared.named, photo_id=prepared.photo_id or ""))

    def _keep(self, project: str, prepared: _Prepared) -> None:
        if self.keep_originals and prepared.data is not None and prepared.photo_id is not None:
            self.runtime.media.keep_original(project, prepared.photo_id, prepared.data)

    def _prepare_ahead(self, project: str, sources: Sequence[PhotoSource]) -> Iterator[_Prepared]:
        """Hash and decode the next photos in worker threads while the caller detects on this one."""
        return in_order_ahead(lambda source: self._prepare(project, source), sources, self.decode_workers)

    def _prepare(self, project: str, source: PhotoSource) -> _Prepared:
        settings = self.runtime.settings
        try:
            data = source.read(settings.max_file_bytes)
        except ImageRejected as exc:
            return _Prepared(source, rejected=exc.reason)
        photo_id = sha256_of(data)
        kept = data if self.keep_originals else None
        named = photo_people(source.path, data, source.name) if self.read_metadata else None
        if data and self.runtime.graph.has_photo(project, photo_id):
            people = None
            if self._body_model and photo_id not in self._scanned:
                try:
                    people = self._people(decode_for_detection(settings, data, source.name), source.name)
                except ImageRejected as exc:  # read before, not now: it keeps what it has
                    log.warning("no bodies for %s: %s", source.name, exc.reason)
            return _Prepared(source, photo_id=photo_id, known=True, data=kept, named=named, people=people)
        try:
            image, detections = decode_and_detect(self.runtime, data, source.name)
            people = self._people(image, source.name, detections.boxes * image.scale) if self._body_model else None
        except ImageRejected as exc:
            return _Prepared(source, rejected=exc.reason)
        return _Prepared(source, photo_id=photo_id, image=image, detections=detections, data=kept, named=named,
                         people=people)

    def _people(self, image: DecodedImage, name: str, face_boxes: np.ndarray | None = None) -> PeopleFound:
        try:
            return self.runtime.body_scanner.find(image, () if face_boxes is None else face_boxes)
        except Exception as exc:  # one bad photo must not stop the batch
            log.exception("finding the people in %s failed", name)
            raise ImageRejected(name, f"finding people failed: {exc}") from exc

    def _observe(self, project: str, photo_id: str, image: DecodedImage,
                 detections: Detections | None) -> list[FaceObservation]:
        runtime = self.runtime
        model_id = runtime.pack.model_id
        return [
            FaceObservation(
                face_id=face_id_for(project, photo_id, model_id, d.face.box),
                project=project,
                photo_id=photo_id,
                box=d.face.box,
                landmarks=[float(v) for v in d.face.landmarks.reshape(-1)],
                det_score=float(d.face.score),
                embedding=d.face.embedding,
                yaw=d.pose.yaw,
                pitch=d.pose.pitch,
                roll=d.pose.roll,
                quality_score=d.quality.score,
                quality_flags=d.quality.flags,
                age=UNKNOWN_AGE if d.face.age is None else float(d.face.age),
            )
            for d in describe_faces(runtime.pack, image, runtime.settings, runtime.detection_threshold, detections)
        ]
