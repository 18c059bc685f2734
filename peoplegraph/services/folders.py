"""Folder workflows: a folder per known person in (`enroll`), a folder of unknown photos sorted into a folder
per recognised person out (`sort`).

enroll: every sub-folder of PERSONS_DIR is a person, named from the folder (underscores as spaces). Its photos
are ingested into the project as `peoplegraph ingest` does, and in each photo the face of that person is
confirmed, as an editor's decision (method `confirmed`, one undoable action `enroll` for the whole run):

- a photo with one face: that face, unless it is far from the folder's other one-face photos (its score, the
  mean cosine to its 3 most similar of them, under the review threshold): then it is reported as
  disagreeing and left alone;
- a photo with several faces: the one face whose score against the folder's agreeing one-face photos
  reaches the auto-matching threshold (with no one-face photo in the folder: against the best face of
  each other photo); none, or more than one, and the photo is reported as ambiguous;
- a photo that is the folder's only photo with a face: its largest face (there is nothing to compare with).

The person is found by name or alias (an earlier enroll's, or an editor's), else created, so enrolling the same
folder again adds nothing. Faces an editor confirmed as someone else, or removed from this person, are
left as they are and reported as conflicts.

sort: every photo under IN_DIR is decoded, its faces detected and embedded (nothing is stored in the
project) and recognised against the people editors confirmed, scored as auto-matching scores new faces
(linking/recognition.py) at the auto threshold. The photo is copied (or moved) into OUT_DIR/<name>/ for each
person recognised in it, OUT_DIR/Unknown/ when it has faces but none was recognised, OUT_DIR/NoFace/ when it
has none. No file is ever overwritten: a name taken by another file gets a suffix (`photo (2).jpg`); a
file already there with the same bytes is the copy itself (a run interrupted between copying and writing
its CSV row). OUT_DIR/sort.csv (source, destination, person, score) is appended photo by photo; a later
run skips the sources it lists, so an interrupted sort resumes where it stopped.
"""

from __future__ import annotations

import csv
import filecmp
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from peoplegraph.engine.decode import ImageRejected, read_photo_file, sha256_of
from peoplegraph.identity.records import PersonRecord, outside_lifetime
from peoplegraph.linking.recognition import REFERENCES, ReferenceFaces, confirmed_references, recognise, top_mean
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services.file_names import stored_name
from peoplegraph.services.ingest import (IngestReport, PhotoSource, SkippedFile, decode_and_detect, in_order_ahead,
                                         walk_images)
from peoplegraph.services.runtime import Runtime

UNKNOWN_FOLDER = "Unknown"
NO_FACE_FOLDER = "NoFace"
SORT_CSV = "sort.csv"
CSV_FIELDS = ("source", "destination", "person", "score")


# ---------------------------------------------------------------------------------------------------- enroll


@dataclass
class EnrolledPerson:
    folder: str
    name: str
    person_id: str | None = None  # None: no face could be confirmed (no person made)
    photos: int = 0  # readable photos in the folder
    confirmed: int = 0  # photos whose face is confirmed as the person (now or by an earlier enroll)
    new: int = 0  # of those, confirmed by this run
    no_face: list[str] = field(default_factory=list)
    disagreeing: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # "path: why" (an editor decided otherwise)
    created: bool = False  # the person was made by this run


@dataclass
class EnrollReport:
    people: list[EnrolledPerson] = field(default_factory=list)
    ingest: IngestReport = field(default_factory=IngestReport)
    matching: dict | None = None
    clustering: dict | None = None

    def to_dict(self) -> dict:
        return {"people": [asdict(p) for p in self.people], "ingest": self.ingest.to_dict(),
                "matching": self.matching, "clustering": self.clustering}


@dataclass(frozen=True)
class FaceChoice:
    """The face chosen in one photo of a person's folder (`index` into that photo's faces), or why none."""

    index: int | None
    status: str  # "chosen", "disagreeing", "ambiguous" or "no_face"
    score: float | None = None


def person_name(folder: str) -> str:
    """The person a folder names: underscores as spaces, runs of spaces as one."""
    return " ".join(folder.replace("_", " ").split())


