"""Camera RAW files (CR2, CR3, NEF, ARW, DNG, RAF, ORF, RW2, ...) through LibRaw (`rawpy`).

A RAW file is read through the preview the camera embedded in it (a full-size or large JPEG in most
cameras: what the camera's screen showed, no development needed), turned as the camera says; a file with
no usable preview is developed from its sensor data at half size (enough for faces, four times cheaper).
Without rawpy (a platform with no wheel) a RAW file is refused with the reason, never mistaken for the small
TIFF thumbnail many RAW formats carry first.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageOps

RAW_SUFFIXES = frozenset({".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
                          ".rw2", ".pef", ".srw", ".3fr", ".iiq", ".erf", ".mos", ".kdc", ".dcr", ".x3f", ".rwl"})
# A preview whose longer side is at least this many pixels (or the whole sensor's) is used as it is.
MIN_PREVIEW_SIDE = 1024
# LibRaw's `flip`: how the sensor image is turned for the viewer.
_TURN = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90, 6: Image.Transpose.ROTATE_270}


class RawUnreadable(ValueError):
    """Why a RAW file cannot be read (the caller names the file)."""


@dataclass(frozen=True)
class RawPhoto:
    image: Image.Image  # RGB, as the viewer sees it
    width: int  # the developed photo's full size, as the viewer sees it
    height: int
    note: str  # what was read: the embedded preview, or the developed sensor data


def is_raw(name: str, data: bytes = b"") -> bool:
    """Whether a photo is a camera RAW file: by its suffix, or by its first bytes when its name has no
    suffix (a kept upload is named by its hash)."""
    if "." in name.rsplit("/", 1)[-1]:
        return "." + name.rsplit(".", 1)[-1].lower() in RAW_SUFFIXES
    return _looks_raw(data)


def _looks_raw(data: bytes) -> bool:
    if data.startswith((b"FUJIFILMCCD-RAW", b"IIRO", b"MMOR", b"IIU\x00")) or data[4:12] == b"ftypcrx ":
        return True  # RAF, ORF, RW2, CR3
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return False
    if data[8:10] == b"CR":  # CR2
        return True
    # DNG (a DNGVersion tag), or a TIFF-based RAW whose first image is a reduced one (NEF, ARW, PEF, SRW)
    order = "<" if data[:2] == b"II" else ">"
    try:
        (first,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[first:first + 2])
        for at in range(first + 2, first + 2 + 12 * min(count, 512), 12):
            tag, kind, _, value = struct.unpack(order + "HHI4s", data[at:at + 12])
            if tag == 0xC612:
                return True
            if tag == 0x00FE and kind == 4 and struct.unpack(order + "I", value)[0] == 1:
                return True
    except struct.error:
        return False
    return False


def read_raw(data: bytes, max_pixels: int) -> RawPhoto:
    try:
        import rawpy
    except ImportError:  # pragma: no cover - rawpy is a core dependency where a wheel exists
        raise RawUnreadable("a camera RAW file, and rawpy (LibRaw) is not installed: pip install rawpy") from None
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            if sizes.width * sizes.height > max_pixels:
                raise RawUnreadable(f"image too large: {sizes.width}x{sizes.height} pixels exceeds the limit of "
                                    f"{max_pixels} pixels")
            width, height = (sizes.height, sizes.width) if sizes.flip in (5, 6) else (sizes.width, sizes.height)
            preview = _preview(raw, rawpy, sizes.flip)
            if preview is not None and max(preview.size) >= min(MIN_PREVIEW_SIDE, max(width, height)):
                return RawPhoto(preview, width, height, f"the RAW file's embedded preview ({preview.width}x"
                                                        f"{preview.height}) read")
            developed = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
            return RawPhoto(Image.fromarray(developed).convert("RGB"), width, height,
                            "developed from the RAW file's sensor data at half size (no usable preview)")
    except RawUnreadable:
        raise
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise RawUnreadable(f"not a RAW file LibRaw reads ({type(exc).__name__}: {exc})") from None


def _preview(raw, rawpy, flip: int) -> Image.Image | None:
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        image = Image.open(io.BytesIO(thumb.data))
        image.load()
        if image.getexif().get(0x0112, 1) != 1:
            return ImageOps.exif_transpose(image).convert("RGB")
    else:
        image = Image.fromarray(thumb.data)
    turn = _TURN.get(flip)
    return (image.transpose(turn) if turn is not None else image).convert("RGB")
