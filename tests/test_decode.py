"""Decoding: orientation, reduced decoding of large JPEGs, and every kind of broken file refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from badfiles import write_bad_files
from peoplegraph.engine.decode import ImageRejected, decode_image

LIMITS = {"max_pixels": 100_000_000, "max_bytes": 200 * 2**20, "max_side": 1600}


def _decode(path: Path, **overrides):
    return decode_image(path, name=path.name, **{**LIMITS, **overrides})


def test_broken_files_are_rejected_with_their_reason(tmp_path: Path, shared_data: Path) -> None:
    real = next((shared_data / "lfw-devtrain" / "Aaron_Peirsol").glob("*.jpg"))
    for name, word in write_bad_files(tmp_path, real).items():
        with pytest.raises(ImageRejected) as caught:
            _decode(tmp_path / name)
        assert caught.value.name == name and word in caught.value.reason


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.new("RGB", (3000, 2000)).save(path)
    with pytest.raises(ImageRejected, match="3000x2000 pixels exceeds the limit of 1000000"):
        _decode(path, max_pixels=1_000_000)
    with pytest.raises(ImageRejected, match="file too large"):
        _decode(path, max_bytes=100)


def test_the_pixel_limit_setting_is_the_only_limit(tmp_path: Path) -> None:
    """PIL's own bomb guard (about 89 MP) must neither refuse what the setting allows nor decide alone."""
    path = tmp_path / "panorama.jpg"
    Image.new("L", (12_000, 8_000), 128).save(path, quality=50)  # 96 MP
    decoded = _decode(path, max_pixels=100_000_000)
    assert (decoded.width, decoded.height) == (12_000, 8_000) and decoded.scale > 1
    with pytest.raises(ImageRejected, match="12000x8000 pixels exceeds the limit of 90000000"):
        _decode(path, max_pixels=90_000_000)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    pixels = np.zeros((200, 400, 3), np.uint8)
    pixels[:, :50] = 255  # a white band on the left of the stored image
    exif = Image.Exif()
    exif[0x0112] = 6  # viewer rotates 90 degrees clockwise
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    image = _decode(path)
    assert (image.width, image.height) == (200, 400)
    assert image.pixels.shape == (400, 200, 3)
    assert image.pixels[:50].mean() > 200 and image.pixels[-50:].mean() < 50  # the band is now on top


def test_large_jpegs_are_decoded_small_with_full_size_geometry(tmp_path: Path, shared_data: Path) -> None:
    big = shared_data / "faces-misc" / "deepface" / "images" / "img49.jpg"  # 4352 x 2903
    image = _decode(big, max_side=1000)
    assert (image.width, image.height) == (4352, 2903)
    assert max(image.pixels.shape[:2]) < 4352 and image.scale > 1
    assert abs(image.pixels.shape[1] * image.scale - 4352) < 1e-6


def test_content_decides_the_format_not_the_suffix(shared_data: Path) -> None:
    webp_named_jpg = shared_data / "faces-misc" / "deepface" / "images" / "img47.jpg"
    image = _decode(webp_named_jpg)
    assert (image.width, image.height) == (1350, 1800) and image.pixels.dtype == np.uint8


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tiff"])
def test_lossless_formats_round_trip(tmp_path: Path, suffix: str) -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(pixels).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    image = _decode(path)
    assert np.array_equal(image.pixels, pixels[:, :, ::-1])  # BGR


def test_heic_photos_decode(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    Image.fromarray(np.full((64, 96, 3), (200, 100, 50), np.uint8)).save(path, quality=95)
    image = _decode(path)
    assert (image.width, image.height) == (96, 64)
    assert np.abs(image.pixels[32, 48].astype(int) - [50, 100, 200]).max() < 12  # BGR of the RGB colour


def test_the_capture_time_comes_from_exif(tmp_path: Path) -> None:
    dated, plain, zeroed = tmp_path / "dated.jpg", tmp_path / "plain.jpg", tmp_path / "zeroed.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2004:05:06 07:08:09"  # DateTimeOriginal
    Image.new("RGB", (64, 64)).save(dated, exif=exif)
    Image.new("RGB", (64, 64)).save(plain)
    broken = Image.Exif()
    broken[0x0132] = "0000:00:00 00:00:00"  # cameras without a clock write this
    Image.new("RGB", (64, 64)).save(zeroed, exif=broken)
    assert _decode(dated).taken_at == "2004-05-06T07:08:09"
    assert _decode(plain).taken_at == "" and _decode(zeroed).taken_at == ""
