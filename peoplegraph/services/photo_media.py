"""A project's photos as people see them: the original's bytes, thumbnails and face crops.

An upload's original is kept in the media store; a photo ingested from a folder is read where it lies (as
Immich's external libraries are), and one moved, deleted or changed since is reported as gone. Clients see
a photo's display name (the file name it came with, control and bidi characters removed), never a path.
"""

from __future__ import annotations

import io
import unicodedata

from PIL import Image

from peoplegraph.engine.decode import ImageRejected, read_photo_file, sha256_of
from peoplegraph.identity.records import PhotoRecord
from peoplegraph.services.file_names import file_path
from peoplegraph.services.runtime import Runtime

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff",
               "GIF": "image/gif", "BMP": "image/bmp", "HEIF": "image/heif"}


class PhotoNotFound(LookupError):
    """No such photo (or face) in the project; or its file is gone: the message says which."""


def display_name(photo: PhotoRecord) -> str:
    """The file name the photo came with, without folders and without control or bidi characters."""
    name = file_path(photo.path).name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    shown = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return shown or photo.photo_id[:12]


def photo_record(runtime: Runtime, project: str, photo_id: str) -> PhotoRecord:
    found = runtime.graph.photos_by_id(project, [photo_id]) if len(photo_id) == 64 else []
    if not found:
        raise PhotoNotFound(f"no photo {photo_id[:80]!r} in project {project!r}")
    return found[0]


def photo_bytes(runtime: Runtime, photo: PhotoRecord) -> bytes:
    """The photo as ingest read it: the upload kept in the media store, else the file where it was found.
    Raises ImageRejected when that file is gone or changed (its sha256 is the photo's id)."""
    media = runtime.media
    if media.has_original(photo.project, photo.photo_id):
        data = media.original(photo.project, photo.photo_id)
    else:
        data = read_photo_file(file_path(photo.path), photo.path, runtime.settings.max_file_bytes)
    if sha256_of(data) != photo.photo_id:
        raise ImageRejected(photo.path, "the file changed since it was ingested (its sha256 differs)")
    return data


def photo_size(runtime: Runtime, photo: PhotoRecord) -> int:
    """The size `photo_bytes` will give, from the file's own size (nothing is read); ImageRejected when the
    file is gone."""
    media = runtime.media
    try:
        if media.has_original(photo.project, photo.photo_id):
            return media.original_size(photo.project, photo.photo_id)
        return file_path(photo.path).stat().st_size
    except OSError as exc:
        raise ImageRejected(photo.path, f"cannot read file: {exc.strerror or exc}") from None


def _readable(runtime: Runtime, photo: PhotoRecord) -> bytes:
    try:
        return photo_bytes(runtime, photo)
    except ImageRejected as exc:
        raise PhotoNotFound(f"photo {photo.photo_id} ({display_name(photo)}) is gone: {exc.reason}; it was "
                            "ingested from a folder, put the file back where it was") from None


def original(runtime: Runtime, project: str, photo_id: str) -> tuple[bytes, str, str]:
    """The photo's bytes, their media type and its display name."""
    photo = photo_record(runtime, project, photo_id)
    data = _readable(runtime, photo)
    try:
        kind = IMAGE_TYPES.get(Image.open(io.BytesIO(data)).format or "", "application/octet-stream")
    except Exception:  # a format Pillow names no type for: served as bytes
        kind = "application/octet-stream"
    return data, kind, display_name(photo)


def thumbnail(runtime: Runtime, project: str, photo_id: str, side: int) -> bytes:
    photo = photo_record(runtime, project, photo_id)
    return runtime.media.thumbnail(project, photo_id, side, lambda: _readable(runtime, photo))


def face_crop(runtime: Runtime, project: str, face_id: int) -> bytes:
    faces = runtime.vectors.faces_by_id(project, [face_id])
    if not faces:
        raise PhotoNotFound(f"no face {face_id} in project {project!r}")
    face = faces[0]
    photo = photo_record(runtime, project, face.photo_id)
    return runtime.media.face_crop(project, face.photo_id, face.face_id, face.box, lambda: _readable(runtime, photo))