def choose_faces(photos: Sequence[np.ndarray], areas: Sequence[np.ndarray], agree: float,
                 far: float) -> list[FaceChoice]:
    """For each photo of one person's folder (its faces' embeddings (k, d) L2-normalised and box areas (k,)),
    the face that is the person: see the module's documentation. `agree`: the score a face of a photo of
    several faces must reach (auto-matching's threshold); `far`: a one-face photo scoring under it against
    the folder's other one-face photos disagrees (the review threshold)."""
    choices: list[FaceChoice | None] = [None] * len(photos)
    singles = [i for i, faces in enumerate(photos) if len(faces) == 1]
    with_faces = [i for i, faces in enumerate(photos) if len(faces)]
    for i, faces in enumerate(photos):
        if not len(faces):
            choices[i] = FaceChoice(None, "no_face")
    if len(with_faces) == 1:  # nothing to compare with: the largest face
        (i,) = with_faces
        choices[i] = FaceChoice(int(np.argmax(areas[i])), "chosen")
        return choices  # type: ignore[return-value]
    agreeing: list[int] = []
    if len(singles) >= 2:
        matrix = np.stack([photos[i][0] for i in singles]).astype(np.float32)
        similarity = matrix @ matrix.T
        np.fill_diagonal(similarity, -np.inf)
        scores, _ = top_mean(similarity, min(REFERENCES, len(singles) - 1))  # the diagonal (itself) never counts
        for i, score in zip(singles, scores.tolist()):
            if score >= far:
                choices[i], agreeing = FaceChoice(0, "chosen", score), [*agreeing, i]
            else:
                choices[i] = FaceChoice(None, "disagreeing", score)
    elif singles:
        (i,) = singles
        choices[i], agreeing = FaceChoice(0, "chosen"), [i]
    references = np.stack([photos[i][0] for i in agreeing]).astype(np.float32) if agreeing else None
    for i in with_faces:
        if choices[i] is not None:
            continue
        faces = np.asarray(photos[i], np.float32)
        if references is not None and len(agreeing) >= 2:
            scores, _ = top_mean(faces @ references.T)
        else:  # too few one-face photos: each face against the best face of each other photo (and the one)
            others = [j for j in with_faces if j != i]
            best = np.stack([(faces @ np.asarray(photos[j], np.float32).T).max(axis=1) for j in others], axis=1)
            scores, _ = top_mean(best)
        passing = np.flatnonzero(scores >= agree)
        if len(passing) == 1:
            choices[i] = FaceChoice(int(passing[0]), "chosen", float(scores[passing[0]]))
        else:
            choices[i] = FaceChoice(None, "ambiguous", float(scores.max()))
    return choices  # type: ignore[return-value]


