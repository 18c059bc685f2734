"""Where a photo's XMP lives: a sidecar beside it, or a packet inside the file.

Sidecars are named as the applications that write them do: `photo.jpg.xmp` (digiKam, darktable) or
`photo.xmp` (Lightroom, Capture One); both are read, the `xmp_sidecar` setting says which is written. A
packet inside a JPEG is its APP1 segment of Adobe's XMP signature; inside other formats (PNG, TIFF, HEIC,
WebP, RAW) the `<x:xmpmeta>` packet is found by its markers, which XMP requires to be written as plain
UTF-8 text. Embedding is written into JPEG files only, as the one APP1 XMP segment after the EXIF one.
"""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from peoplegraph.engine.decode import IMAGE_SUFFIXES, orientation_of
from peoplegraph.metadata.xmp import MAX_PACKET_BYTES, PeopleTags, XmpError, read_people
from peoplegraph.services.file_names import stored_name

SIDECAR_STYLES = ("photo.jpg.xmp", "photo.xmp")
SIDECAR_SUFFIXES = frozenset({".xmp"})  # the files a folder walk takes as a photo's, not as a photo
XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
EXTENSION_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
_EXTENDED_GUID = re.compile(rb"""HasExtendedXMP(?:=["']|>)([0-9A-Fa-f]{32})""")
_SEGMENT_MAX = 65_533 - len(XMP_SIGNATURE)  # a JPEG segment's length field counts itself (2 bytes)
_PACKET = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.S)
_SOI, _SOS = b"\xff\xd8", 0xDA


def sidecar_path(photo: Path, style: str, taken: set[Path] | frozenset[Path] = frozenset()) -> Path:
    """The sidecar to write for `photo` in `style` (one of SIDECAR_STYLES). `photo.xmp` names one photo only
    while no other photo beside it shares its stem (nor one written in `taken`): else `photo.jpg.xmp`."""
    if style not in SIDECAR_STYLES:
        raise ValueError(f"xmp_sidecar: {style!r} is not one of {', '.join(SIDECAR_STYLES)}")
    by_stem = photo.with_suffix(".xmp")
    if style == "photo.xmp" and by_stem not in taken and not _stem_shared(photo):
        return by_stem
    return photo.with_name(photo.name + ".xmp")


def _stem_shared(photo: Path) -> bool:
    """Whether another photo file beside `photo` has its stem (a.jpg beside a.png, or a RAW with its JPEG)."""
    try:
        return any(p != photo and p.suffix.lower() in IMAGE_SUFFIXES
                   for p in photo.parent.glob(f"{glob_escape(photo.stem)}.*"))
    except OSError:
        return False


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def sidecars_of(photo: Path) -> list[Path]:
    """The sidecars beside `photo` that exist, digiKam's form first (and `.XMP` as cameras write it); the
    `photo.xmp` form only while no other photo shares the stem (it could be that photo's: the folder is
    listed only when such a sidecar exists)."""
    named = [p for p in (photo.with_name(photo.name + ".xmp"), photo.with_name(photo.name + ".XMP")) if p.is_file()]
    by_stem = [p for p in (photo.with_suffix(".xmp"), photo.with_suffix(".XMP")) if p != photo and p.is_file()]
    out: list[Path] = []
    for path in named + (by_stem if by_stem and not _stem_shared(photo) else []):
        if path not in out:
            out.append(path)
    return out


@dataclass(frozen=True)
class PhotoPeople:
    """Who a photo's XMP names (`tags`), read from `source` (its sidecar, or the photo itself); `error` says
    why its XMP could not be read. `name` is the photo as a report shows it."""

    name: str
    tags: PeopleTags
    source: str = ""
    error: str = ""
    photo_id: str = ""


