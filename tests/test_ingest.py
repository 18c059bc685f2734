"""Ingest through the service and the CLI on real photos and real embedded stores."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from badfiles import write_bad_files
from peoplegraph.services.clustering import cluster_new_faces, cluster_project
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

PROJECT = "stills"


@pytest.fixture
def library(tmp_path: Path, shared_data: Path) -> tuple[Path, dict[str, str]]:
    """A folder of two group photos, three LFW photos and four broken files."""
    folder = tmp_path / "library"
    folder.mkdir()
    group = shared_data / "faces-misc" / "group-photos"
    for name in ("insightface_t1.jpg", "facenet_pytorch_multiface.jpg"):
        (folder / name).symlink_to(group / name)
    lfw = sorted((shared_data / "lfw-devtrain" / "Aaron_Peirsol").glob("*.jpg"))[:3]
    for photo in lfw:
        (folder / photo.name).symlink_to(photo)
    broken = write_bad_files(folder / "broken", lfw[0])
    return folder, broken


def _ingest(settings: Settings, folder: Path) -> IngestReport:
    with Runtime(settings) as runtime:
        report = IngestReport()
        sources = collect_sources([folder], report)
        return IngestService(runtime).ingest(PROJECT, sources, report=report)


def _cli(settings: Settings, *args: str) -> dict:
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(settings.data_dir), PEOPLEGRAPH_MODEL_DIR=str(settings.models_path))
    done = subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args, "--json"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_bad_files_are_reported_and_good_photos_stored(app_settings: Settings, library) -> None:
    folder, broken = library
    report = _ingest(app_settings, folder)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == set(broken)
    for name, word in broken.items():
        assert word in reasons[name], (name, reasons[name])
    assert report.new_photos == report.photos == 5
    assert report.faces >= 12 + 3  # six faces in each group photo, one per LFW photo
    with Runtime(app_settings) as runtime:
        assert runtime.vectors.count(PROJECT) == report.faces
        assert runtime.graph.photo_count(PROJECT) == 5


def test_a_model_failure_on_one_photo_skips_that_photo_only(app_settings: Settings, library,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Detection runs in the prefetch threads and embedding in the caller's: a failure in either is reported
    by file name and the rest of the batch is stored."""
    folder, _ = library
    with Runtime(app_settings) as runtime:
        pack = runtime.pack
        real_detect, real_embed = pack.detect, pack.embed

        def detect(image, threshold=None):
            if image.shape[:2] == (250, 250) and not hasattr(detect, "failed"):  # the first LFW photo
                detect.failed = True
                raise RuntimeError("simulated detector crash")
            return real_detect(image, threshold)

        def embed(image, detections, scale=1.0):
            if len(detections) == 6 and not hasattr(embed, "failed"):  # the first group photo
                embed.failed = True
                raise RuntimeError("simulated recognizer crash")
            return real_embed(image, detections, scale)

        monkeypatch.setattr(pack, "detect", detect)
        monkeypatch.setattr(pack, "embed", embed)
        report = IngestReport()
        sources = collect_sources([folder], report)
        report = IngestService(runtime).ingest(PROJECT, sources, report=report)
        failed = {Path(s.path).name: s.reason for s in report.skipped if "processing failed" in s.reason}
        assert sorted(failed.values()) == ["processing failed: simulated detector crash",
                                           "processing failed: simulated recognizer crash"]
        assert report.new_photos == 3 and runtime.graph.photo_count(PROJECT) == 3
        assert runtime.vectors.count(PROJECT) == report.faces