def person_folders(persons_dir: Path, skipped: list[SkippedFile]) -> list[tuple[str, list[Path]]]:
    """Each non-hidden sub-folder of `persons_dir` and its photos (recursively); files lying in
    `persons_dir` itself belong to no one and are skipped."""
    folders = []
    for entry in sorted(persons_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            folders.append((entry.name, list(walk_images(entry, skipped))))
        else:
            skipped.append(SkippedFile(stored_name(entry), "not in a person's folder (PERSONS_DIR/Name/photo.jpg)"))
    return folders


def enroll(runtime: Runtime, project: str, persons_dir: Path, *, actor: str = "",
           progress: Callable[[IngestReport, int], None] | None = None) -> EnrollReport:
    """Ingest each person folder's photos and confirm that person's face in each (see the module)."""
    from peoplegraph.linking.matching import match_new_faces
    from peoplegraph.services.clustering import cluster_new_faces
    from peoplegraph.services.ingest import IngestService

    validate_project_name(project)
    if not persons_dir.is_dir():
        raise ValueError(f"{persons_dir}: not a folder (one sub-folder per person: PERSONS_DIR/Name/photo.jpg)")
    report = EnrollReport()
    folders = [(folder, photos) for folder, photos in person_folders(persons_dir, report.ingest.skipped)]
    folders = [(f, p) for f, p in folders if person_name(f)]
    sources = [PhotoSource.of_file(path) for _, photos in folders for path in photos]
    IngestService(runtime).ingest(project, sources, progress, report=report.ingest)
    rejected = {s.path for s in report.ingest.skipped}
    photo_of: dict[Path, str] = {}
    for _, photos in folders:
        for path in photos:
            if stored_name(path) in rejected:
                continue
            try:
                photo_of[path] = sha256_of(read_photo_file(path, stored_name(path), runtime.settings.max_file_bytes))
            except ImageRejected:  # gone since it was ingested
                continue
    chosen = _confirm_folders(runtime, project, folders, photo_of, report, actor)
    matching = match_new_faces(runtime, project, report.ingest.face_ids)
    report.matching = matching.to_dict() if matching.people else None
    report.clustering = cluster_new_faces(runtime, project, report.ingest.face_ids).to_dict() \
        if report.ingest.face_ids or chosen else None
    return report


def _confirm_folders(runtime: Runtime, project: str, folders: list[tuple[str, list[Path]]],
                     photo_of: dict[Path, str], report: EnrollReport, actor: str) -> list[int]:
    """Choose each folder's faces, then confirm them all as one action (`name_faces`); the faces confirmed
    now."""
    from peoplegraph.linking.service import NAME_MAX_CHARS, NamedFace, name_faces

    faces = runtime.vectors.project_faces(project)
    wanted = sorted(set(photo_of.values()))
    rows_of: dict[str, list[int]] = {p: [] for p in wanted}
    if wanted and len(faces):
        hits = np.flatnonzero(np.isin(faces.photo_ids, np.array([p.encode() for p in wanted], "S64")))
        for row in hits.tolist():
            rows_of[faces.photo_id(row)].append(row)
    named: list[NamedFace] = []
    chosen: list[EnrolledPerson] = []
    for folder, photos in folders:
        entry = EnrolledPerson(folder=folder, name=person_name(folder)[:NAME_MAX_CHARS].strip())
        report.people.append(entry)
        readable = [p for p in photos if p in photo_of]
        entry.photos = len(readable)
        rows = [rows_of.get(photo_of[p], []) for p in readable]
        choices = choose_faces([faces.embeddings[r] for r in rows],
                               [(faces.boxes[r, 2] - faces.boxes[r, 0]) * (faces.boxes[r, 3] - faces.boxes[r, 1])
                                for r in rows], runtime.auto_threshold, runtime.review_threshold)
        for path, photo_rows, choice in zip(readable, rows, choices):
            if choice.status != "chosen":
                getattr(entry, choice.status).append(stored_name(path))
                continue
            face = NamedFace(int(faces.face_ids[photo_rows[choice.index]]), entry.name, stored_name(path))
            named.append(face)
            chosen.append(entry)
    result = name_faces(runtime, project, named, action="enroll", actor=actor)
    for entry, outcome in zip(chosen, result.outcome):
        if outcome not in ("new", "already"):
            entry.conflicts.append(outcome)
            continue
        entry.confirmed += 1
        entry.new += outcome == "new"
        entry.person_id = result.person_ids[entry.name.casefold()]
        entry.created = entry.person_id in result.created
    return sorted(face.face_id for face, outcome in zip(named, result.outcome) if outcome == "new")


# ------------------------------------------------------------------------------------------------------ sort


@dataclass(frozen=True)
class SortRow:
    source: str
    destination: str
    person: str  # the person's name ("" in Unknown/ and NoFace/)
    score: float | None  # the face's score for that person (Unknown: the best score of any face)

    def to_dict(self) -> dict:
        return {**asdict(self), "score": None if self.score is None else round(self.score, 4)}


@dataclass
class SortReport:
    photos: int = 0  # photos read and sorted by this run
    copied: int = 0  # files copied
    moved: int = 0  # files moved
    people: dict[str, int] = field(default_factory=dict)  # photos per person folder
    unknown: int = 0
    no_face: int = 0
    already_sorted: int = 0  # sources sort.csv lists from an earlier run, left alone
    skipped: list[SkippedFile] = field(default_factory=list)
    dry_run: bool = False
    csv: str = ""
    threshold: float = 0.0
    plan: list[SortRow] = field(default_factory=list)  # every row of this run (written, or planned)

    @property
    def processed(self) -> int:
        return self.photos + len(self.skipped)

    def to_dict(self) -> dict:
        out = {"photos": self.photos, "copied": self.copied, "moved": self.moved, "people": dict(self.people),
               "unknown": self.unknown, "no_face": self.no_face, "already_sorted": self.already_sorted,
               "skipped": [asdict(s) for s in self.skipped], "dry_run": self.dry_run, "csv": self.csv,
               "threshold": round(self.threshold, 4)}
        if self.dry_run:
            out["plan"] = [r.to_dict() for r in self.plan]
        return out


def folder_name(name: str) -> str:
    """A person's name as a folder name: no path separator, no leading dot, never empty."""
    cleaned = "".join("_" if c in '/\\\0' or ord(c) < 32 else c for c in name).strip().lstrip(".")
    return cleaned or "_"


def sorted_sources(csv_path: Path) -> set[str]:
    """The sources an earlier run wrote into sort.csv."""
    if not csv_path.is_file():
        return set()
    with open(csv_path, newline="", encoding="utf-8", errors="surrogateescape") as file:
        return {row["source"] for row in csv.DictReader(file) if row.get("source") and row.get("destination")}


@dataclass
class _Read:
    path: Path
    name: str
    image: object = None
    detections: object = None
    rejected: str | None = None


def sort_folder(runtime: Runtime, project: str, in_dir: Path, out_dir: Path, *, move: bool = False,
                dry_run: bool = False, progress: Callable[[SortReport, int], None] | None = None) -> SortReport:
    """Sort the photos under `in_dir` into a folder per recognised person under `out_dir` (see the module)."""
    validate_project_name(project)
    if not in_dir.is_dir():
        raise ValueError(f"{in_dir}: not a folder")
    in_dir, out_dir = Path(os.path.abspath(in_dir)), Path(os.path.abspath(out_dir))
    references = confirmed_references(runtime, project)
    if not len(references):
        raise ValueError(f"project {project!r} has no confirmed people to recognise: enroll some first "
                         f"(peoplegraph enroll PERSONS_DIR --project {project})")
    people = {p.person_id: p for p in runtime.graph.people(project)}
    names = _folder_names(people, references.people)
    threshold = runtime.auto_threshold
    csv_path = out_dir / SORT_CSV
    report = SortReport(dry_run=dry_run, csv=stored_name(csv_path), threshold=threshold)
    done = sorted_sources(csv_path)
    inside_out = out_dir.is_relative_to(in_dir)
    found = []
    skipped: list[SkippedFile] = []
    for path in walk_images(in_dir, skipped):
        if inside_out and path.is_relative_to(out_dir):
            continue
        if stored_name(path) in done:
            report.already_sorted += 1
            continue
        found.append(path)
    report.skipped += [s for s in skipped if not (inside_out and Path(s.path).is_relative_to(out_dir))]
    total = len(found) + len(report.skipped)
    lifetimes = [(people[p].born, people[p].died) if p in people else ("", "") for p in references.people]
    reserved: set[Path] = set()  # destinations this run planned (dry run) or wrote

    def read(path: Path) -> _Read:
        name = stored_name(path)
        try:
            return _Read(path, name, *decode_and_detect(runtime, path, name))
        except ImageRejected as exc:
            return _Read(path, name, rejected=exc.reason)

    writer = None if dry_run else _CsvAppender(csv_path)
    try:
        for item in in_order_ahead(read, found):
            if item.rejected is None:
                try:
                    rows = _sort_one(runtime, item, references, lifetimes, names, threshold, out_dir, move,
                                     dry_run, reserved, report)
                except OSError as exc:  # a destination that cannot be written: said, and the run goes on
                    item.rejected = f"cannot copy: {exc.strerror or exc}"
                except Exception as exc:
                    item.rejected = f"processing failed: {exc}"
                else:
                    report.plan += rows
                    if writer is not None:
                        writer.write(rows)
            if item.rejected is not None:
                report.skipped.append(SkippedFile(item.name, item.rejected))
            if progress is not None:
                progress(report, total)
    finally:
        if writer is not None:
            writer.close()
    return report


def _folder_names(people: dict[str, PersonRecord], person_ids: Sequence[str]) -> dict[str, str]:
    """The folder of each person: their name, with their id added when two share a name (or a name is one of
    the reserved folders)."""
    names = {p: folder_name(people[p].name if p in people else p) for p in person_ids}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    reserved = {UNKNOWN_FOLDER.casefold(), NO_FACE_FOLDER.casefold(), SORT_CSV}
    return {p: n if counts[n.casefold()] == 1 and n.casefold() not in reserved else f"{n} ({folder_name(p)})"
            for p, n in names.items()}


def _sort_one(runtime: Runtime, item: _Read, references: ReferenceFaces, lifetimes: list[tuple[str, str]],
              names: dict[str, str], threshold: float, out_dir: Path, move: bool, dry_run: bool,
              reserved: set[Path], report: SortReport) -> list[SortRow]:
    from peoplegraph.engine.analysis import describe_faces

    described = describe_faces(runtime.pack, item.image, runtime.settings, runtime.detection_threshold,
                               item.detections)
    best: dict[str, float] = {}
    top_score = None
    if described:
        embeddings = np.stack([d.face.embedding for d in described]).astype(np.float32)
        taken_at = item.image.taken_at
        excluded = None
        if taken_at and any(born or died for born, died in lifetimes):
            outside = np.array([outside_lifetime(taken_at, born, died) for born, died in lifetimes], bool)
            excluded = np.broadcast_to(outside, (len(embeddings), len(lifetimes)))
        for found in recognise(embeddings, references, excluded):
            if found.person_id is None:
                continue
            top_score = found.score if top_score is None else max(top_score, found.score)
            if found.recognised(threshold) and found.score > best.get(found.person_id, float("-inf")):
                best[found.person_id] = found.score
    if best:
        targets = [(names[p], p, score) for p, score in sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))]
    elif described:
        targets = [(UNKNOWN_FOLDER, None, top_score)]
    else:
        targets = [(NO_FACE_FOLDER, None, None)]
    rows = []
    for number, (folder, person_id, score) in enumerate(targets):
        last = number == len(targets) - 1
        destination, wrote = _deliver(item.path, out_dir / folder, item.path.name, move=move and last,
                                      dry_run=dry_run, reserved=reserved)
        if wrote == "moved":
            report.moved += 1
        elif wrote == "copied":
            report.copied += 1
        person = names[person_id] if person_id else ""
        if person_id:
            report.people[person] = report.people.get(person, 0) + 1
        rows.append(SortRow(item.name, stored_name(destination), person, score))
    if not best:
        if described:
            report.unknown += 1
        else:
            report.no_face += 1
    report.photos += 1
    return rows


