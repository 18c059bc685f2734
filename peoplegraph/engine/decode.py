"""Decoding photos safely: EXIF orientation applied, large JPEGs decoded small, bombs and junk refused.

Every refusal is an `ImageRejected` naming the file and the reason, so a batch can report it and go on;
what was read but not whole (page 1 of a multi-page file, a date out of range) is the photo's `note`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from peoplegraph.engine.raw import RAW_SUFFIXES, RawUnreadable, is_raw, read_raw

if TYPE_CHECKING:
    from peoplegraph.settings import Settings

register_heif_opener()  # HEIC/HEIF: pillow-heif is a core dependency

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".gif", ".bmp",
                            *RAW_SUFFIXES})
# Pillow modes of more than 8 bits a channel (16-bit, 32-bit integer, float): scaled by their real range.
_WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
# The first photograph (Niepce, 1826-27); a date before it, or after tomorrow, is a camera's wrong clock.
FIRST_PHOTO_YEAR = 1826
# Orientation values 5-8 swap width and height (EXIF 2.3, tag 0x0112).
_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112
_EXIF_IFD, _DATETIME_ORIGINAL, _DATETIME = 0x8769, 0x9003, 0x0132

ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = None  # decode_image checks the header against the `max_image_pixels` setting


class ImageRejected(ValueError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class DecodedImage:
    """pixels: BGR uint8 (h, w, 3) as the viewer sees the photo, possibly reduced;
    width/height: full-size oriented dimensions; scale: full-size pixels per decoded pixel."""

    pixels: np.ndarray
    width: int
    height: int
    scale: float
    taken_at: str = ""  # EXIF DateTimeOriginal (else DateTime) as ISO 8601, "" when the photo does not say
    note: str = ""  # what of the file was not used, for the ingest report ("" when it was read whole)


def decode_for_detection(settings: Settings, data: bytes | Path, name: str) -> DecodedImage:
    """A photo as the viewer sees it, reduced for detection (`detection_max_side`), within the size limits;
    ImageRejected with the reason otherwise."""
    return decode_image(data, name=name, max_pixels=settings.max_image_pixels, max_bytes=settings.max_file_bytes,
                        max_side=settings.detection_max_side)


def decode_image(source: Path | bytes, *, name: str, max_pixels: int, max_bytes: int, max_side: int) -> DecodedImage:
    data = source if isinstance(source, bytes) else read_photo_file(source, name, max_bytes)
    if not data:
        raise ImageRejected(name, "empty file")
    if len(data) > max_bytes:
        raise ImageRejected(name, f"file too large: {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    if is_raw(name, data):
        return _decode_raw(data, name, max_pixels, max_side)
    notes = []
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size  # from the header: nothing decoded yet
        if width * height > max_pixels:
            raise ImageRejected(
                name, f"image too large: {width}x{height} pixels exceeds the limit of {max_pixels} pixels"
            )
        pages = int(getattr(image, "n_frames", 1) or 1)
        if pages > 1:
            notes.append(f"frame 1 of {pages} read (an animation)" if image.format in ("GIF", "PNG", "WEBP")
                         else f"page 1 of {pages} read (a multi-page file)")
        orientation = orientation_of(image)
        taken_at, date_note = _taken_at(image)
        notes += [date_note] if date_note else []
        if orientation in _TRANSPOSING_ORIENTATIONS:
            width, height = height, width
        if image.format == "JPEG" and max(width, height) > 2 * max_side:
            # DCT scaling by 1/2, 1/4 or 1/8 while decoding: cheap, and faces stay far above detection size
            image.draft("RGB", (max(1, image.size[0] * max_side // max(width, height)),
                                max(1, image.size[1] * max_side // max(width, height))))
        image.load()
        image = ImageOps.exif_transpose(image)
        rgb = _as_rgb(image)
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        claimed = _png_claimed_size(data)
        if claimed and claimed[0] * claimed[1] > max_pixels:
            raise ImageRejected(name, f"image too large: {claimed[0]}x{claimed[1]} pixels exceeds the limit of "
                                      f"{max_pixels} pixels") from None
        raise ImageRejected(name, "not an image (unrecognised format)") from None
    except ValueError as exc:
        if "text chunk" in str(exc) or "TEXT_CHUNK" in str(exc):  # Pillow's PngImagePlugin limits
            raise ImageRejected(name, "metadata too large: a PNG text chunk past the safety limit (a metadata "
                                      "decompression bomb)") from None
        raise ImageRejected(name, f"truncated or corrupt image data ({exc})") from None
    except (OSError, SyntaxError, EOFError) as exc:
        raise ImageRejected(name, f"truncated or corrupt image data ({exc})") from None
    pixels = np.asarray(rgb)[:, :, ::-1].copy()  # RGB -> BGR, what OpenCV-style models take
    return DecodedImage(pixels=pixels, width=width, height=height, scale=width / pixels.shape[1], taken_at=taken_at,
                        note="; ".join(notes))


def _decode_raw(data: bytes, name: str, max_pixels: int, max_side: int) -> DecodedImage:
    """A camera RAW file (engine/raw.py), reduced like a large JPEG; its date from the EXIF of its TIFF
    structure where Pillow can read it."""
    try:
        photo = read_raw(data, max_pixels)
    except RawUnreadable as exc:
        raise ImageRejected(name, str(exc)) from None
    image = photo.image
    if max(image.size) > 2 * max_side:
        image = ImageOps.contain(image, (max_side, max_side))
    try:
        taken_at, date_note = _taken_at(Image.open(io.BytesIO(data)))
    except Exception:  # a RAW format Pillow cannot open at all: no date
        taken_at, date_note = "", ""
    pixels = np.asarray(image)[:, :, ::-1].copy()
    return DecodedImage(pixels=pixels, width=photo.width, height=photo.height, scale=photo.width / pixels.shape[1],
                        taken_at=taken_at, note="; ".join(n for n in (photo.note, date_note) if n))


def read_photo_file(path: Path, name: str, max_bytes: int) -> bytes:
    """The file's bytes. What is not a regular file is refused before anything is read (a FIFO would wait for
    a writer for ever, a device such as /dev/zero never ends), and so is a file over `max_bytes` (from its
    size, not by reading it); a file that grows while it is read stops at `max_bytes` + 1 and is refused."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # no wait on a FIFO
    except OSError as exc:
        raise ImageRejected(name, f"cannot read file: {exc.strerror or exc}") from None
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        os.close(handle)
        raise ImageRejected(name, f"not a regular file (a {_kind(info.st_mode)})")
    with os.fdopen(handle, "rb") as file:
        if info.st_size > max_bytes:
            raise ImageRejected(name, f"file too large: {info.st_size} bytes exceeds the limit of {max_bytes} bytes")
        try:
            data = file.read(max_bytes + 1)
        except OSError as exc:
            raise ImageRejected(name, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ImageRejected(name, f"file too large: it grew past the limit of {max_bytes} bytes while read")
    return data


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "named pipe (FIFO)"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


def _as_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB. Images of more than 8 bits a channel (16-bit greyscale scans, float or 32-bit TIFFs) are
    scaled from their own darkest to their brightest value: Pillow's own conversion clips them, almost
    white or black."""
    if image.mode not in _WIDE_MODES:
        return image.convert("RGB")
    values = np.asarray(image, np.float32)
    finite = np.isfinite(values)
    low, high = (float(values[finite].min()), float(values[finite].max())) if finite.any() else (0.0, 0.0)
    scaled = np.zeros(values.shape, np.uint8)
    if high > low:
        scaled = np.clip((np.where(finite, values, low) - low) * (255.0 / (high - low)) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, "L").convert("RGB")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _png_claimed_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, for files too broken for PIL to open but big in their claim."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _taken_at(image: Image.Image) -> tuple[str, str]:
    """When the photo was taken, from EXIF (DateTimeOriginal in the Exif IFD, else DateTime), as ISO 8601,
    and a note when a date was written but cannot be believed (not a date, before photography, or after
    tomorrow). No date, or the zeros cameras without a clock write, is simply unknown."""
    try:
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    except Exception:  # a broken EXIF block: no date, not an error
        return "", ""
    text = str(raw or "").strip("\x00 ")
    if not text.strip("0: "):
        return "", ""
    taken = _exif_time(text)
    if taken is None:
        return "", f"EXIF date {text[:40]!r} ignored (not a date)"
    if taken.year < FIRST_PHOTO_YEAR or taken > dt.datetime.now() + dt.timedelta(days=1):
        return "", f"EXIF date {taken.isoformat()} ignored (not a plausible date for a photo)"
    return taken.isoformat(), ""


def _exif_time(text: str) -> dt.datetime | None:
    """EXIF's own "2004:05:06 07:08:09", or the ISO 8601 some software writes there instead (with an offset
    or not), as the camera's local time."""
    try:
        return dt.datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        pass
    if not re.fullmatch(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d.*", text):  # a day alone is no time of day
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def orientation_of(image: Image.Image) -> int:
    """The photo's EXIF orientation (1-8; 1 when it has none or a broken EXIF block)."""
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not lose the photo: treat it as upright
        return 1
