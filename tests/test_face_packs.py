"""The buffalo_s pack (512-D, w600k_mbf + SCRFD-0.5GF) from ../shared/models/insightface, one face model per
project, and moving a project from one pack to another without losing a decision."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs import load_pack
from peoplegraph.engine.packs.insightface_pack import KNOWN_PACKS
from peoplegraph.engine.packs.manifest import Manifest
from peoplegraph.linking import service as linking
from peoplegraph.services.clustering import cluster_new_faces
from peoplegraph.services.face_model import ProjectFaceModelError
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.reembed import switch_face_model
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.search import search_project, selfie_embedding
from peoplegraph.settings import Settings

PROJECT = "cast"
pytest.importorskip("insightface")


@pytest.fixture(scope="module")
def buffalo_s_models(shared_models: Path, model_dir: Path) -> Path:
    """The shared model cache with buffalo_s prepared in it from ../shared/models/insightface (offline)."""
    load_pack(Settings(model_dir=model_dir, model_pack="buffalo_s",
                       model_source=shared_models / "insightface")).prepare()
    return model_dir


def _photos(shared_data: Path) -> list[Path]:
    lfw = shared_data / "lfw-devtrain"
    return [*sorted((lfw / "Colin_Powell").glob("*.jpg"))[:6], *sorted((lfw / "Tony_Blair").glob("*.jpg"))[:6],
            shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg"]


def test_buffalo_s_is_prepared_offline_from_a_folder_with_its_own_thresholds(
        buffalo_s_models: Path, shared_models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = Manifest.read(buffalo_s_models / "buffalo_s")
    known = KNOWN_PACKS["buffalo_s"]
    assert {(f.role, f.sha256) for f in manifest.files} == {(f.role, f.sha256) for f in known.files}
    assert manifest.thresholds == known.thresholds and "cluster_similarity" in manifest.thresholds
    pack = load_pack(Settings(model_dir=buffalo_s_models, model_pack="buffalo_s"))
    pack.prepare()
    assert pack.embedding_dim == 512 and pack.model_id.startswith("w600k_mbf-")
    assert pack.cluster_similarity == known.thresholds["cluster_similarity"]  # not SFace's 0.50
    # a folder holding the two files, named as the pack, gets the same thresholds (known by the recognizer)
    folder = tmp_path / "my-pack"
    folder.mkdir()
    for name in ("det_500m.onnx", "w600k_mbf.onnx"):
        (folder / name).symlink_to(shared_models / "insightface" / name)
    by_folder = load_pack(Settings(model_dir=tmp_path / "models", model_pack=str(folder)))
    by_folder.prepare()
    assert by_folder.model_id == pack.model_id and by_folder.cluster_similarity == pack.cluster_similarity

    # offline, nothing given: one error naming each file, its sha256 and where to put it
    monkeypatch.setattr("peoplegraph.engine.packs.sources.download_command", lambda requirement, folder: "false")
    offline = load_pack(Settings(model_dir=tmp_path / "empty", model_pack="buffalo_s"))
    monkeypatch.setattr(type(offline), "_insightface_download",
                        lambda self: (_ for _ in ()).throw(ModelPackError("no network")))
    with pytest.raises(ModelPackError) as caught:
        offline.prepare()
    message = str(caught.value)
    for entry in known.files:
        assert entry.file in message and entry.sha256 in message
    assert str(tmp_path / "empty" / "buffalo_s") in message and "--model-source" in message
    # a source folder holding another file under the pack's name is refused, not used
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "w600k_mbf.onnx").write_bytes(b"not the model")
    (wrong / "det_500m.onnx").symlink_to(shared_models / "insightface" / "det_500m.onnx")
    with pytest.raises(ModelPackError, match="w600k_mbf.onnx has sha256 .*, not the pack's"):
        load_pack(Settings(model_dir=tmp_path / "other", model_pack="buffalo_s", model_source=wrong)).prepare()


def test_a_project_keeps_one_face_model_and_moves_to_another_keeping_every_decision(
        buffalo_s_models: Path, shared_data: Path, tmp_path: Path) -> None:
    photos = _photos(shared_data)
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in photos:
        shutil.copy(photo, folder / photo.name)
    buffalo = Settings(data_dir=tmp_path / "data", model_dir=buffalo_s_models, model_pack="buffalo_s")
    sface = buffalo.model_copy(update={"model_pack": "yunet-sface"})
    with Runtime(buffalo) as runtime:
        report = IngestService(runtime).ingest(PROJECT, collect_sources([folder], IngestReport()))
        assert report.new_photos == len(photos) and report.faces >= len(photos)
        cluster_new_faces(runtime, PROJECT, report.face_ids)
        faces = runtime.vectors.faces(PROJECT, with_embeddings=True)
        assert faces[0].embedding.shape == (512,)
        colin = _cluster_of(runtime, folder / photos[0].name)
        linking.confirm_cluster(runtime, PROJECT, colin, name="Colin Powell", actor="test")
        decisions = runtime.graph.face_decisions(PROJECT)
        clusters = {f.face_id: f.cluster_id for f in faces}
    assert decisions

    with Runtime(sface) as runtime:  # another pack: refused, reads included, and nothing written
        with pytest.raises(ProjectFaceModelError, match="models switch"):
            IngestService(runtime).ingest(PROJECT, collect_sources([folder], IngestReport()))
        with pytest.raises(ProjectFaceModelError):
            runtime.vectors.project_faces(PROJECT)
        report = switch_face_model(runtime, PROJECT)
        assert report.switched and report.faces == len(faces) and report.photos == len(photos)
        moved = runtime.vectors.faces(PROJECT, with_embeddings=True)
        assert {f.face_id: f.cluster_id for f in moved} == clusters  # same faces, same clusters
        assert moved[0].embedding.shape == (128,)
        assert runtime.graph.face_decisions(PROJECT) == decisions  # every decision kept
        found = search_project(runtime, PROJECT, selfie_embedding(runtime, folder / photos[1].name))
        assert _photo_id(folder / photos[3].name) in {m.photo_id for m in found}  # Colin Powell, another photo
        assert not switch_face_model(runtime, PROJECT).switched  # already there: nothing to do

    (folder / photos[2].name).unlink()  # a photo gone: the switch back stops and changes nothing
    with Runtime(buffalo) as runtime:
        with pytest.raises(ProjectFaceModelError):
            runtime.vectors.count(PROJECT)
        report = switch_face_model(runtime, PROJECT)
        assert not report.switched and [u["path"] for u in report.unavailable] == [str(folder / photos[2].name)]
        assert runtime.graph.face_model(PROJECT)[0].startswith("sface-")
    with Runtime(sface) as runtime:
        assert {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)} == clusters


def _photo_id(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cluster_of(runtime: Runtime, path: Path) -> int:
    photo_id = _photo_id(path)
    (face,) = [f for f in runtime.vectors.faces(PROJECT) if f.photo_id == photo_id]
    assert face.cluster_id >= 0
    return face.cluster_id
