"""Exports: a person's portfolio, or a guest's photos, as a zip of originals with a manifest, streamed.

The zip is written as it is sent, one photo in memory at a time: entries are stored (photos are compressed
already), each named by the photo's display name (made unique), and the manifest (`manifest.csv` and
`manifest.json`: each photo's file, size, time and, for a portfolio, the person's faces in it with their
boxes) comes last, so a photo whose file has gone since ingest is listed there as missing instead of
stopping the download half way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from peoplegraph.engine.decode import ImageRejected
from peoplegraph.identity.records import Appearance, PhotoRecord
from peoplegraph.linking.service import existing_person
from peoplegraph.services.photo_media import display_name, photo_bytes
from peoplegraph.services.runtime import Runtime

PAGE = 1000  # a person's photos are read this many at a time
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
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


def zip_stream(runtime: Runtime, items: Iterable[ExportItem], *, with_ids: bool = True) -> Iterator[bytes]:
    """The zip, chunk by chunk. `with_ids`: the manifest names photo and face ids and clusters (a guest's
    does not)."""
    sink = _Sink()
    rows: list[dict[str, object]] = []
    missing: list[dict[str, str]] = []
    names: set[str] = set()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for item in items:
            photo = item.photo
            try:
                data = photo_bytes(runtime, photo)
            except ImageRejected as exc:
                missing.append({"file": display_name(photo), "reason": exc.reason})
                continue
            name = _unique(f"photos/{display_name(photo)}", photo.photo_id, names)
            archive.writestr(_entry(name, photo.taken_at), data)
            rows += _rows(name, item, with_ids)
            yield sink.take()
        archive.writestr(_entry("manifest.csv"), _csv(rows, with_ids))
        archive.writestr(_entry("manifest.json"), json.dumps({"photos": rows, "missing": missing}, indent=1))
    yield sink.take()


class _Sink(io.RawIOBase):
    """Where the zip is written: unseekable (so zipfile streams), emptied after each photo."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _entry(name: str, taken_at: str = "") -> zipfile.ZipInfo:
    """A stored entry, dated when the photo was taken where that is known (zip dates start in 1980)."""
    try:
        when = dt.datetime.fromisoformat(taken_at[:19])
    except ValueError:
        when = None
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6] if when and when.year >= 1980 else ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    return info


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