def test_ingest_twice_adds_nothing_and_survives_a_restart(app_settings: Settings, library) -> None:
    folder, _ = library
    first = _ingest(app_settings, folder)
    # a new process reads what the first one stored, and its ingest of the same files adds nothing
    again = _cli(app_settings, "ingest", str(folder), "--project", PROJECT)
    assert set(again) >= {"photos", "new_photos", "faces", "skipped"}
    assert again["photos"] == first.photos and again["new_photos"] == 0 and again["faces"] == 0
    assert {Path(s["path"]).name for s in again["skipped"]} == {Path(s.path).name for s in first.skipped}
    assert again["clustering"]["faces"] == first.faces
    with Runtime(app_settings) as runtime:
        assert runtime.vectors.count(PROJECT) == first.faces
        assert runtime.graph.photo_count(PROJECT) == first.new_photos
        faces = runtime.vectors.faces(PROJECT)
        assert len({f.face_id for f in faces}) == first.faces


def test_a_photo_moved_to_another_folder_is_recorded_there_on_its_next_ingest(app_settings: Settings,
                                                                              shared_data: Path, tmp_path: Path) -> None:
    photo = sorted((shared_data / "lfw-devtrain" / "Aaron_Peirsol").glob("*.jpg"))[0]
    old = tmp_path / "shoot" / "a.jpg"
    old.parent.mkdir()
    old.write_bytes(photo.read_bytes())
    assert _ingest(app_settings, old.parent).new_photos == 1
    backup = tmp_path / "backup" / "a.jpg"  # a second copy while the first is still there: not a move
    backup.parent.mkdir()
    backup.write_bytes(photo.read_bytes())
    assert _ingest(app_settings, backup.parent).moved == []
    new = tmp_path / "sorted" / "2024" / "a.jpg"  # the shoot reorganised: the first file is gone
    new.parent.mkdir(parents=True)
    old.rename(new)
    moved = _cli(app_settings, "ingest", str(tmp_path / "sorted"), "--project", PROJECT)
    assert moved["new_photos"] == 0 and moved["moved"] == [f"{old} -> {new}"]
    with Runtime(app_settings) as runtime:
        assert [p.path for p in runtime.graph.photos(PROJECT)] == [str(new)]  # served and written from there
    assert _cli(app_settings, "ingest", str(tmp_path / "sorted"), "--project", PROJECT)["moved"] == []


def test_the_same_photo_twice_in_one_batch_is_stored_once(app_settings: Settings, shared_data: Path, tmp_path: Path) -> None:
    photo = shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg"
    copy = tmp_path / "copy-of-t1.jpg"
    copy.write_bytes(photo.read_bytes())
    with Runtime(app_settings) as runtime:
        report = IngestService(runtime).ingest(PROJECT, collect_sources([photo, copy], IngestReport()))
        assert report.photos == 2 and report.new_photos == 1
        assert runtime.vectors.count(PROJECT) == report.faces == 6