def photo_people(path: Path | None, data: bytes, name: str) -> PhotoPeople | None:
    """The people a photo's XMP names: its sidecar (digiKam's name first), else the packet inside the photo;
    None when it has no XMP naming anyone."""
    sidecars = sidecars_of(path) if path is not None else []
    try:
        packets = embedded_packets(data)
    except XmpError as exc:
        return PhotoPeople(name, PeopleTags(), error=f"{name} (its embedded XMP): {exc}")
    if not sidecars and not packets:
        return None
    orientation, stored = stored_orientation(data)
    for sidecar in sidecars:
        try:
            tags = read_people(sidecar.read_bytes(), orientation=orientation, stored_size=stored)
        except (XmpError, OSError) as exc:
            return PhotoPeople(name, PeopleTags(), error=f"{stored_name(sidecar)}: {exc}")
        if not tags.empty:
            return PhotoPeople(name, tags, stored_name(sidecar))
    if not packets:
        return None
    try:
        tags = read_people(packets, orientation=orientation, stored_size=stored)
    except XmpError as exc:
        return PhotoPeople(name, PeopleTags(), error=f"{name} (its embedded XMP): {exc}")
    return PhotoPeople(name, tags, name) if not tags.empty else None


def stored_orientation(data: bytes) -> tuple[int, tuple[int, int] | None]:
    """A photo's EXIF orientation and its stored size (before orientation), from its header."""
    try:
        image = Image.open(io.BytesIO(data))
        return orientation_of(image), image.size
    except Exception:  # not an image Pillow opens (a RAW, say): no orientation to apply
        return 1, None


def embedded_packets(data: bytes) -> list[bytes]:
    """The XMP inside a photo's bytes: its packet, and a JPEG's extended packet after it (XMP part 3: a main
    packet too large for one segment carries the rest in segments of its own); [] when it has none."""
    if data.startswith(_SOI):
        main, parts = None, {}
        for marker, body in _jpeg_segments(data):
            if marker == 0xE1 and body.startswith(XMP_SIGNATURE) and main is None:
                main = body[len(XMP_SIGNATURE):]
            elif marker == 0xE1 and body.startswith(EXTENSION_SIGNATURE):
                rest = body[len(EXTENSION_SIGNATURE):]
                guid, (total, offset) = rest[:32], struct.unpack(">II", rest[32:40])
                parts.setdefault(guid, (total, {}))[1][offset] = rest[40:]
        if main is None:
            return []
        wanted = _EXTENDED_GUID.search(main)
        if wanted is None or wanted.group(1) not in parts:
            return [main]
        total, pieces = parts[wanted.group(1)]
        extended = b"".join(pieces[o] for o in sorted(pieces))
        return [main, extended] if len(extended) == total else [main]
    found = _PACKET.search(data)
    if found is None:
        return []
    if len(found.group(0)) > MAX_PACKET_BYTES:
        raise XmpError(f"XMP packet of {len(found.group(0))} bytes is past the limit of {MAX_PACKET_BYTES}")
    return [found.group(0)]


def _jpeg_segments(data: bytes):
    """(marker, body) of each segment before the image data."""
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == _SOS or 0xD0 <= marker <= 0xD9:
            return
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if length < 2:
            return
        yield marker, data[at + 4:at + 2 + length]
        at += 2 + length


def embed_in_jpeg(data: bytes, packet: bytes) -> bytes:
    """The JPEG with `packet` as its one XMP segment (any earlier XMP segment, extended ones too, replaced:
    `merge_people` made one packet of them), everything else kept byte for byte; XmpError for a file that is not a JPEG or a packet too large for one segment."""
    if not data.startswith(_SOI):
        raise XmpError("XMP is embedded into JPEG files only; write a sidecar for this one")
    if len(packet) > _SEGMENT_MAX:
        raise XmpError(f"the XMP packet ({len(packet)} bytes) is larger than one JPEG segment holds "
                       f"({_SEGMENT_MAX}); write a sidecar for this one")
    segment = b"\xff\xe1" + struct.pack(">H", len(XMP_SIGNATURE) + len(packet) + 2) + XMP_SIGNATURE + packet
    out = [_SOI]
    at, placed = 2, False
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == _SOS or 0xD0 <= marker <= 0xD9 or marker == 0xFF:
            break
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        body = data[at + 4:at + 2 + length]
        is_xmp = marker == 0xE1 and body.startswith((XMP_SIGNATURE, EXTENSION_SIGNATURE))
        if not placed and marker not in (0xE0, 0xE1):  # after JFIF and EXIF, before the rest
            out.append(segment)
            placed = True
        if not is_xmp:
            out.append(data[at:at + 2 + length])
        at += 2 + length
    if not placed:
        out.append(segment)
    out.append(data[at:])
    return b"".join(out)
