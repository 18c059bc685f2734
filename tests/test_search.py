"""Selfie search: the ranking rule (services/search.match_photos) and `peoplegraph search` on real photos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from peoplegraph.services.search import match_photos
from peoplegraph.settings import Settings


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def test_a_cluster_reaches_photos_whose_face_alone_would_miss() -> None:
    """Faces with set similarities to the selfie (threshold 0.5): a cluster is taken whole only when the
    selfie's mean similarity to it is at least 0.4."""
    basis = np.eye(8, dtype=np.float32)
    query = basis[0]

    def face(similarity: float, axis: int) -> np.ndarray:
        return similarity * basis[0] + np.sqrt(1 - similarity**2) * basis[axis]

    faces = np.stack([
        face(0.9, 1),  # a: a clear match, cluster 7
        face(0.45, 2),  # b: the same person, turned: below the threshold, cluster 7 (mean 0.675)
        face(0.1, 3),  # c: a stranger, cluster 9
        face(0.1, 4),  # d: the stranger again, cluster 9
        face(0.55, 5),  # e: a look-alike matched on its own, in the stranger's cluster (mean 0.25)
    ])
    found = match_photos(query, faces, ["a", "b", "c", "d", "e"], [10, 11, 12, 13, 14],
                         np.array([7, 7, 9, 9, 9]), 0.5)
    assert [(m.photo_id, m.via, m.face_id) for m in found] == [("a", "face", 10), ("e", "face", 14),
                                                               ("b", "cluster", 11)]
    assert [m.score for m in found] == pytest.approx([0.9, 0.55, 0.45])
    assert match_photos(query, np.zeros((0, 8), np.float32), [], [], np.zeros(0), 0.5) == []


def test_one_photo_with_several_matching_faces_is_listed_once() -> None:
    query = _unit(np.ones(8))
    faces = np.stack([query, _unit(np.ones(8) + 0.01)])
    found = match_photos(query, faces, ["same", "same"], [1, 2], np.array([-1, -1]), 0.5)
    assert len(found) == 1 and found[0].face_id == 1


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(settings.data_dir), PEOPLEGRAPH_MODEL_DIR=str(settings.models_path))
    return subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def test_search_finds_the_person_of_a_selfie_and_nobody_else(app_settings: Settings, shared_data: Path,
                                                             tmp_path: Path) -> None:
    """Two people's photos are ingested; a photo of one of them that was not ingested is the selfie."""
    lfw = shared_data / "lfw-devtrain"
    colin = sorted((lfw / "Colin_Powell").glob("*.jpg"))[:7]
    tony = sorted((lfw / "Tony_Blair").glob("*.jpg"))[:6]
    library = tmp_path / "library"
    library.mkdir()
    for photo in colin[1:] + tony:
        (library / photo.name).symlink_to(photo)
    assert _cli(app_settings, "ingest", str(library), "--project", "event", "--json").returncode == 0
    done = _cli(app_settings, "search", str(colin[0]), "--project", "event", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout)
    names = [Path(m["path"]).name for m in answer["photos"]]
    assert set(names) == {p.name for p in colin[1:]}, names
    assert answer["threshold"] == pytest.approx(0.5) and all(m["score"] > 0 for m in answer["photos"])
    text = _cli(app_settings, "search", str(colin[0]), "--project", "event", "--limit", "2")
    assert text.returncode == 0 and text.stdout.startswith("2 photo(s) of event match")
    nobody = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), (128, 128, 128)).save(nobody)
    refused = _cli(app_settings, "search", str(nobody), "--project", "event")
    assert refused.returncode != 0 and "no face found in the selfie" in refused.stderr
    assert "Traceback" not in refused.stderr
