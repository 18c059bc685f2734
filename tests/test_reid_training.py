"""torchreid OSNet (the reid-train extra): published weights loaded and checked, the OSNet packs made from them
by an ONNX export, and `reid train` fine-tuning on Market-layout crops into a pack the product can use."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from unavailable import skip_or_fail

from cli_runner import cli_json


@pytest.fixture(scope="module")
def torch():
    if importlib.util.find_spec("torchreid") is None or importlib.util.find_spec("torch") is None:
        skip_or_fail("torch and torchreid are not installed: pip install torch==2.13.0, then "
                     "pip install '.[reid-train]' (README)")
    import torch

    return torch


@pytest.fixture(scope="module")
def osnet_weights(shared_models: Path) -> Path:
    return shared_models / "reid" / "torchreid" / "osnet_x0_25_market1501.pth"


def test_published_weights_load_and_the_wrong_ones_are_named(torch, osnet_weights: Path, tmp_path: Path) -> None:
    from peoplegraph.engine.pack import ModelPackError
    from peoplegraph.reid.training import load_osnet, read_state

    model = load_osnet(osnet_weights)
    assert model.classifier.out_features == 751
    prefixed = tmp_path / "parallel.pth"  # saved from DataParallel, in a checkpoint dict
    torch.save({"state_dict": {f"module.{k}": v for k, v in read_state(osnet_weights).items()}, "epoch": 3}, prefixed)
    again = load_osnet(prefixed, identities=10)  # another number of identities: the classifier starts anew
    assert again.classifier.out_features == 10
    assert torch.equal(again.conv1.conv.weight, model.conv1.conv.weight)
    with pytest.raises(ModelPackError, match="does not hold osnet_x1_0 weights.*of another shape"):
        load_osnet(osnet_weights, "osnet_x1_0")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelPackError, match="junk.pth: not a torch checkpoint"):
        load_osnet(junk)


def test_the_osnet_pack_runs_the_onnx_export_as_torch_runs_the_weights(torch, osnet_weights: Path, shared_data: Path,
                                                                       shared_models: Path, tmp_path: Path) -> None:
    import cv2

    from peoplegraph.reid.packs import BODY_PACKS, BodyEmbedder
    from peoplegraph.reid.training import _blob, load_osnet

    crops = [cv2.imread(str(p)) for p in sorted((shared_data / "market1501-train" / "bounding_box_train").glob("*.jpg"))[:6]]
    embedder = BodyEmbedder(BODY_PACKS["osnet-x0-25-market"], tmp_path / "models", shared_models / "reid")
    embedder.prepare()
    onnx = embedder.get(crops)
    model = load_osnet(osnet_weights).eval()
    with torch.no_grad():
        eager = model(torch.from_numpy(np.stack([_blob(c) for c in crops]))).numpy()
    eager /= np.linalg.norm(eager, axis=1, keepdims=True)
    assert onnx.shape == (6, 512) and np.min(np.sum(onnx * eager, axis=1)) > 0.999


@pytest.mark.slow
def test_reid_train_fine_tunes_into_a_pack_the_product_uses(torch, shared_data: Path, shared_models: Path,
                                                            tmp_path: Path) -> None:
    from peoplegraph.reid.packs import body_pack
    from peoplegraph.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    market = shared_data / "market1501-train" / "bounding_box_train"
    out = tmp_path / "trained"
    card = cli_json(settings, "reid", "train", "--data", str(market), "--init",
                    str(shared_models / "reid" / "torchreid" / "osnet_x0_25_msmt17.pth"), "--to", str(out),
                    "--epochs", "1", "--batch", "16", "--hold-out", "12", "--max-identities", "16")
    assert card["identities"] == 16 and card["epochs"] == 1 and len(card["losses"]) == 1
    assert card["before"]["queries"] > 0 and 0 < card["after"]["rank1"] <= 1 and card["seconds"] > 0
    assert {p.name for p in out.iterdir()} >= {"weights.pth", "model.onnx", "card.json"}
    spec = body_pack(str(out))
    assert spec.dim == 512 and spec.model_id.startswith("reid-trained-")
    held = tmp_path / "held"
    for part in ("query", "gallery"):
        (held / part).mkdir(parents=True)
    people = sorted({p.name[:4] for p in market.glob("*.jpg")})[-3:]
    for n, photo in enumerate(sorted(p for p in market.glob("*.jpg") if p.name[:4] in people)):
        (held / ("query" if n % 4 == 0 else "gallery") / photo.name).symlink_to(photo)
    scored = cli_json(settings, "reid", "eval", "--query", str(held / "query"), "--gallery", str(held / "gallery"),
                      "--pack", str(out))
    assert scored["model_id"] == spec.model_id and scored["scores"][0]["rank1"] > 0