def test_cli_clusters_list_and_bad_project_name(app_settings: Settings, library) -> None:
    folder, _ = library
    _ingest(app_settings, folder)
    clusters = _cli(app_settings, "cluster", "--project", PROJECT)
    assert clusters["faces"] >= 15
    listed = _cli(app_settings, "clusters", "list", "--project", PROJECT)
    assert len(listed) == clusters["clusters"]
    # three photos of Aaron Peirsol form one cluster whose representative is one of his faces
    assert any(c["size"] >= 3 for c in listed)
    for c in listed:
        assert set(c) >= {"id", "size", "representative", "mean_confidence"}
        assert len(c["representative"]["box"]) == 4
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(app_settings.data_dir))
    done = subprocess.run([sys.executable, "-m", "peoplegraph.cli", "clusters", "list", "--project", "../x"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "project" in done.stderr and "Traceback" not in done.stderr


def test_small_or_poor_faces_do_not_seed_clusters(app_settings: Settings, shared_data: Path) -> None:
    """Three photos of one person cluster by default; with a seeding bar above every face, none do."""
    photos = sorted((shared_data / "lfw-devtrain" / "Aaron_Peirsol").glob("*.jpg"))[:3]
    strict = app_settings.model_copy(update={"cluster_seed_min_face_size": 4096})
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(photos, IngestReport()))
        assert cluster_project(runtime, PROJECT).clusters == 1
    with Runtime(strict) as runtime:
        report = cluster_project(runtime, PROJECT)
        assert report.clusters == 0 and report.unclustered_faces == report.faces
        assert runtime.graph.clusters(PROJECT) == []


def test_missing_mode_clusters_new_faces_and_changes_no_existing_cluster(app_settings: Settings,
                                                                         shared_data: Path) -> None:
    """After a first clustering, new photos of a known person join that person's cluster, photos of a new
    person form a new cluster with a new id, and no face clustered before moves."""
    lfw = shared_data / "lfw-devtrain"
    colin = sorted((lfw / "Colin_Powell").glob("*.jpg"))
    tony = sorted((lfw / "Tony_Blair").glob("*.jpg"))
    hugo = sorted((lfw / "Hugo_Chavez").glob("*.jpg"))[:4]
    with Runtime(app_settings) as runtime:
        ingest = IngestService(runtime)
        ingest.ingest(PROJECT, collect_sources(colin[:5] + tony[:5], IngestReport()))
        first = cluster_project(runtime, PROJECT)
        assert first.clusters == 2
        before = {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)}
        ingest.ingest(PROJECT, collect_sources(colin[5:8] + hugo, IngestReport()))
        report = cluster_project(runtime, PROJECT, mode="missing")
        after = {f.face_id: f for f in runtime.vectors.faces(PROJECT)}
        assert all(after[i].cluster_id == c for i, c in before.items())  # nothing clustered before moved
        colin_cluster = {before[i] for i in before if after[i].photo_id in _ids(colin[:5])} - {-1}
        new_colin = {f.cluster_id for f in after.values() if f.photo_id in _ids(colin[5:8])}
        assert new_colin == colin_cluster
        new_hugo = {f.cluster_id for f in after.values() if f.photo_id in _ids(hugo)}
        assert len(new_hugo) == 1 and new_hugo.isdisjoint(set(before.values())) and -1 not in new_hugo
        assert report.clusters == 3 and len(runtime.graph.clusters(PROJECT)) == 3
        with pytest.raises(ValueError, match="mode"):
            cluster_project(runtime, PROJECT, mode="sideways")


def test_an_ingest_run_again_after_a_crash_places_the_faces_the_first_run_stored(app_settings: Settings,
                                                                               shared_data: Path) -> None:
    """An ingest killed after storing its photos but before placing their faces (the fault harness found
    it): the same ingest again must place them as one uninterrupted ingest does, though their photos are
    already stored."""
    lfw = shared_data / "lfw-devtrain"
    first = sorted((lfw / "Colin_Powell").glob("*.jpg"))[:5] + sorted((lfw / "Tony_Blair").glob("*.jpg"))[:5]
    second = sorted((lfw / "Colin_Powell").glob("*.jpg"))[5:8] + sorted((lfw / "Hugo_Chavez").glob("*.jpg"))[:4]

    def library(settings: Settings, crash: bool) -> list[list[int]]:
        with Runtime(settings) as runtime:
            ingest = IngestService(runtime)
            report = ingest.ingest(PROJECT, collect_sources(first, IngestReport()))
            cluster_new_faces(runtime, PROJECT, report.face_ids)
            if crash:  # stored, never placed
                ingest.ingest(PROJECT, collect_sources(second, IngestReport()))
            report = ingest.ingest(PROJECT, collect_sources(second, IngestReport()))
            assert report.new_photos == (0 if crash else len(second))
            cluster_new_faces(runtime, PROJECT, report.face_ids)
            groups: dict[int, list[int]] = {}
            for face in runtime.vectors.faces(PROJECT):
                groups.setdefault(face.cluster_id, []).append(face.face_id)
            return sorted(sorted(ids) for ids in groups.values())

    clean = library(app_settings, crash=False)
    crashed = library(app_settings.model_copy(update={"data_dir": app_settings.data_dir / "crashed"}), crash=True)
    assert crashed == clean
    assert len(clean) >= 3  # Colin Powell, Tony Blair, Hugo Chavez