def _candidates(folder: Path, name: str) -> Iterator[Path]:
    """`name` in `folder`, then `stem (2).ext`, `stem (3).ext`, ..."""
    stem, suffix = os.path.splitext(name)
    yield folder / name
    number = 2
    while True:
        yield folder / f"{stem} ({number}){suffix}"
        number += 1


def _deliver(source: Path, folder: Path, name: str, *, move: bool, dry_run: bool,
             reserved: set[Path]) -> tuple[Path, str]:
    """Copy (or move) `source` into `folder` under `name`, never over another file: the first free name, or a
    file already there with the same bytes. The destination, and "copied", "moved" or "" (already there)."""
    for candidate in _candidates(folder, name):
        if candidate in reserved and dry_run:
            continue
        if os.path.lexists(candidate):
            if candidate.is_file() and filecmp.cmp(source, candidate, shallow=False):
                if move and not dry_run:
                    os.unlink(source)
                reserved.add(candidate)
                return candidate, ""
            continue
        if dry_run:
            reserved.add(candidate)
            return candidate, "moved" if move else "copied"
        folder.mkdir(parents=True, exist_ok=True)
        if _put(source, candidate, move):
            reserved.add(candidate)
            return candidate, "moved" if move else "copied"
    raise AssertionError("unreachable")


