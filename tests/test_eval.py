"""`peoplegraph eval` on labelled folders made of real LFW photos, and its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peoplegraph.settings import Settings


def _labelled(root: Path, lfw: Path, people: list[str], per_person: int, singletons: list[str]) -> Path:
    for person in people + singletons:
        (root / person).mkdir(parents=True)
        photos = sorted((lfw / person).glob("*.jpg"))[: per_person if person in people else 1]
        for photo in photos:
            (root / person / photo.name).symlink_to(photo)
    return root


def _eval(settings: Settings, *args: str, pack: str = "yunet-sface", source: Path | None = None,
          cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(settings.data_dir), PEOPLEGRAPH_MODEL_DIR=str(settings.models_path),
               PEOPLEGRAPH_MODEL_PACK=pack, **({"PEOPLEGRAPH_MODEL_SOURCE": str(source)} if source else {}))
    return subprocess.run([sys.executable, "-m", "peoplegraph.cli", "eval", *args], env=env, capture_output=True,
                          text=True, timeout=1200, cwd=cwd)


def test_eval_scores_a_labelled_folder_without_touching_the_users_stores(app_settings: Settings, shared_data: Path,
                                                                         tmp_path: Path) -> None:
    lfw = shared_data / "lfw-devtrain"
    singletons = sorted(p.name for p in lfw.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) == 1)[:12]
    folder = _labelled(tmp_path / "people", lfw, ["Colin_Powell", "Tony_Blair", "Hugo_Chavez"], 5, singletons)
    done = _eval(app_settings, str(folder), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert {"bcubed_f", "pairwise_f", "clusters", "people", "rank1", "tar_at_far_1e-2", "recommended"} <= set(result)
    assert result["photos"] == 27 and result["people"] == 15 and result["people_with_2_or_more_photos"] == 3
    assert result["bcubed_f"] > 0.9 and result["pairwise_f"] > 0.9 and result["clusters"] == 3
    assert result["rank1"] == 1.0 and result["identification_queries"] == 12 and result["impostors"] == 12
    assert result["tar_at_far_1e-2"] is None  # 12 impostors cannot measure a 1% false accept rate
    assert result["selfie_recall"] > 0.9 and result["selfie_precision"] > 0.9
    assert len(result["sweep"]) == 9 and result["recommended"]["cluster_similarity"] in {r["similarity"] for r in result["sweep"]}
    assert not app_settings.data_dir.exists()  # a throw-away data folder: the user's stores never opened
    text = _eval(app_settings, str(folder))
    assert text.returncode == 0 and "recommended cluster similarity" in text.stdout
    relative = _eval(app_settings, folder.name, "--json", cwd=folder.parent)  # photos are kept by absolute path
    assert relative.returncode == 0, relative.stderr[-2000:]
    assert json.loads(relative.stdout)["rank1"] == 1.0 and json.loads(relative.stdout)["clusters"] == 3


@pytest.mark.parametrize("layout", ["a file", "flat photos", "one person", "empty"])
def test_eval_refuses_a_folder_that_is_not_labelled(app_settings: Settings, shared_data: Path, tmp_path: Path,
                                                    layout: str) -> None:
    photo = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[0]
    target = tmp_path / "photos"
    target.mkdir()
    if layout == "a file":
        target = photo
    elif layout == "flat photos":
        (target / photo.name).symlink_to(photo)
    elif layout == "one person":
        (target / "Colin_Powell").mkdir()
        (target / "Colin_Powell" / photo.name).symlink_to(photo)
    done = _eval(app_settings, str(target))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert str(target) in done.stderr and "one subfolder per person" in done.stderr


@pytest.mark.slow
def test_eval_on_a_larger_lfw_sample_measures_identification_and_recommends_a_threshold(
    app_settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    """40 people with 4+ photos (6 each) and 150 people seen once: enough impostors for FAR 1%."""
    lfw = shared_data / "lfw-devtrain"
    counts = {p.name: len(list(p.glob("*.jpg"))) for p in sorted(lfw.iterdir()) if p.is_dir()}
    people = [p for p, n in counts.items() if n >= 4][::10][:40]
    singletons = [p for p, n in counts.items() if n == 1][::10][:150]
    folder = _labelled(tmp_path / "people", lfw, people, 6, singletons)
    done = _eval(app_settings, str(folder), "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["people"] == 190 and result["impostors"] >= 145
    assert result["bcubed_f"] > 0.95 and result["pairwise_f"] > 0.95 and result["rank1"] > 0.95
    assert result["tar_at_far_1e-2"] is not None and result["tar_at_far_1e-2"] > 0.9
    assert result["selfie_recall"] > 0.9 and result["selfie_precision"] > 0.9
    assert 0.4 <= result["recommended"]["cluster_similarity"] <= 0.6


@pytest.mark.slow
def test_buffalo_s_and_sface_side_by_side_on_lfw_devtrain(app_settings: Settings, shared_data: Path,
                                                           shared_models: Path, tmp_path: Path) -> None:
    """Both packs on the same sample of lfw-devtrain (every 3rd person with 4+ photos, 8 photos each, and
    600 people seen once): the 512-D pack identifies at least as well as SFace, and the thresholds its
    manifest carries are the ones eval recommends for it (bench/lfw_eval.py runs all of lfw-devtrain)."""
    pytest.importorskip("insightface")
    from peoplegraph.engine.packs.insightface_pack import KNOWN_PACKS

    lfw = shared_data / "lfw-devtrain"
    counts = {p.name: len(list(p.glob("*.jpg"))) for p in sorted(lfw.iterdir()) if p.is_dir()}
    people = [p for p, n in counts.items() if n >= 4][::3]
    singletons = [p for p, n in counts.items() if n == 1][::4][:600]
    folder = _labelled(tmp_path / "people", lfw, people, 8, singletons)
    results = {}
    for pack in ("yunet-sface", "buffalo_s"):
        done = _eval(app_settings, str(folder), "--json", pack=pack, source=shared_models / "insightface")
        assert done.returncode == 0, done.stderr[-2000:]
        results[pack] = json.loads(done.stdout)
    sface, buffalo = results["yunet-sface"], results["buffalo_s"]
    print({pack: {k: r[k] for k in ("bcubed_f", "rank1", "tar_at_far_1e-2", "tar_at_far_1e-3", "selfie_recall",
                                    "selfie_precision", "recommended")} for pack, r in results.items()})
    assert buffalo["rank1"] >= sface["rank1"] - 0.002 and buffalo["rank1"] > 0.98
    assert buffalo["tar_at_far_1e-2"] >= sface["tar_at_far_1e-2"] - 0.002
    assert buffalo["bcubed_f"] > 0.97 and buffalo["selfie_recall"] > 0.9 and buffalo["selfie_precision"] > 0.9
    tuned = KNOWN_PACKS["buffalo_s"].thresholds  # from all of lfw-devtrain; this sample has fewer strangers
    assert buffalo["similarity"] == tuned["cluster_similarity"]
    assert abs(buffalo["recommended"]["cluster_similarity"] - tuned["cluster_similarity"]) <= 0.05, buffalo["recommended"]
    assert abs(buffalo["recommended"]["auto_threshold"] - tuned["auto_threshold"]) <= 0.1, buffalo["recommended"]
    m = buffalo["matching"]
    assert m["auto_precision"] >= 0.995 and m["strangers_tagged"] <= 0.005
