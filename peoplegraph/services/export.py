"""Exports: a person's portfolio, or a guest's photos, as a zip of originals with a manifest, streamed.

The zip is planned first from the files' sizes (a photo whose file has gone since ingest is listed as missing
in the manifest), so its exact length is known before the first byte is sent and a browser shows how far a
large download is; then it is written as it is sent, one photo in memory at a time. Entries are stored
(photos are compressed already), each named by the photo's display name (made unique), and the manifest
(`manifest.csv` and `manifest.json`: each photo's file, pixel size, time and, for a portfolio, the person's
faces in it with their boxes) comes last.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from peoplegraph.engine.decode import ImageRejected
from peoplegraph.identity.records import Appearance, PhotoRecord
from peoplegraph.linking.service import existing_person
from peoplegraph.services.photo_media import display_name, photo_bytes, photo_size
from peoplegraph.services.runtime import Runtime

PAGE = 1000  # a person's photos are read this many at a time
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# The zip's layout (APPNOTE 6.3): every entry stored, with zip64 sizes, in the same shape, so that the length
# is a sum known before the first byte is sent.
ZIP64 = 0xFFFFFFFF  # "see the zip64 field"
ZIP_VERSION = 45  # zip64
MADE_BY = (3 << 8) | ZIP_VERSION  # Unix, so that FILE_MODE is read
FLAGS = 0x0808  # sizes in a data descriptor after the data; UTF-8 names
FILE_MODE = 0o100644
LOCAL = 30 + 20  # a local header and its zip64 field, the name aside
DESCRIPTOR = 24
CENTRAL = 46 + 28  # a central directory entry and its zip64 field, the name aside
ENDS = 56 + 20 + 22  # zip64 end record, its locator, end record
MANIFEST_COLUMNS = ("file", "photo_id", "width", "height", "taken_at", "face_id", "x1", "y1", "x2", "y2",
                    "cluster_id", "method", "score")


@dataclass
class ExportItem:
    photo: PhotoRecord
    faces: list[Appearance] = field(default_factory=list)


def portfolio(runtime: Runtime, project: str, person_id: str) -> list[ExportItem]:
    """Every photo the person appears in (by path), with their faces in it."""
    existing_person(runtime, project, person_id)
    items: list[ExportItem] = []
    while True:
        page = runtime.graph.person_photos(project, person_id, limit=PAGE, offset=len(items))
        items += [ExportItem(photo, faces) for photo, faces in page]
        if len(page) < PAGE:
            return items


def photos(runtime: Runtime, project: str, photo_ids: Sequence[str]) -> list[ExportItem]:
    """These photos of the project (a guest's: no faces, no names beyond the files), in the order given."""
    found = {p.photo_id: p for p in runtime.graph.photos_by_id(project, list(photo_ids))}
    return [ExportItem(found[p]) for p in dict.fromkeys(photo_ids) if p in found]


class ExportBroken(RuntimeError):
    """A photo changed or went between planning the zip and sending it: the length promised cannot be kept."""


@dataclass(frozen=True)
class ZipEntry:
    name: str
    size: int
    taken_at: str = ""
    photo: PhotoRecord | None = None  # read when it is sent
    data: bytes | None = None  # a manifest, made beforehand


@dataclass(frozen=True)
class ZipPlan:
    entries: list[ZipEntry]
    photos: int
    length: int  # the zip's exact size in bytes (Content-Length: a browser shows how far the download is)


def plan_zip(runtime: Runtime, items: Iterable[ExportItem], *, with_ids: bool = True) -> ZipPlan:
    """Every entry of the zip and its size, from the files' own sizes (nothing is read yet); a photo whose file
    is gone is listed as missing in the manifest. `with_ids`: the manifest names photo and face ids and
    clusters (a guest's does not)."""
    entries: list[ZipEntry] = []
    rows: list[dict[str, object]] = []
    missing: list[dict[str, str]] = []
    names: set[str] = set()
    for item in items:
        photo = item.photo
        try:
            size = photo_size(runtime, photo)
        except ImageRejected as exc:
            missing.append({"file": display_name(photo), "reason": exc.reason})
            continue
        name = _unique(f"photos/{display_name(photo)}", photo.photo_id, names)
        entries.append(ZipEntry(name, size, photo.taken_at, photo=photo))
        rows += _rows(name, item, with_ids)
    photos = len(entries)
    for name, text in (("manifest.csv", _csv(rows, with_ids)),
                       ("manifest.json", json.dumps({"photos": rows, "missing": missing}, indent=1))):
        data = text.encode()
        entries.append(ZipEntry(name, len(data), data=data))
    length = sum(2 * len(e.name.encode()) + e.size + LOCAL + DESCRIPTOR + CENTRAL for e in entries) + ENDS
    return ZipPlan(entries, photos, length)


def zip_stream(runtime: Runtime, plan: ZipPlan) -> Iterator[bytes]:
    """The zip of `plan`, entry by entry (one photo in memory at a time): stored entries with their sizes in
    zip64 data descriptors, so every entry has the same layout and the length is known beforehand."""
    central: list[bytes] = []
    offset = 0
    for entry in plan.entries:
        data = entry.data if entry.data is not None else _photo_bytes(runtime, entry)
        if len(data) != entry.size:
            raise ExportBroken(f"{entry.name} changed since the export began ({len(data)} bytes, not {entry.size})")
        name = entry.name.encode()
        time, date = _dos_time(entry.taken_at)
        crc = zlib.crc32(data)
        yield (struct.pack("<IHHHHHIIIHH", 0x04034B50, ZIP_VERSION, FLAGS, 0, time, date, 0, ZIP64, ZIP64, len(name),
                           20) + name + struct.pack("<HHQQ", 1, 16, 0, 0))
        yield data
        yield struct.pack("<IIQQ", 0x08074B50, crc, entry.size, entry.size)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, MADE_BY, ZIP_VERSION, FLAGS, 0, time, date, crc,
                                   ZIP64, ZIP64, len(name), 28, 0, 0, 0, FILE_MODE << 16, ZIP64)
                       + name + struct.pack("<HHQQQ", 1, 24, entry.size, entry.size, offset))
        offset += LOCAL + len(name) + entry.size + DESCRIPTOR
    directory = b"".join(central)
    yield (directory + struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, MADE_BY, ZIP_VERSION, 0, 0, len(central),
                                   len(central), len(directory), offset)
           + struct.pack("<IIQI", 0x07064B50, 0, offset + len(directory), 1)
           + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, ZIP64, ZIP64, 0))


