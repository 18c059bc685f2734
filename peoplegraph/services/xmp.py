"""People in photos' XMP, both ways: read on ingest (`import_people`), written by `export_xmp`.

Import: each photo's named face regions (peoplegraph.metadata.xmp; a sidecar wins over the packet inside
the file) are matched to its detected faces, each region to the face whose centre lies inside the region
while the region's centre lies inside the face's box (the best overlap first, one face per region: a
region drawn by hand is larger or smaller than a detector's box, never centred on another face). Each match
becomes a human decision (method `imported`, `source` the file it was read from) through `name_faces`, as
one undoable action; names with no face under them, or with no region at all, are reported, and faces an
editor decided otherwise are listed as conflicts and left as they are.

Export: every photo with named people (a person's confirmed, imported, auto-tagged and cluster-named faces,
and the people tagged there by their body, whose face is hidden: their names without a face region; hidden
and private people are never written into files that leave peoplegraph) gets its regions and names merged
into its sidecar beside the original (the one there is, in either name), or written into DIR (`to`) from
that sidecar, or embedded into a copy of a JPEG in DIR. An original is never changed: peoplegraph knows
a photo by its bytes, and a changed file would come back as another photo.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from peoplegraph.atomic import atomic_write
from peoplegraph.engine.decode import ImageRejected, read_photo_file
from peoplegraph.identity.records import PhotoRecord
from peoplegraph.linking.bodies import body_appearances
from peoplegraph.linking.service import NamedFace, existing_person, existing_project, name_faces
from peoplegraph.metadata.files import (PhotoPeople, embed_in_jpeg, embedded_packets, sidecar_path, sidecars_of,
                                        stored_orientation)
from peoplegraph.metadata.xmp import FaceRegion, XmpError, iou, merge_people, written_names
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services.file_names import file_path, stored_name
from peoplegraph.services.runtime import Runtime

PEOPLE_PAGE = 50  # people whose photos are read from the graph at once
PHOTO_PAGE = 1000  # photos of each of them per read


@dataclass
class MetadataImport:
    photos: int = 0  # photos whose metadata names someone
    confirmed: int = 0  # faces confirmed now
    already: int = 0  # faces that were that person already
    people_created: list[str] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)  # "photo: name" with no detected face under the region
    without_region: list[str] = field(default_factory=list)  # "photo: name" named without a face region
    conflicts: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # "file: why"

    def to_dict(self) -> dict:
        return asdict(self)


def match_regions(regions: Sequence[FaceRegion], boxes: np.ndarray) -> list[int]:
    """For each region, the row of `boxes` (normalised x1, y1, x2, y2) it names, or -1 (module docstring)."""
    pairs = []
    for i, region in enumerate(regions):
        rx, ry = (region.box[0] + region.box[2]) / 2, (region.box[1] + region.box[3]) / 2
        for j, box in enumerate(boxes.tolist()):
            fx, fy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            if _inside(fx, fy, region.box) and _inside(rx, ry, box):
                pairs.append((-iou(region.box, box), i, j))
    chosen, taken = [-1] * len(regions), set()
    for _, i, j in sorted(pairs):
        if chosen[i] < 0 and j not in taken:
            chosen[i] = j
            taken.add(j)
    return chosen


def _inside(x: float, y: float, box: Sequence[float]) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def import_people(runtime: Runtime, project: str, named: Sequence[PhotoPeople], *, actor: str = "") -> MetadataImport:
    """Confirm the faces under the regions these photos' XMP names (read by ingest while it held each photo's
    bytes: `IngestReport.named`; see the module)."""
    validate_project_name(project)
    report = MetadataImport()
    faces = runtime.vectors.project_faces(project)
    wanted = sorted({p.photo_id for p in named})
    sizes = {p.photo_id: p for p in runtime.graph.photos_by_id(project, wanted)}
    rows_of: dict[str, list[int]] = {}
    if wanted and len(faces):  # the faces of these photos, found once (not a scan of the project per photo)
        for row in np.flatnonzero(np.isin(faces.photo_ids, np.array([w.encode() for w in wanted], "S64"))).tolist():
            rows_of.setdefault(faces.photo_id(row), []).append(row)
    decided: list[NamedFace] = []
    for photo in named:
        if photo.error:
            report.unreadable.append(photo.error)
            continue
        tags, name, photo_id = photo.tags, photo.name, photo.photo_id
        report.photos += 1
        report.without_region += [f"{name}: {n}" for n in tags.names_without_region]
        report.no_face += [f"{name}: {n} (a region with no area)" for n in tags.empty_regions]
        twice = {r.name.casefold() for r in tags.regions if [q.name.casefold() for q in tags.regions].count(
            r.name.casefold()) > 1}
        report.conflicts += [f"{name}: {n} names {sum(r.name.casefold() == n for r in tags.regions)} faces of one "
                             "photo: none taken" for n in sorted(twice)]
        record: PhotoRecord | None = sizes.get(photo_id)
        rows = np.array(rows_of.get(photo_id, []) if record is not None else [], np.int64)
        boxes = faces.boxes[rows] / np.array([record.width, record.height] * 2, np.float32) if len(rows) else \
            np.zeros((0, 4), np.float32)
        for region, row in zip(tags.regions, match_regions(tags.regions, boxes)):
            if region.name.casefold() in twice:
                continue
            if row < 0:
                report.no_face.append(f"{name}: {region.name}")
            else:
                decided.append(NamedFace(int(faces.face_ids[rows[row]]), region.name, name, photo.source))
    result = name_faces(runtime, project, decided, action="import metadata", method="imported", actor=actor)
    report.people_created = result.created
    for outcome in result.outcome:
        if outcome == "new":
            report.confirmed += 1
        elif outcome == "already":
            report.already += 1
        else:
            report.conflicts.append(outcome)
    return report


# ------------------------------------------------------------------------------------------------- export


@dataclass
class XmpExport:
    photos: int = 0  # photos with named people considered
    written: list[str] = field(default_factory=list)  # the files written (sidecars or copies)
    skipped: list[str] = field(default_factory=list)  # "photo: why"
    # sidecars beside photos no one is to be named in any more, from which the names an earlier export wrote
    # were taken out (the person made hidden or private, their tag rejected or undone)
    cleared: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PeopleToWrite:
    """Who one photo's XMP names: each named face's region, and the people tagged by their body."""

    photo: PhotoRecord
    regions: list[FaceRegion] = field(default_factory=list)
    by_body: list[str] = field(default_factory=list)  # names, without a region: their face is not in the photo
    person_ids: set[str] = field(default_factory=set)


def named_people(runtime: Runtime, project: str, person_id: str | None = None) -> dict[str, PeopleToWrite]:
    """Every photo with named people (visible ones), or those of `person_id`, by photo id."""
    people = [p for p in runtime.graph.people(project) if p.visibility == "normal"]
    name_of = {p.person_id: p.name for p in people}
    out: dict[str, PeopleToWrite] = {}
    for start in range(0, len(people), PEOPLE_PAGE):
        ids = [p.person_id for p in people[start:start + PEOPLE_PAGE]]
        offset = 0
        while ids:
            pages = runtime.graph.people_photos(project, ids, limit=PHOTO_PAGE, offset=offset)
            for person, page in pages.items():
                for photo, appearances in page:
                    w, h = max(1, photo.width), max(1, photo.height)
                    named = out.setdefault(photo.photo_id, PeopleToWrite(photo))
                    named.regions += [FaceRegion(name_of[person], (a.box[0] / w, a.box[1] / h, a.box[2] / w,
                                                                   a.box[3] / h)) for a in appearances]
                    named.person_ids.add(person)
            ids = [p for p, page in pages.items() if len(page) == PHOTO_PAGE]
            offset += PHOTO_PAGE
    tagged = [a for a in body_appearances(runtime, project) if a.person_id in name_of]
    records = {p.photo_id: p for p in runtime.graph.photos_by_id(project, sorted({a.photo_id for a in tagged}))}
    for appearance in tagged:
        if appearance.photo_id in records:
            named = out.setdefault(appearance.photo_id, PeopleToWrite(records[appearance.photo_id]))
            named.by_body.append(name_of[appearance.person_id])
            named.person_ids.add(appearance.person_id)
    return out if person_id is None else {k: v for k, v in out.items() if person_id in v.person_ids}


def export_xmp(runtime: Runtime, project: str, *, person_id: str | None = None, to: Path | None = None,
               embed: bool = False, progress: Callable[[int, int], None] | None = None) -> XmpExport:
    """Write the people of every photo with named people (or only the photos of `person_id`) as XMP (module
    docstring): merged into the sidecar beside the original (the one there is, else one named by the
    `xmp_sidecar` setting), or written into `to` from that sidecar; with `embed`, into a copy of each JPEG
    in `to`. In `to`, each photo's folder below the project's photos' common folder is kept, so that two cameras'
    IMG_0001.jpg get a sidecar each under the name of their own photo. A photo's original is never changed:
    peoplegraph knows a photo by its bytes."""
    existing_project(runtime, project)
    if embed and to is None:
        raise ValueError("embed: name the folder for the copies with --to DIR (originals are never changed)")
    if person_id is not None:
        existing_person(runtime, project, person_id)
    photos = named_people(runtime, project, person_id)
    if to is not None:
        to.mkdir(parents=True, exist_ok=True)
    report = XmpExport(photos=len(photos))
    used: set[Path] = set()
    place = _places_below(to, runtime.graph.photos(project)) if to is not None else {}
    for done, named in enumerate(sorted(photos.values(), key=lambda v: v.photo.path), 1):
        photo = named.photo
        if progress is not None:
            progress(done, len(photos))
        target = None
        try:
            target = _export_one(runtime, project, named, place.get(photo.photo_id), embed, used)
        except (XmpError, ImageRejected) as exc:
            report.skipped.append(f"{photo.path}: {exc.reason if isinstance(exc, ImageRejected) else exc}")
            continue
        except OSError as exc:  # a folder that cannot be written: named, not its temporary file
            report.skipped.append(f"{photo.path}: cannot write {stored_name(target or to or Path(photo.path))}: "
                                  f"{exc.strerror or exc}")
            continue
        report.written.append(stored_name(target))
    if person_id is None and to is None:
        _clear_beside_originals(runtime, project, set(photos), used, report)
    return report


def _clear_beside_originals(runtime: Runtime, project: str, named: set[str], used: set[Path],
                            report: XmpExport) -> None:
    """Take out of the sidecars beside the photos no one is named in now the names an earlier export wrote
    there (peoplegraph:Written); a sidecar peoplegraph never wrote is not touched."""
    for photo in runtime.graph.photos(project):
        original = Path(photo.path)
        if photo.photo_id in named or not original.is_file():
            continue
        beside = sidecars_of(original)
        try:
            if not beside or not written_names(beside[0].read_bytes(), project):
                continue
            target = _export_one(runtime, project, PeopleToWrite(photo), None, False, used)
        except (XmpError, ImageRejected, OSError) as exc:
            report.skipped.append(f"{photo.path}: {exc.reason if isinstance(exc, ImageRejected) else exc}")
            continue
        report.cleared.append(stored_name(target))


def _places_below(to: Path, photos: Sequence[PhotoRecord]) -> dict[str, Path]:
    """Where each photo's copy (or sidecar) goes in `to`: its path below the folder all the project's photos
    share, the same whichever of them an export writes (an upload's name, which is no path here, at the
    top)."""
    paths = {p.photo_id: file_path(p.path) for p in photos}
    folders = [str(path.parent) for path in paths.values() if path.is_absolute()]
    common = Path(os.path.commonpath(folders)) if folders else None
    return {photo: to / (path.relative_to(common) if common and path.is_absolute() else path.name)
            for photo, path in paths.items()}


def _export_one(runtime: Runtime, project: str, named: PeopleToWrite, to: Path | None, embed: bool,
                used: set[Path]) -> Path:
    """`to`: the photo's own place in the folder written into (`_places_below`), None beside the original."""
    photo = named.photo
    original = Path(photo.path)
    beside = sidecars_of(original) if original.is_file() else []
    style = runtime.settings.xmp_sidecar
    if to is not None:
        to.parent.mkdir(parents=True, exist_ok=True)
    if embed:
        data = _original_bytes(runtime, project, photo)
        target = _free(to, used)  # type: ignore[arg-type]
        orientation, stored = stored_orientation(data)
        packet = merge_people(embedded_packets(data), named.regions, photo.width, photo.height,
                              orientation=orientation, stored_size=stored, without_region=named.by_body,
                              project=project)
        atomic_write(target, embed_in_jpeg(data, packet))
        return target
    if to is None and not original.is_file():
        raise ImageRejected(photo.path, "the original is not a file here (an upload, or moved since ingest): write "
                                        "its sidecar with --to DIR")
    if to is None:
        target = beside[0] if beside else sidecar_path(original, style, used)
    else:
        target = sidecar_path(_free(to, used), style, used)
    used.add(target)
    base = beside[0] if beside else None  # the user's own sidecar, merged into wherever this one goes
    existing = base.read_bytes() if base is not None else None
    orientation, stored = stored_orientation(_original_bytes(runtime, project, photo)) if existing else (1, None)
    try:
        packet = merge_people(existing, named.regions, photo.width, photo.height, orientation=orientation,
                              stored_size=stored, without_region=named.by_body, project=project)
    except XmpError as exc:  # never written over: it may hold what no one else has
        raise XmpError(f"its sidecar {stored_name(base or target)} is left as it is: {exc}") from None
    atomic_write(target, packet)
    return target


def _original_bytes(runtime: Runtime, project: str, photo: PhotoRecord) -> bytes:
    """The photo's bytes: the file it was ingested from, else the original peoplegraph kept (an upload)."""
    path = Path(photo.path)
    if path.is_file():
        return read_photo_file(path, photo.path, runtime.settings.max_file_bytes)
    if not runtime.media.has_original(project, photo.photo_id):
        raise ImageRejected(photo.path, "the original is neither where it was ingested from nor kept by peoplegraph")
    return runtime.media.original(project, photo.photo_id)


def _free(path: Path, used: set[Path]) -> Path:
    """`path`, or with " (2)", " (3)"... before its suffix when this export already wrote that name."""
    candidate, number = path, 2
    while candidate in used:
        candidate, number = path.with_name(f"{path.stem} ({number}){path.suffix}"), number + 1
    used.add(candidate)
    return candidate
