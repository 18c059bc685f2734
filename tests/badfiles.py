"""Files of the kinds users really drop into a library, broken or odd, made in a temporary folder by code
(no binaries committed): each with the outcome ingest must give it."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming width x height pixels (no image data behind it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bad_files(folder: Path, real_jpeg: Path) -> dict[str, str]:
    """Writes the broken files; returns {file name: a word the rejection reason must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("these are not the photos you are looking for\n")
    data = real_jpeg.read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "bomb.png").write_bytes(png_header(100_000, 100_000))
    return {"empty.jpg": "empty", "notes.jpg": "not an image", "truncated.jpg": "truncated", "bomb.png": "too large"}


def write_corpus(folder: Path, real_jpeg: Path) -> dict[str, tuple[str, str]]:
    """The broken files and every odd input the reliability issue lists; returns {file name: (outcome, text)}:
    ("skipped", a word of the reason), ("noted", a word of the note) or ("stored", "")."""
    expected = {name: ("skipped", word) for name, word in write_bad_files(folder, real_jpeg).items()}
    face = Image.open(real_jpeg).convert("RGB")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "PNG")
    small = buffer.getvalue()
    at = small.index(b"IDAT") - 4  # a text chunk whose 200 MB of zeros take 200 KB: a metadata bomb
    text_bomb = _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * 200_000_000, 9))
    (folder / "text-bomb.png").write_bytes(small[:at] + text_bomb + small[at:])
    expected["text-bomb.png"] = ("skipped", "metadata too large")
    face.convert("CMYK").save(folder / "cmyk.jpg")
    expected["cmyk.jpg"] = ("stored", "")
    frames = [face, face.rotate(10), face.rotate(20)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    expected["animated.gif"] = ("noted", "frame 1 of 3")
    face.save(folder / "pages.tif", save_all=True, append_images=frames[1:])
    expected["pages.tif"] = ("noted", "page 1 of 3")
    face.save(folder / "phone.heic", quality=90)
    expected["phone.heic"] = ("stored", "")
    grey16 = (np.asarray(face.convert("L"), np.uint16) * 16 + 2000)
    Image.fromarray(grey16).save(folder / "scan-16bit.png")
    expected["scan-16bit.png"] = ("stored", "")
    Image.fromarray(np.asarray(face.convert("L"), np.float32) / 255.0).save(folder / "float.tif")
    expected["float.tif"] = ("stored", "")
    face.convert("1").save(folder / "line-art.bmp")
    expected["line-art.bmp"] = ("stored", "")
    absurd = Image.Exif()
    absurd[0x0112] = 99  # no such orientation: read upright
    absurd.get_ifd(0x8769)[0x9003] = "9999:99:99 99:99:99"
    absurd[0x0132] = "9999:01:01 00:00:00"
    face.save(folder / "absurd-exif.jpg", exif=absurd)
    expected["absurd-exif.jpg"] = ("noted", "ignored (not a date)")
    os.mkfifo(folder / "pipe.jpg")
    expected["pipe.jpg"] = ("skipped", "named pipe")
    (folder / "endless.jpg").symlink_to("/dev/zero")
    expected["endless.jpg"] = ("skipped", "character device")
    with open(folder / "huge.jpg", "wb") as sparse:  # 3 GB on no disk: refused from its size
        sparse.truncate(3 * 2**30)
    expected["huge.jpg"] = ("skipped", "file too large")
    (folder / "readme.txt").write_text("a note beside the photos")
    expected["readme.txt"] = ("skipped", "not a photo format")
    odd_names = ("%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.jpg", "tab\tand\x1bescape.jpg", "rtl\u202egpj.png")
    for quality, name in zip((80, 85, 90), odd_names):  # three photos, not one photo three times
        face.save(folder / name, "JPEG", quality=quality)
    expected.update({"%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.jpg": ("stored", ""), "tab\tand\x1bescape.jpg": ("stored", ""),
                     "rtl\u202egpj.png": ("stored", "")})
    return expected
