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
    iso = Image.Exif()
    iso[0x0132] = "2018-01-22T19:58:36-05:00"  # ISO 8601 where EXIF's own shape belongs: the local time kept
    Image.new("RGB", (64, 64)).save(tmp_path / "iso.jpg", exif=iso)
    assert _decode(tmp_path / "iso.jpg").taken_at == "2018-01-22T19:58:36"


def test_dates_outside_photography_are_ignored_with_a_note(tmp_path: Path) -> None:
    for raw, kept in (("9999:01:01 00:00:00", ""), ("1700:01:01 00:00:00", ""), ("1826:06:01 12:00:00", "1826-06-01T12:00:00")):
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = raw
        path = tmp_path / f"{raw[:4]}.jpg"
        Image.new("RGB", (64, 64)).save(path, exif=exif)
        image = _decode(path)
        assert image.taken_at == kept
        assert ("ignored" in image.note) is (kept == "")


@pytest.mark.parametrize("mode, values", [
    ("I;16", np.linspace(1000, 3000, 64 * 48).reshape(48, 64).astype(np.uint16)),  # a 16-bit grey scan
    ("I", np.linspace(-5e6, 9e6, 64 * 48).reshape(48, 64).astype(np.int32)),
    ("F", np.linspace(0.0, 0.01, 64 * 48).reshape(48, 64).astype(np.float32)),
])
def test_images_of_more_than_8_bits_are_scaled_by_their_real_range(tmp_path: Path, mode: str, values) -> None:
    path = tmp_path / f"{mode.replace(';', '')}.{'png' if mode == 'I;16' else 'tif'}"
    Image.fromarray(values).save(path)
    pixels = _decode(path).pixels
    assert pixels.min() == 0 and pixels.max() == 255  # Pillow's own conversion leaves it white or black
    assert np.all(np.diff(pixels[:, :, 0].astype(int).ravel()) >= 0)  # the order of the values is kept


def test_a_16_bit_scan_of_a_face_still_shows_the_face(tmp_path: Path, shared_data: Path, face_pack) -> None:
    from peoplegraph.engine.analysis import detect_faces
    from peoplegraph.settings import Settings

    real = next((shared_data / "lfw-devtrain" / "Aaron_Peirsol").glob("*.jpg"))
    grey = np.asarray(Image.open(real).convert("L"), np.uint16) * 16 + 2000  # 12-bit scanner values
    path = tmp_path / "scan.png"
    Image.fromarray(grey).save(path)
    image = _decode(path)
    assert len(detect_faces(face_pack, image, Settings(), face_pack.detection_threshold)) >= 1


def test_one_bit_and_multi_page_files(tmp_path: Path) -> None:
    Image.new("1", (40, 30), 1).save(tmp_path / "line-art.png")
    assert _decode(tmp_path / "line-art.png").pixels.max() == 255
    pages = [Image.new("RGB", (40, 30), (i * 80, 0, 0)) for i in range(3)]
    pages[0].save(tmp_path / "pages.tif", save_all=True, append_images=pages[1:])
    assert _decode(tmp_path / "pages.tif").note == "page 1 of 3 read (a multi-page file)"
    pages[0].save(tmp_path / "moving.gif", save_all=True, append_images=pages[1:])
    assert _decode(tmp_path / "moving.gif").note == "frame 1 of 3 read (an animation)"
    Image.new("RGB", (40, 30)).save(tmp_path / "plain.bmp")
    assert _decode(tmp_path / "plain.bmp").note == ""