def _ids(paths: list[Path]) -> set[str]:
    import hashlib

    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_every_name_the_file_system_holds_is_stored_losslessly_and_every_other_file_is_listed(
        app_settings: Settings, shared_data: Path, tmp_path: Path) -> None:
    from peoplegraph.services.file_names import file_path
    from peoplegraph.services.ingest import walk_images

    from PIL import Image

    lfw = sorted((shared_data / "lfw-devtrain").glob("A*/*.jpg"))[:5]
    folder = tmp_path / "old share"
    folder.mkdir()
    odd = [b"\xe9t\xe9 \xff.jpg", "photo\u202egpj.jpg".encode(), b"line\nbreak.jpg", b"back\\slash.jpg"]
    for raw, photo in zip(odd, lfw):
        os.symlink(photo, os.path.join(os.fsencode(folder), raw))
    Image.open(lfw[4]).save(folder / "scan.bmp")  # a suffix once ignored without a word
    (folder / "readme.txt").write_text("not a photo")
    os.mkfifo(folder / "stuck.jpg")
    report = _ingest(app_settings, folder)
    assert report.new_photos == report.photos == 5
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons == {f"{folder}/readme.txt": "not a photo format peoplegraph reads (.txt)",
                       f"{folder}/stuck.jpg": "not a regular file (a named pipe (FIFO))"}
    with Runtime(app_settings) as runtime:
        stored = sorted(p.path for p in runtime.graph.photos(PROJECT))
    assert sorted(os.fsencode(file_path(p)) for p in stored) == sorted(
        os.path.join(os.fsencode(folder), raw) for raw in [*odd, b"scan.bmp"])
    assert f"{folder}/\\xe9t\\xe9 \\xff.jpg" in stored and f"{folder}/photo\\u202egpj.jpg" in stored
    assert f"{folder}/line\\x0abreak.jpg" in stored and f"{folder}/back\\\\slash.jpg" in stored
    skipped: list = []
    assert list(walk_images(tmp_path / "gone", skipped)) == []
    assert [(s.path, s.reason) for s in skipped] == [(f"{tmp_path}/gone", "cannot read folder: No such file or directory")]


class _RefusingGraph:
    """The graph store, refusing every batch of photos that holds one path (as it refused names that were
    not UTF-8)."""

    def __init__(self, graph, refused: str) -> None:
        self._graph, self._refused = graph, refused

    def add_photos(self, photos):
        if any(p.path.endswith(self._refused) for p in photos):
            raise RuntimeError("cannot store this photo")
        return self._graph.add_photos(photos)

    def __getattr__(self, name: str):
        return getattr(self._graph, name)


def test_a_photo_the_graph_refuses_is_skipped_alone_and_leaves_no_faces_behind(app_settings: Settings, library) -> None:
    from peoplegraph.linking.repair import check, repair

    folder, _ = library
    with Runtime(app_settings) as runtime:
        runtime.__dict__["graph"] = _RefusingGraph(runtime.graph, "insightface_t1.jpg")
        report = IngestReport()
        report = IngestService(runtime).ingest(PROJECT, collect_sources([folder], report), report=report)
        assert [s.reason for s in report.skipped if s.path.endswith("insightface_t1.jpg")] == [
            "the graph store refused the photo"]
        assert report.new_photos == 4 and runtime.graph.photo_count(PROJECT) == 4
        assert runtime.vectors.count(PROJECT) == report.faces == len(report.face_ids)
        assert check(runtime, PROJECT) == []
        # faces written without their photo (an ingest killed between its two writes): found, then removed
        (kept,) = [p for p in runtime.graph.photos(PROJECT) if p.path.endswith("facenet_pytorch_multiface.jpg")]
        faces = runtime.vectors.faces_of_photo(PROJECT, kept.photo_id)
        runtime.vectors.upsert([dataclasses.replace(f, photo_id="0" * 64, face_id=f.face_id + 1,
                                                    embedding=np.asarray(f.embedding, np.float32)) for f in
                                runtime.vectors.faces_by_id(PROJECT, [g.face_id for g in faces], with_embeddings=True)])
        found = check(runtime, PROJECT)
        assert any(f"{len(faces)} faces in the vector store belong to photos the graph does not have" in p for p in found)
        assert repair(runtime, PROJECT).repaired and check(runtime, PROJECT) == []
        assert runtime.vectors.count(PROJECT) == report.faces and len(runtime.vectors.project_faces(PROJECT)) == report.faces


