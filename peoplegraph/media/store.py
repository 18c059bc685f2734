"""`MediaStore`: the photos peoplegraph keeps (the originals of uploads, whose senders keep no copy we could
read), and the thumbnails and face crops made from a photo, in DATA_DIR/media/<project>/.

Where the bytes live is a `MediaFiles` (five verbs over names): `FolderFiles` here; an S3-compatible bucket
can follow without touching what is made or how it is named.

Files are named by content (a photo's sha256, a face's id), written atomically, and encrypted when a media
key is set (`MediaCipher`). Thumbnails and crops are made on first use, from the kept original or from the
bytes the caller reads (a photo ingested from a folder stays where it is), then kept.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from PIL import Image

from peoplegraph.atomic import atomic_write
from peoplegraph.engine.decode import decode_image
from peoplegraph.media.cipher import SEALED_OVERHEAD, MediaCipher
from peoplegraph.observations.model import validate_project_name

THUMBNAIL_SIDES = (256, 1280)  # the longest side of a thumbnail, pixels: a grid tile, a photo shown large
CROP_SIDE = 224  # the longest side of a face crop, pixels
CROP_MARGIN = 0.25  # a face crop shows this much of the box's size around it, on each side
CROP_SOURCE_SIDE = 4096  # a face crop is cut from the photo decoded this large (faces keep their detail)
JPEG_QUALITY = 88


class MediaFiles(Protocol):
    """The media store's bytes by name ("<project>/<kind>/<xx>/<id>")."""

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int:
        """Bytes; OSError when absent."""

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes) -> None:
        """Whole or not at all."""

    def delete(self, name: str) -> None:
        """An absent name is no error."""

    def delete_under(self, prefix: str) -> None:
        """Every name under `prefix`/ (a project's)."""


class FolderFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def exists(self, name: str) -> bool:
        return (self.folder / name).exists()

    def size(self, name: str) -> int:
        return (self.folder / name).stat().st_size

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def delete_under(self, prefix: str) -> None:
        shutil.rmtree(self.folder / prefix, ignore_errors=True)


class MediaStore:
    def __init__(self, files: MediaFiles | Path, cipher: MediaCipher | None = None, *, max_pixels: int = 100_000_000,
                 max_bytes: int = 200 * 2**20) -> None:
        self.files = FolderFiles(files) if isinstance(files, Path) else files
        self.cipher = cipher
        self._limits = {"max_pixels": max_pixels, "max_bytes": max_bytes}

    # -- originals -------------------------------------------------------------------------------------

    def keep_original(self, project: str, photo_id: str, data: bytes) -> None:
        """Keep a photo's bytes (once: the name is its content)."""
        name = self._name(project, "originals", photo_id)
        if not self.files.exists(name):
            self._write(name, data)

    def has_original(self, project: str, photo_id: str) -> bool:
        return self.files.exists(self._name(project, "originals", photo_id))

    def original_size(self, project: str, photo_id: str) -> int:
        """The kept original's size (as `original` gives it); OSError when none is kept."""
        stored = self.files.size(self._name(project, "originals", photo_id))
        return stored - SEALED_OVERHEAD if self.cipher is not None else stored

    def original(self, project: str, photo_id: str) -> bytes:
        return self._read(self._name(project, "originals", photo_id))

    # -- made from a photo -----------------------------------------------------------------------------

    def thumbnail(self, project: str, photo_id: str, side: int, source: Callable[[], bytes]) -> bytes:
        """A JPEG of the photo as a viewer sees it (EXIF orientation applied), its longest side `side` (one of
        `THUMBNAIL_SIDES`) or the photo's own if smaller; `source` gives the photo's bytes when the thumbnail
        is not made yet."""
        if side not in THUMBNAIL_SIDES:
            raise ValueError(f"side: {side} is not one of {', '.join(map(str, THUMBNAIL_SIDES))}")
        name = self._name(project, f"thumbnails-{side}", photo_id)
        return self._made(name, lambda: _jpeg(self._upright(photo_id, source, side)[0], side))

    def face_crop(self, project: str, photo_id: str, face_id: int, box: tuple[float, float, float, float],
                  source: Callable[[], bytes]) -> bytes:
        """A JPEG of one face (`box` in the upright photo's pixels, x1 y1 x2 y2) with a margin around it."""
        name = self._face_name(project, face_id)

        def make() -> bytes:
            image, scale = self._upright(photo_id, source, CROP_SOURCE_SIDE)
            x1, y1, x2, y2 = (v / scale for v in box)
            dx, dy = (x2 - x1) * CROP_MARGIN, (y2 - y1) * CROP_MARGIN
            crop = image.crop((max(0, int(x1 - dx)), max(0, int(y1 - dy)), min(image.width, int(x2 + dx) + 1),
                               min(image.height, int(y2 + dy) + 1)))
            return _jpeg(crop, CROP_SIDE)

        return self._made(name, make)

    def drop_photo(self, project: str, photo_id: str, face_ids: Iterable[int]) -> None:
        """The photo's original (when kept), thumbnails and face crops; those already gone are no error."""
        names = [self._name(project, kind, photo_id) for kind in
                 ("originals", *(f"thumbnails-{side}" for side in THUMBNAIL_SIDES))]
        names += [self._face_name(project, face_id) for face_id in face_ids]
        for name in names:
            self.files.delete(name)

    def drop_project(self, project: str) -> None:
        self.files.delete_under(validate_project_name(project))

    # -- files -----------------------------------------------------------------------------------------

    def _upright(self, photo_id: str, source: Callable[[], bytes], side: int) -> tuple[Image.Image, float]:
        """The photo as a viewer sees it, decoded at least `side` pixels on its longest side where it has
        them, and its full-size pixels per decoded pixel."""
        decoded = decode_image(source(), name=photo_id, max_side=side, **self._limits)
        return Image.fromarray(decoded.pixels[:, :, ::-1]), decoded.scale

    def _made(self, name: str, make: Callable[[], bytes]) -> bytes:
        if self.files.exists(name):
            return self._read(name)
        data = make()
        self._write(name, data)
        return data

    @classmethod
    def _face_name(cls, project: str, face_id: int) -> str:
        return cls._name(project, "faces", f"{int(face_id) & 0xFFFF_FFFF_FFFF_FFFF:016x}")

    @staticmethod
    def _name(project: str, kind: str, key: str) -> str:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"{kind}: {key!r} is not an id")
        return f"{validate_project_name(project)}/{kind}/{key[:2]}/{key}"

    def _write(self, name: str, data: bytes) -> None:
        self.files.write(name, self.cipher.seal(data, name) if self.cipher is not None else data)

    def _read(self, name: str) -> bytes:
        data = self.files.read(name)
        return self.cipher.open(data, name) if self.cipher is not None else data


def _jpeg(image: Image.Image, side: int) -> bytes:
    image = image.convert("RGB")
    image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
