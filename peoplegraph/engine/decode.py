"""Decoding photos safely: EXIF orientation applied, large JPEGs decoded small, bombs and junk refused.

Every refusal is an `ImageRejected` naming the file and the reason, so a batch can report it and go on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from pillow_heif import register_heif_opener

register_heif_opener()  # HEIC/HEIF: pillow-heif is a core dependency

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"})
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


def decode_image(source: Path | bytes, *, name: str, max_pixels: int, max_bytes: int, max_side: int) -> DecodedImage:
    data = _read(source, name, max_bytes)
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size  # from the header: nothing decoded yet
        if width * height > max_pixels:
            raise ImageRejected(
                name, f"image too large: {width}x{height} pixels exceeds the limit of {max_pixels} pixels"
            )
        orientation = _orientation(image)
        taken_at = _taken_at(image)
        if orientation in _TRANSPOSING_ORIENTATIONS:
            width, height = height, width
        if image.format == "JPEG" and max(width, height) > 2 * max_side:
            # DCT scaling by 1/2, 1/4 or 1/8 while decoding: cheap, and faces stay far above detection size
            image.draft("RGB", (max(1, image.size[0] * max_side // max(width, height)),
                                max(1, image.size[1] * max_side // max(width, height))))
        image.load()
        image = ImageOps.exif_transpose(image)
        rgb = image.convert("RGB")
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        claimed = _png_claimed_size(data)
        if claimed and claimed[0] * claimed[1] > max_pixels:
            raise ImageRejected(name, f"image too large: {claimed[0]}x{claimed[1]} pixels exceeds the limit of "
                                      f"{max_pixels} pixels") from None
        raise ImageRejected(name, "not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(name, f"truncated or corrupt image data ({exc})") from None
    pixels = np.asarray(rgb)[:, :, ::-1].copy()  # RGB -> BGR, what OpenCV-style models take
    return DecodedImage(pixels=pixels, width=width, height=height, scale=width / pixels.shape[1], taken_at=taken_at)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(source: Path | bytes, name: str, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        try:
            size = source.stat().st_size
            if size > max_bytes:
                raise ImageRejected(name, f"file too large: {size} bytes exceeds the limit of {max_bytes} bytes")
            data = source.read_bytes()
        except OSError as exc:
            raise ImageRejected(name, f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ImageRejected(name, "empty file")
    if len(data) > max_bytes:
        raise ImageRejected(name, f"file too large: {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    return data


def _png_claimed_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, for files too broken for PIL to open but big in their claim."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _taken_at(image: Image.Image) -> str:
    """When the photo was taken, from EXIF (DateTimeOriginal in the Exif IFD, else DateTime), as ISO 8601."""
    try:
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        return dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").isoformat() if raw else ""
    except Exception:  # absent, malformed or zeroed ("0000:00:00 00:00:00") dates: unknown, not an error
        return ""


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not lose the photo: treat it as upright
        return 1