def test_ingest_stops_cleanly_below_the_free_disk_margin(app_settings: Settings, library) -> None:
    folder, _ = library
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(app_settings.data_dir),
               PEOPLEGRAPH_MODEL_DIR=str(app_settings.models_path), PEOPLEGRAPH_MIN_FREE_DISK_MB=str(2**40))
    done = subprocess.run([sys.executable, "-m", "peoplegraph.cli", "ingest", str(folder), "--project", PROJECT,
                           "--no-cluster"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "below the 1099511627776 MiB margin (PEOPLEGRAPH_MIN_FREE_DISK_MB)" in done.stderr
    with Runtime(app_settings) as runtime:
        assert runtime.graph.photo_count(PROJECT) == 0 and runtime.vectors.count(PROJECT) == 0


def test_every_input_of_the_bad_input_corpus_has_a_clear_outcome(app_settings: Settings, shared_data: Path,
                                                                 tmp_path: Path) -> None:
    from badfiles import write_corpus
    from peoplegraph.services.file_names import stored_name

    folder = tmp_path / "corpus"
    real = sorted((shared_data / "lfw-devtrain" / "Aaron_Peirsol").glob("*.jpg"))[0]
    expected = write_corpus(folder, real)
    report = _ingest(app_settings, folder)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    noted = {Path(n.path).name: n.note for n in report.notes}
    with Runtime(app_settings) as runtime:
        stored = {Path(p.path).name: p for p in runtime.graph.photos(PROJECT)}
    for name, (outcome, text) in expected.items():
        shown = stored_name(name)
        if outcome == "skipped":
            assert text in skipped.get(shown, ""), (name, skipped.get(shown))
            assert shown not in stored
        else:
            assert shown in stored and shown not in skipped, (name, skipped.get(shown))
            assert (text in noted.get(shown, "")) if outcome == "noted" else shown not in noted, (name, noted.get(shown))
    assert set(skipped) | set(stored) == {stored_name(n) for n in expected}  # nothing silently left out
    assert stored[stored_name("absurd-exif.jpg")].taken_at == ""
    faces = {name: 0 for name in stored}
    with Runtime(app_settings) as runtime:
        for name, photo in stored.items():
            faces[name] = len(runtime.vectors.faces_of_photo(PROJECT, photo.photo_id))
    for name in ("cmyk.jpg", "animated.gif", "phone.heic", "scan-16bit.png", "float.tif"):
        assert faces[name] == 1, (name, faces)  # the face is found in each, whatever the encoding


def test_a_vector_store_write_cut_short_leaves_no_faces_behind(app_settings: Settings, library,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from peoplegraph.observations.store import StoreWriteError

    folder, _ = library
    with Runtime(app_settings) as runtime:
        store = runtime.vectors._target._store  # the Milvus store behind the face index
        original = store.upsert

        def half_then_full(faces):
            original(faces[: len(faces) // 2])
            raise StoreWriteError("the vector store could not write faces: No space left on device")

        monkeypatch.setattr(store, "upsert", half_then_full)
        with pytest.raises(StoreWriteError):
            IngestService(runtime).ingest(PROJECT, collect_sources([folder], IngestReport()))
        monkeypatch.undo()
        assert runtime.vectors.count(PROJECT) == 0 and runtime.graph.photo_count(PROJECT) == 0
        assert len(runtime.vectors.project_faces(PROJECT)) == 0