def test_what_is_not_a_regular_file_or_is_too_large_is_refused_before_it_is_read(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.jpg")  # opening it for reading would wait for a writer for ever
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")  # never ends
    (tmp_path / "folder.jpg").mkdir()
    with open(tmp_path / "huge.jpg", "wb") as sparse:  # 3 GB that takes no disk: its size is enough
        sparse.truncate(3 * 2**30)
    for name, reason in (("pipe.jpg", "not a regular file (a named pipe (FIFO))"),
                         ("zero.jpg", "not a regular file (a character device)"),
                         ("folder.jpg", "not a regular file (a folder)"),
                         ("huge.jpg", f"file too large: {3 * 2**30} bytes exceeds the limit of {200 * 2**20} bytes")):
        with pytest.raises(ImageRejected) as caught:
            _decode(tmp_path / name)
        assert caught.value.reason == reason, name


# The transpose that stores an upright photo so that a viewer honouring EXIF orientation o shows it upright.
_STORED_AS = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
              7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_the_boxes_of_the_upright_photo(tmp_path: Path, shared_data: Path, face_pack,
                                                                      orientation: int) -> None:
    from peoplegraph.engine.analysis import detect_faces
    from peoplegraph.settings import Settings

    upright = Image.open(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg").convert("RGB")
    transpose = _STORED_AS[orientation]
    stored = upright if transpose is None else upright.transpose(transpose)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"  # lossless: the pixels the detector sees are the same
    stored.save(path, exif=exif)
    upright.save(tmp_path / "upright.png")
    seen, truth = _decode(path), _decode(tmp_path / "upright.png")
    assert (seen.width, seen.height) == (truth.width, truth.height) == upright.size
    found = detect_faces(face_pack, seen, Settings(), face_pack.detection_threshold)
    expected = detect_faces(face_pack, truth, Settings(), face_pack.detection_threshold)
    assert len(found) == len(expected) >= 6
    for box in expected.boxes:  # each face where it is in the upright photo, within a few pixels
        assert np.abs(found.boxes - box).max(axis=1).min() < 4


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_turned_heic_gives_the_boxes_of_the_upright_photo(tmp_path: Path, shared_data: Path, face_pack,
                                                            orientation: int) -> None:
    """A phone's HEIC stored turned: pillow-heif writes the EXIF orientation as the container's own rotation,
    which decoding applies (and the EXIF orientation is then 1, so it is not applied twice)."""
    from peoplegraph.engine.analysis import detect_faces
    from peoplegraph.settings import Settings

    upright = Image.open(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.heic"
    upright.transpose(_STORED_AS[orientation]).save(path, format="HEIF", exif=exif.tobytes(), quality=95)
    seen, truth = _decode(path), _decode(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg")
    assert (seen.width, seen.height) == upright.size
    found = detect_faces(face_pack, seen, Settings(), face_pack.detection_threshold)
    expected = detect_faces(face_pack, truth, Settings(), face_pack.detection_threshold)
    assert len(found) == len(expected) >= 6
    for box in expected.boxes:  # lossy HEVC: within a few more pixels than a lossless PNG
        assert np.abs(found.boxes - box).max(axis=1).min() < 8


def _dng(rgb: Image.Image, path: Path) -> None:
    """A camera RAW file (DNG) of a photo: its pixels as a 12-bit GBRG Bayer mosaic, as a sensor records them
    (pidng writes the file: no RAW can be downloaded here)."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, Orientation, PhotometricInterpretation

    pixels = (np.asarray(rgb, np.uint16) * 16)[: rgb.height // 2 * 2, : rgb.width // 2 * 2]
    h, w = pixels.shape[:2]
    mosaic = np.empty((h, w), np.uint16)
    mosaic[0::2, 0::2], mosaic[0::2, 1::2] = pixels[0::2, 0::2, 1], pixels[0::2, 1::2, 2]  # G B
    mosaic[1::2, 0::2], mosaic[1::2, 1::2] = pixels[1::2, 0::2, 0], pixels[1::2, 1::2, 1]  # R G
    tags = DNGTags()
    for tag, value in ((Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w), (Tag.TileLength, h),
                       (Tag.Orientation, Orientation.Horizontal), (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 12),
                       (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
                       (Tag.CFARepeatPatternDim, [2, 2]), (Tag.CFAPattern, CFAPattern.GBRG), (Tag.BlackLevel, 0),
                       (Tag.WhiteLevel, 4095), (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.ColorMatrix1, [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]]),
                       (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]), (Tag.DNGVersion, DNGVersion.V1_4),
                       (Tag.DNGBackwardVersion, DNGVersion.V1_2), (Tag.Make, "peoplegraph"), (Tag.Model, "test")):
        tags.set(tag, value)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    writer.convert(mosaic, filename=str(path.with_suffix("")))


def test_a_camera_raw_file_is_developed_and_its_faces_found(tmp_path: Path, shared_data: Path, face_pack) -> None:
    from peoplegraph.engine.analysis import detect_faces
    from peoplegraph.settings import Settings

    upright = Image.open(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg").convert("RGB")
    raw = tmp_path / "group.dng"
    _dng(upright, raw)
    seen = _decode(raw)
    assert (seen.width, seen.height) == (upright.width // 2 * 2, upright.height // 2 * 2)
    assert "developed from the RAW file's sensor data" in seen.note  # this DNG has no preview
    found = detect_faces(face_pack, seen, Settings(), face_pack.detection_threshold)
    expected = detect_faces(face_pack, _decode(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg"),
                            Settings(), face_pack.detection_threshold)
    assert len(found) >= len(expected) - 1 >= 5  # developed at half size: the faces are still there
    # without its suffix (a kept upload is named by its hash) it is still read as RAW, not as a TIFF
    same = decode_image(raw.read_bytes(), name="0" * 64, max_pixels=10**8, max_bytes=10**9, max_side=1600)
    assert (same.width, same.height) == (seen.width, seen.height)
    # a file that only says it is RAW is refused with the reason
    fake = tmp_path / "fake.nef"
    fake.write_bytes(b"II*\x00" + bytes(64))
    with pytest.raises(ImageRejected, match="fake.nef: not a RAW file LibRaw reads"):
        _decode(fake)
