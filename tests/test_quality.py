"""Pose and quality indicators of real faces (engine/pose.py, engine/quality.py), the `detect` command, ingest.

Pose depends on landmarks, so its tests detect again on the changed photo. The pixel indicators (blur,
lighting, sunglasses, occlusion) are measured on the face's pixels: their tests keep the original
detection and change only the pixels, so that a detector missing a heavily altered face cannot hide them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from peoplegraph.engine.faces import Face
from peoplegraph.engine.quality import FLAG_BITS, INDICATORS, QualityThresholds, analyse
from peoplegraph.settings import Settings

GROUP_PHOTO = "faces-misc/group-photos/insightface_t1.jpg"
TURNED = "lfw-devtrain/Drew_Barrymore/Drew_Barrymore_0001.jpg"  # nose to the image's right (yaw about +40)


def _largest(pack, image: np.ndarray) -> Face:
    faces = pack.get(image)
    assert faces, "no face found"
    return max(faces, key=lambda f: f.width * f.height)


@pytest.fixture(scope="module")
def lfw_frontal(shared_data: Path) -> list[Path]:
    """The first photo of each of the first 50 people of lfw-devtrain (alphabetical): mostly frontal."""
    people = sorted(p for p in (shared_data / "lfw-devtrain").iterdir() if p.is_dir())[:50]
    return [sorted(p.glob("*.jpg"))[0] for p in people]


@pytest.fixture(scope="module")
def frontal(face_pack, lfw_frontal: list[Path]) -> tuple[np.ndarray, Face]:
    """A sharp, well-lit, near-frontal LFW face with little roll."""
    for path in lfw_frontal:
        image = cv2.imread(str(path))
        face = _largest(face_pack, image)
        pose, quality = analyse(image, face)
        if abs(pose.yaw) < 10 and abs(pose.roll) < 3 and quality.flags == 0 and quality.score > 90:
            return image, face
    pytest.fail("no clean frontal face among the LFW photos")


def test_frontal_lfw_faces_have_small_yaw_and_roll(face_pack, lfw_frontal: list[Path]) -> None:
    poses = [analyse(image, _largest(face_pack, image))[0] for image in map(cv2.imread, map(str, lfw_frontal))]
    yaws = np.abs([p.yaw for p in poses])
    rolls = np.abs([p.roll for p in poses])
    assert np.median(yaws) < 15 and np.median(rolls) < 5, (np.median(yaws), np.median(rolls))


def test_rotating_a_photo_adds_that_roll(face_pack, lfw_frontal: list[Path]) -> None:
    """YuNet's landmarks follow a rotation only partly (about 0.8 of it, face by face 0.6-1.0: its regression
    leans towards upright faces), so the median over a dozen faces is held to 20 +- 5 degrees."""
    changes = []
    for path in lfw_frontal[:12]:
        image = cv2.imread(str(path))
        face = _largest(face_pack, image)
        centre = ((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2)
        rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D(centre, 20, 1.0), image.shape[1::-1],
                                 borderMode=cv2.BORDER_REPLICATE)
        after = analyse(rotated, _largest(face_pack, rotated))[0].roll
        changes.append(after - analyse(image, face)[0].roll)
    # positive: counter-clockwise as seen, the sense of OpenCV's angle
    assert all(c > 8 for c in changes) and abs(np.median(changes) - 20) < 5, changes


def test_a_mirrored_photo_flips_the_sign_of_yaw(face_pack, shared_data: Path) -> None:
    image = cv2.imread(str(shared_data / TURNED))
    yaw = analyse(image, _largest(face_pack, image))[0].yaw
    mirrored = cv2.flip(image, 1)
    yaw_mirrored = analyse(mirrored, _largest(face_pack, mirrored))[0].yaw
    assert yaw > 20 and yaw_mirrored < -20, (yaw, yaw_mirrored)  # + : nose to the image's right
    assert abs(yaw + yaw_mirrored) < 10


def test_blur_is_flagged_and_lowers_the_score(frontal) -> None:
    image, face = frontal
    _, sharp = analyse(image, face)
    _, blurred = analyse(cv2.GaussianBlur(image, (0, 0), 3), face)
    assert not sharp.blurry.flag and blurred.blurry.flag
    assert blurred.blurry.value < sharp.blurry.value and blurred.score < sharp.score - 20


def test_a_dark_photo_has_poor_lighting(frontal) -> None:
    image, face = frontal
    _, normal = analyse(image, face)
    _, dark = analyse((image * 0.15).astype(np.uint8), face)
    assert not normal.poor_lighting.flag and dark.poor_lighting.flag
    assert dark.score < normal.score


def test_black_eyes_look_like_sunglasses(frontal) -> None:
    image, face = frontal
    painted = image.copy()
    left, right = face.landmarks[0], face.landmarks[1]
    radius = round(0.3 * float(np.linalg.norm(right - left)))
    for x, y in (left, right):
        cv2.circle(painted, (round(float(x)), round(float(y))), radius, (12, 12, 12), -1)
    _, plain = analyse(image, face)
    _, glasses = analyse(painted, face)
    assert not plain.sunglasses.flag and glasses.sunglasses.flag, (plain.sunglasses, glasses.sunglasses)


def test_a_painted_lower_face_is_occlusion(frontal) -> None:
    image, face = frontal
    painted = image.copy()
    (_, _), (_, _), (_, nose_y), (_, _), (_, _) = face.landmarks
    x1, _, x2, y2 = (round(v) for v in face.box)
    cv2.rectangle(painted, (x1, round(float(nose_y)) + 4), (x2, y2), (200, 170, 90), -1)  # a light-blue mask
    _, plain = analyse(image, face)
    _, masked = analyse(painted, face)
    assert not plain.occlusion.flag and masked.occlusion.flag, (plain.occlusion, masked.occlusion)


def test_a_downscaled_face_is_small(face_pack, frontal) -> None:
    image, face = frontal
    factor = 40 / min(face.width, face.height)
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    small_face = _largest(face_pack, small)
    _, quality = analyse(small, small_face)
    _, big = analyse(image, face)
    assert quality.small_face.flag and quality.small_face.value < 50 and not big.small_face.flag
    assert quality.score < big.score


def test_thresholds_come_from_settings() -> None:
    settings = Settings(blur_threshold=500.0, profile_yaw=10.0)
    thresholds = QualityThresholds.from_settings(settings)
    assert thresholds.blur_threshold == 500.0 and thresholds.profile_yaw == 10.0
    assert thresholds.min_quality_face_size == 50


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEOPLEGRAPH_MODEL_DIR=str(settings.models_path))
    return subprocess.run([sys.executable, "-m", "peoplegraph.cli", "--data-dir", str(settings.data_dir), *args],
                          env=env, capture_output=True, text=True, timeout=600)


def test_detect_json_describes_every_face(app_settings: Settings, shared_data: Path) -> None:
    done = _cli(app_settings, "detect", "--json", str(shared_data / GROUP_PHOTO))
    assert done.returncode == 0, done.stderr[-2000:]
    faces = json.loads(done.stdout)
    assert len(faces) == 6
    for face in faces:
        assert set(face) == {"box", "landmarks", "confidence", "pose", "quality", "age", "child", "model_id"}
        assert face["age"] is None and face["child"] is None  # the default pack has no age model
        assert len(face["box"]) == 4 and len(face["landmarks"]) == 5 and 50 < face["confidence"] <= 100
        assert set(face["pose"]) == {"yaw", "pitch", "roll"}
        assert set(face["quality"]) == {"score", *INDICATORS} and 0 <= face["quality"]["score"] <= 100
        assert all(set(face["quality"][name]) == {"flag", "value"} for name in INDICATORS)
        assert face["model_id"] == "sface-2021dec"
    table = _cli(app_settings, "detect", str(shared_data / GROUP_PHOTO))
    assert table.returncode == 0 and "6 face(s)" in table.stdout and "yaw" in table.stdout


def test_detect_names_a_bad_file(app_settings: Settings, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image at all")
    for path in (junk, tmp_path / "missing.jpg"):
        done = _cli(app_settings, "detect", str(path))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], done.stderr


def test_ingest_stores_pose_and_quality(app_settings: Settings, shared_data: Path) -> None:
    from peoplegraph.graphql.types import Face as GraphQLFace
    from peoplegraph.services import catalog
    from peoplegraph.services.ingest import IngestService, PhotoSource
    from peoplegraph.services.runtime import Runtime

    photo = shared_data / GROUP_PHOTO
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest("quality", [PhotoSource(name=str(photo), path=photo)])
        stored = runtime.vectors.faces("quality")
    assert len(stored) == 6
    assert all(0 < f.quality_score <= 100 for f in stored)
    assert len({round(f.yaw, 3) for f in stored}) == 6 and any(abs(f.roll) > 1 for f in stored)
    profile = max(stored, key=lambda f: abs(f.yaw))
    assert abs(profile.yaw) > 45 and profile.quality_flags & FLAG_BITS["profile"]
    described = catalog.face_to_dict(profile)
    assert described["quality"]["profile"] is True and described["pose"]["yaw"] == round(profile.yaw, 1)
    graphql_face = GraphQLFace.of(profile, app_settings.child_age)
    assert graphql_face.quality.profile and graphql_face.pose.yaw == profile.yaw
    assert described["age"] is None and graphql_face.age is None and graphql_face.child is None