def _photo_bytes(runtime: Runtime, entry: ZipEntry) -> bytes:
    try:
        return photo_bytes(runtime, entry.photo)  # type: ignore[arg-type]
    except ImageRejected as exc:
        raise ExportBroken(f"{entry.name} is gone since the export began: {exc.reason}") from None


def _dos_time(taken_at: str) -> tuple[int, int]:
    """The zip's (time, date) of when the photo was taken where that is known (zip dates start in 1980)."""
    try:
        when = dt.datetime.fromisoformat(taken_at[:19])
    except ValueError:
        when = None
    if when is None or when.year < 1980:
        when = dt.datetime(*ZIP_EPOCH)
    return (when.hour << 11) | (when.minute << 5) | (when.second // 2), ((when.year - 1980) << 9) | (when.month << 5) | when.day


def _unique(name: str, photo_id: str, taken: set[str]) -> str:
    """`name`, or with the photo id's start before its suffix when another photo has that name."""
    if name in taken:
        path = PurePosixPath(name)
        name = str(path.with_name(f"{path.stem}-{photo_id[:12]}{path.suffix}"))
    taken.add(name)
    return name


def _rows(name: str, item: ExportItem, with_ids: bool) -> list[dict[str, object]]:
    photo = item.photo
    base: dict[str, object] = {"file": name, "width": photo.width, "height": photo.height,
                               "taken_at": photo.taken_at}
    if not with_ids:
        return [base]
    base["photo_id"] = photo.photo_id
    if not item.faces:
        return [base]
    return [{**base, "face_id": str(a.face_id), **dict(zip(("x1", "y1", "x2", "y2"), a.box)),
             "cluster_id": a.cluster_id, "method": a.method, "score": a.score} for a in item.faces]


def _csv(rows: list[dict[str, object]], with_ids: bool) -> str:
    columns = MANIFEST_COLUMNS if with_ids else ("file", "width", "height", "taken_at")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
