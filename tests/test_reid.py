"""Body re-identification (issue 14), on the real model files of ../shared/models and real photos and person
crops of ../shared/data: the person detector, the ReID packs (files checked, the 0267 rewrite), and
`peoplegraph reid eval` with Market-1501's protocol on identities held out of market1501-train."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from cli_runner import cli_json, run_cli
from peoplegraph.engine.pack import ModelPackError
from peoplegraph.reid.detector import PersonDetector
from peoplegraph.reid.evaluation import Crop, evaluate, held_out_split, market_crops
from peoplegraph.reid.packs import BODY_PACKS, DETECTOR, BodyEmbedder, pack_files
from peoplegraph.settings import Settings


def _market(shared_data: Path) -> Path:
    return shared_data / "market1501-train" / "bounding_box_train"


def test_people_are_found_in_group_photos_and_nowhere_else(shared_data: Path, shared_models: Path) -> None:
    detector = PersonDetector(shared_models / "yolox" / DETECTOR.file)
    groups = shared_data / "faces-misc" / "group-photos"
    for name, least in (("dlib_2007_007763.jpg", 6), ("dlib_2008_001322.jpg", 3), ("fr_obama_and_biden.jpg", 2)):
        image = cv2.imread(str(groups / name))
        found = detector.get(image, 0.3)
        assert len(found) >= least, name
        assert (found.boxes[:, 2] > found.boxes[:, 0]).all() and (found.boxes[:, 3] > found.boxes[:, 1]).all()
        assert found.boxes[:, [0, 2]].max() <= image.shape[1] and found.boxes[:, [1, 3]].max() <= image.shape[0]
        assert (np.diff(found.scores) <= 0).all()  # most confident first
    empty = np.full((480, 640, 3), 127, np.uint8)
    cv2.rectangle(empty, (100, 100), (300, 400), (30, 160, 220), -1)
    assert len(detector.get(empty, 0.3)) == 0


def test_the_person_detector_runs_at_a_larger_side_and_finds_more(shared_data: Path, shared_models: Path) -> None:
    """YOLOX-Nano, published for 416 pixels, declared at 512: the boxes stay in the photo's pixels, the people
    found at 416 are mostly found again, and more besides over the group photos; a side off the grid is
    refused."""
    model = shared_models / "yolox" / DETECTOR.file
    at_416, at_512 = PersonDetector(model), PersonDetector(model, 512)
    counts, again = np.zeros(2, int), []
    for path in sorted((shared_data / "faces-misc" / "group-photos").glob("*.jpg")):
        image = cv2.imread(str(path))
        small, large = at_416.get(image, 0.5), at_512.get(image, 0.5)
        counts += len(small), len(large)
        if len(large):
            assert large.boxes[:, [0, 2]].max() <= image.shape[1] and large.boxes[:, [1, 3]].max() <= image.shape[0]
        for box in small.boxes:  # found at 512 in the same place?
            x1, y1 = np.maximum(large.boxes[:, 0], box[0]), np.maximum(large.boxes[:, 1], box[1])
            x2, y2 = np.minimum(large.boxes[:, 2], box[2]), np.minimum(large.boxes[:, 3], box[3])
            inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
            areas = (large.boxes[:, 2] - large.boxes[:, 0]) * (large.boxes[:, 3] - large.boxes[:, 1])
            again.append(bool(len(large)) and (inter / (areas + (box[2] - box[0]) * (box[3] - box[1]) - inter)).max() > 0.6)
    assert counts[1] > counts[0] >= 60, counts
    assert np.mean(again) >= 0.9, np.mean(again)
    with pytest.raises(ValueError, match="multiple of 32"):
        PersonDetector(model, 500)


def test_pack_files_are_checked_and_a_missing_one_is_named(tmp_path: Path, shared_models: Path) -> None:
    spec = BODY_PACKS["intel-0287"]
    with pytest.raises(ModelPackError, match="needs person-reidentification-retail-0287.xml .sha256 09af746c"):
        pack_files(spec.name, spec.files[:1], tmp_path / "models", tmp_path / "empty", spec.recipe)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / spec.files[0].file).write_text("<net/>")  # the right name, not the right file
    with pytest.raises(ModelPackError, match=r"damaged/person-reidentification-retail-0287.xml is another file of "
                                             r"that name \(sha256 "):
        pack_files(spec.name, spec.files[:1], tmp_path / "models", damaged, spec.recipe)
    with pytest.raises(ModelPackError, match="nowhere .model_source. is not a folder"):
        pack_files(spec.name, spec.files[:1], tmp_path / "models", tmp_path / "nowhere", spec.recipe)
    # a download tree (Open Model Zoo's intel/<model>/FP32/...) is searched by file name
    paths = pack_files(spec.name, spec.files, tmp_path / "models", shared_models / "reid", spec.recipe)
    assert set(paths) == {"model", "weights"} and all(p.parent == tmp_path / "models" / spec.name for p in paths.values())
    # a cached manifest cut short (no files listed) is made again, not read as a pack without a model
    manifest = tmp_path / "models" / spec.name / "manifest.json"
    manifest.write_text('{"pack": "intel-0287", "files": []}')
    assert pack_files(spec.name, spec.files, tmp_path / "models", shared_models / "reid", spec.recipe) == paths
    manifest.write_text("[]")
    with pytest.raises(ModelPackError, match="not a valid manifest .it is not an object of a pack name"):
        pack_files(spec.name, spec.files, tmp_path / "models", shared_models / "reid", spec.recipe)


def test_the_0267_rewrite_turns_nan_into_embeddings(tmp_path: Path, shared_data: Path, shared_models: Path) -> None:
    crops = [cv2.imread(str(p)) for p in sorted(_market(shared_data).glob("*.jpg"))[:24]]
    published = next((shared_models / "reid").rglob("person-reidentification-retail-0267.onnx"))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(published), options, providers=["CPUExecutionProvider"])
    blob = cv2.resize(crops[0], (128, 256))[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)[None].copy()
    assert np.isnan(session.run(None, {"data": blob})[0]).all()  # as published
    embedder = BodyEmbedder(BODY_PACKS["intel-0267-onnx"], tmp_path / "models", shared_models / "reid")
    vectors = embedder.get(crops)
    assert vectors.shape == (24, 256) and np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    ids = [p.name[:4] for p in sorted(_market(shared_data).glob("*.jpg"))[:24]]
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -1)
    assert np.mean([ids[i] == ids[j] for i, j in enumerate(similarity.argmax(axis=1))]) >= 0.9


def test_market_protocol_leaves_out_same_camera_and_junk() -> None:
    crops = [Crop(Path(f"{i}.jpg"), identity, camera) for i, (identity, camera) in
             enumerate([(1, 1), (1, 2), (2, 1), (-1, 2), (0, 3)])]
    query, gallery = [Crop(Path("q.jpg"), 1, 1)], crops
    # the query's nearest are: its own camera's crop (left out), junk (left out), a distractor, then the match
    q = np.array([[1.0, 0.0]], np.float32)
    g = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.99, 0.14], [0.8, 0.6]], np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    rank1, rank5, _, mean_ap, scored = evaluate(q, g, query, gallery)
    assert rank1 == 0.0 and rank5 == 1.0 and mean_ap == pytest.approx(0.5) and scored == 1
    with pytest.raises(ValueError, match="no query has a match"):  # its only match seen by its own camera
        evaluate(q, g[:1], query, gallery[:1])


def test_reid_eval_on_identities_held_out_of_market(tmp_path: Path, shared_data: Path, shared_models: Path,
                                                    model_dir: Path) -> None:
    query, gallery = held_out_split(_market(shared_data), 30, tmp_path / "split")
    q_crops, g_crops = market_crops(query), market_crops(gallery)
    assert {c.identity for c in q_crops} <= {c.identity for c in g_crops} and len({c.identity for c in g_crops}) == 30
    assert len({(c.identity, c.camera) for c in q_crops}) == len(q_crops)  # one query per identity and camera
    settings = Settings(data_dir=tmp_path / "data", model_dir=tmp_path / "models", model_source=shared_models / "reid")
    found = cli_json(settings, "--model-source", str(shared_models / "reid"), "reid", "eval", "--query", str(query),
                     "--gallery", str(gallery), "--rerank")
    plain, reranked = found["scores"]
    assert found["pack"] == "intel-0277" and plain["queries"] == plain["scored"] == len(q_crops)
    assert plain["rank1"] >= 0.95 and plain["mAP"] >= 0.9, plain
    assert reranked["reranked"] and reranked["mAP"] >= plain["mAP"] - 0.01
    # a folder that is not Market's layout is refused with the file named
    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(q_crops[0].path, odd / "holiday.jpg")
    done = run_cli(settings, "reid", "eval", "--query", str(odd), "--gallery", str(gallery))
    assert done.returncode != 0 and "holiday.jpg: not a Market-1501 crop name" in done.stderr
    assert "Traceback" not in done.stderr