def _put(source: Path, destination: Path, move: bool) -> bool:
    """Put the file at `destination` unless a file took that name first (False); never overwriting."""
    if move:
        try:
            os.link(source, destination)  # same file system: the file itself, no copy
        except FileExistsError:
            return False
        except OSError:
            pass  # another file system, or no hard links there: copy, then remove the source
        else:
            os.unlink(source)
            return True
    partial = destination.parent / f".{destination.name}.{secrets.token_hex(4)}.part"
    try:
        shutil.copy2(source, partial)
        try:
            os.link(partial, destination)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links
            if os.path.lexists(destination):
                return False
            os.rename(partial, destination)
    finally:
        if os.path.lexists(partial):
            os.unlink(partial)
    if move:
        os.unlink(source)
    return True


class _CsvAppender:
    """sort.csv, appended a photo's rows at a time and flushed to disk, so that what it lists was done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = None

    def write(self, rows: Sequence[SortRow]) -> None:
        if self.file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            if not fresh:
                with open(self.path, "rb") as existing:  # a row cut short by a crash: end its line
                    existing.seek(-1, os.SEEK_END)
                    cut = existing.read(1) not in (b"\n", b"\r")
            self.file = open(self.path, "a", newline="", encoding="utf-8", errors="surrogateescape")
            self.writer = csv.writer(self.file)
            if fresh:
                self.writer.writerow(CSV_FIELDS)
            elif cut:
                self.file.write("\r\n")
        self.writer.writerows([(r.source, r.destination, r.person, "" if r.score is None else f"{r.score:.4f}")
                               for r in rows])
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
