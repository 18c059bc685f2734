"""Broken files of the kinds users really drop into a library, made in a temporary folder."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming width x height pixels (no image data behind it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def write_bad_files(folder: Path, real_jpeg: Path) -> dict[str, str]:
    """Writes the broken files; returns {file name: a word the rejection reason must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("these are not the photos you are looking for\n")
    data = real_jpeg.read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "bomb.png").write_bytes(png_header(100_000, 100_000))
    return {"empty.jpg": "empty", "notes.jpg": "not an image", "truncated.jpg": "truncated", "bomb.png": "too large"}
