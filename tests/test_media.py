"""The media store: originals kept, thumbnails and face crops made once, encrypted at rest with a key."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peoplegraph.media.cipher import MediaCipher, MediaKeyError
from peoplegraph.media.store import MediaStore

PHOTO_ID = "ab" * 32


def _photo(orientation: int = 1) -> bytes:
    """A 300 x 200 photo (as seen) with a red square at (40..90, 20..70), stored for `orientation`."""
    pixels = np.zeros((200, 300, 3), np.uint8)
    pixels[20:70, 40:90] = (255, 0, 0)
    upright = Image.fromarray(pixels)
    stored = upright.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "PNG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize("encrypted", [False, True])
def test_originals_thumbnails_and_crops(tmp_path: Path, encrypted: bool) -> None:
    cipher = MediaCipher.from_settings(MediaCipher.generate_key(), None, tmp_path) if encrypted else None
    store = MediaStore(tmp_path / "media", cipher)
    data = _photo(orientation=6)
    store.keep_original("p", PHOTO_ID, data)
    assert store.has_original("p", PHOTO_ID) and store.original("p", PHOTO_ID) == data
    on_disk = (tmp_path / "media" / "p" / "originals" / "ab" / PHOTO_ID).read_bytes()
    assert (on_disk == data) is not encrypted and (b"IHDR" in on_disk) is not encrypted
    thumb = Image.open(io.BytesIO(store.thumbnail("p", PHOTO_ID, 256, lambda: data)))
    assert thumb.format == "JPEG" and thumb.size == (256, 171)  # upright: landscape, as the viewer sees it
    crop = Image.open(io.BytesIO(store.face_crop("p", PHOTO_ID, -42, (40.0, 20.0, 90.0, 70.0), lambda: data)))
    red = np.asarray(crop.convert("RGB"), float)
    assert crop.size[0] == crop.size[1] and red[crop.size[1] // 2, crop.size[0] // 2, 0] > 200  # the square
    assert red[2, 2, 0] < 60  # with a margin of background around it
    # made once: the source is not read again
    assert store.thumbnail("p", PHOTO_ID, 256, lambda: pytest.fail("read again")) == store.thumbnail(
        "p", PHOTO_ID, 256, lambda: b"")
    with pytest.raises(ValueError, match="not one of"):
        store.thumbnail("p", PHOTO_ID, 300, lambda: data)
    with pytest.raises(ValueError, match="not an id"):
        store.original("p", "../../etc/passwd")


def test_the_key_is_checked_and_never_kept_beside_the_media(tmp_path: Path) -> None:
    key = MediaCipher.generate_key()
    store = MediaStore(tmp_path / "media", MediaCipher.from_settings(key, None, tmp_path))
    store.keep_original("p", PHOTO_ID, b"photo bytes")
    other = MediaStore(tmp_path / "media", MediaCipher.from_settings(MediaCipher.generate_key(), None, tmp_path))
    with pytest.raises(MediaKeyError, match="cannot be decrypted with this media key"):
        other.original("p", PHOTO_ID)
    moved = tmp_path / "media" / "p" / "originals" / "cd" / ("cd" * 32)  # a file put under another name
    moved.parent.mkdir(parents=True)
    moved.write_bytes((tmp_path / "media" / "p" / "originals" / "ab" / PHOTO_ID).read_bytes())
    with pytest.raises(MediaKeyError, match="altered"):
        store.original("p", "cd" * 32)
    plain = MediaStore(tmp_path / "media")
    plain.keep_original("p", "ef" * 32, b"written before a key was set")
    with pytest.raises(MediaKeyError, match="not encrypted"):
        store.original("p", "ef" * 32)
    inside = tmp_path / "data" / "media.key"
    inside.parent.mkdir()
    inside.write_text(key)
    with pytest.raises(MediaKeyError, match="inside the data folder"):
        MediaCipher.from_settings("", inside, tmp_path / "data")
    outside = tmp_path / "secrets" / "media.key"
    outside.parent.mkdir()
    outside.write_text(key + "\n")
    assert MediaCipher.from_settings("", outside, tmp_path / "data") is not None
    with pytest.raises(MediaKeyError, match="not base64"):
        MediaCipher.from_settings("not a key!", None, tmp_path)
    with pytest.raises(MediaKeyError, match="needs 32"):
        MediaCipher.from_settings("AAAA", None, tmp_path)
    with pytest.raises(MediaKeyError, match="not both"):
        MediaCipher.from_settings(key, outside, tmp_path)
    assert MediaCipher.from_settings("", None, tmp_path) is None
