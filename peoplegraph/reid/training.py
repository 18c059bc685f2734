"""torchreid OSNet: published weights loaded and checked, fine-tuned on Market-layout folders, exported to ONNX.

Needs the `reid-train` extra, installed after torch itself (`pip install torch==2.13.0`, then
`pip install 'peoplegraph[reid-train]'`): torch, torchvision and torchreid are never part of the core install,
and nothing here is imported by it. Inference runs the ONNX export in onnxruntime (about 7x faster than
eager torch on 2 cores, DESIGN.md).

Weights are read with `weights_only=True` (a checkpoint is code otherwise), numpy scalars allow-listed as
published torchreid checkpoints hold them; `module.` prefixes (DataParallel) are dropped and the classifier
is left out when the number of identities differs; any other missing or unexpected key means another
architecture, and is reported as such.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs.manifest import file_sha256
from peoplegraph.reid.evaluation import Crop, embed_crops, evaluate, market_crops

ARCHITECTURES = ("osnet_x0_25", "osnet_x0_5", "osnet_x0_75", "osnet_x1_0", "osnet_ibn_x1_0")
HEIGHT, WIDTH = 256, 128
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLASSIFIER = "classifier."
EXPORTED = "model.onnx"
WEIGHTS = "weights.pth"
CARD = "card.json"


def _torch():
    try:
        import torch
        import torchreid
    except ImportError as exc:
        raise ModelPackError(
            f"torchreid OSNet needs the reid-train extra ({exc.name} is missing): pip install torch==2.13.0, then "
            "pip install 'peoplegraph[reid-train]' (torch first, pinned: see README)") from None
    return torch, torchreid


def read_state(weights: Path) -> dict:
    """A torchreid checkpoint's tensors by name (a bare state_dict or {'state_dict': ...}), `module.` dropped."""
    torch, _ = _torch()
    if not weights.is_file():
        raise ModelPackError(f"{weights}: no such weights file")
    scalar = getattr(np, "_core", np.core).multiarray.scalar  # numpy 2 moved it; published checkpoints hold it
    with torch.serialization.safe_globals([scalar, np.dtype, np.dtypes.Float64DType]):
        try:
            loaded = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelPackError(f"{weights}: not a torch checkpoint that loads safely ({exc})") from None
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not state:
        raise ModelPackError(f"{weights}: holds no state_dict (a dict of tensors)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_osnet(weights: Path | None, architecture: str = "osnet_x0_25", identities: int | None = None):
    """OSNet with these weights (None: untrained), its classifier for `identities` (default: the checkpoint's).
    ModelPackError when the weights belong to another architecture."""
    torch, torchreid = _torch()
    if architecture not in ARCHITECTURES:
        raise ModelPackError(f"architecture: {architecture!r} is not one of {', '.join(ARCHITECTURES)}")
    state = read_state(weights) if weights is not None else {}
    published = state.get(CLASSIFIER + "weight")
    classes = identities or (int(published.shape[0]) if published is not None else 1)
    model = torchreid.models.build_model(architecture, num_classes=classes, loss="triplet", pretrained=False)
    if not state:
        return model
    if published is not None and int(published.shape[0]) != classes:
        state = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER)}
    expected = model.state_dict()
    missing = sorted(k for k in expected if k not in state and not k.startswith(CLASSIFIER))
    unexpected = sorted(k for k in state if k not in expected)
    wrong = sorted(k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        raise ModelPackError(
            f"{weights} does not hold {architecture} weights: {len(missing)} layers missing (e.g. "
            f"{', '.join(missing[:3]) or '-'}), {len(unexpected)} unknown (e.g. {', '.join(unexpected[:3]) or '-'}), "
            f"{len(wrong)} of another shape (e.g. {', '.join(wrong[:3]) or '-'}); name the architecture they were "
            f"trained as (one of {', '.join(ARCHITECTURES)})")
    model.load_state_dict(state, strict=False)
    return model


def export_onnx(model, target: Path) -> Path:
    """The model's embedding (eval mode: the 512-D feature before the classifier) as ONNX, any batch size."""
    torch, _ = _torch()
    model.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, 3, HEIGHT, WIDTH), str(partial), input_names=["image"],
                          output_names=["embedding"], dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)
    partial.replace(target)
    return target


def osnet_onnx(weights: bytes, architecture: str = "osnet_x0_25") -> bytes:
    """A published checkpoint's bytes as an ONNX export (the OSNet packs' recipe)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pg-osnet-") as scratch:
        source = Path(scratch) / "weights.pth"
        source.write_bytes(weights)
        return export_onnx(load_osnet(source, architecture), Path(scratch) / "model.onnx").read_bytes()


@dataclass
class ModelCard:
    """What a `reid train` run made, from what, how long it took and how well it does."""

    architecture: str
    data: str
    identities: int  # trained on
    crops: int
    held_out_identities: int  # never trained on: the validation split
    init: str  # the weights started from ("" none) and their sha256
    epochs: int
    batch: int
    learning_rate: float
    seconds: float
    losses: list[float] = field(default_factory=list)  # the mean loss of each epoch
    before: dict[str, float] = field(default_factory=dict)  # on the held-out split, rank-1/5/10 and mAP
    after: dict[str, float] = field(default_factory=dict)
    onnx_sha256: str = ""
    licence: str = ("trained on research data (Market-1501 layout) and started from weights trained on research "
                    "data sets: for research and evaluation")

    def write(self, folder: Path) -> Path:
        path = folder / CARD
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def _blob(image: np.ndarray, flip: bool = False) -> np.ndarray:
    """A BGR crop as OSNet takes it: 256 x 128, RGB, ImageNet-normalised, channels first."""
    import cv2

    image = cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
    if flip:
        image = image[:, ::-1]
    image = (image.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)


def _image(path: Path, flip: bool) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"{path}: not an image OpenCV reads")
    return _blob(image, flip)


def _batches(crops: Sequence[Crop], batch: int, per_identity: int, rng: random.Random) -> list[list[int]]:
    """P identities x K crops a batch (what the triplet loss needs), every identity once an epoch."""
    by_identity: dict[int, list[int]] = {}
    for i, crop in enumerate(crops):
        by_identity.setdefault(crop.identity, []).append(i)
    people = [p for p, rows in by_identity.items() if len(rows) >= 2]
    rng.shuffle(people)
    chosen = [rng.sample(by_identity[p], per_identity) if len(by_identity[p]) >= per_identity
              else rng.choices(by_identity[p], k=per_identity) for p in people]
    step = max(1, batch // per_identity)
    return [sum(chosen[i:i + step], []) for i in range(0, len(chosen) - step + 1, step)]


def split_held_out(crops: Sequence[Crop], identities: int) -> tuple[list[Crop], list[Crop], list[Crop]]:
    """Training crops, and the last `identities` identities as query (the first crop of each identity and
    camera) and gallery (the rest), never trained on."""
    people = sorted({c.identity for c in crops if c.identity > 0})
    held = set(people[-identities:]) if identities else set()
    train = [c for c in crops if c.identity not in held and c.identity > 0]
    query, gallery, seen = [], [], set()
    for crop in sorted((c for c in crops if c.identity in held), key=lambda c: c.path.name):
        (gallery if (crop.identity, crop.camera) in seen else query).append(crop)
        seen.add((crop.identity, crop.camera))
    return train, query, gallery


def _scores(model, query: Sequence[Crop], gallery: Sequence[Crop]) -> dict[str, float]:
    torch, _ = _torch()
    if not query or not gallery:
        return {}
    model.eval()

    def embed(images: list[np.ndarray]) -> np.ndarray:
        blobs = np.stack([_blob(image) for image in images])
        with torch.no_grad():
            out = model(torch.from_numpy(blobs)).numpy()
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    q, g = embed_crops(embed, query), embed_crops(embed, gallery)
    r1, r5, r10, m_ap, scored = evaluate(q, g, query, gallery)
    return {"rank1": r1, "rank5": r5, "rank10": r10, "mAP": m_ap, "queries": scored}


def train(data: Path, target: Path, *, init: Path | None, architecture: str = "osnet_x0_25", epochs: int = 2,
          batch: int = 32, per_identity: int = 4, learning_rate: float = 3e-4, hold_out: int = 50,
          max_identities: int = 0, seed: int = 0, threads: int = 0,
          progress: Callable[[int, int, float], None] | None = None) -> ModelCard:
    """Fine-tune OSNet on the Market-layout crops in `data` (identity and camera from each file's name) with
    torchreid's label-smoothed cross-entropy and hard-mining triplet losses; write the weights, the ONNX
    export and the model card into `target`. `hold_out` identities are never trained on and score the model
    before and after; `max_identities` (0: all) trains on fewer, for a quick run."""
    torch, torchreid = _torch()
    if threads:
        torch.set_num_threads(threads)
    crops = market_crops(data)
    if not crops:
        raise ValueError(f"data: {data} holds no crops named as Market-1501 names them (0002_c1s1_000451_03.jpg)")
    trained, query, gallery = split_held_out(crops, hold_out)
    if max_identities:
        keep = set(sorted({c.identity for c in trained})[:max_identities])
        trained = [c for c in trained if c.identity in keep]
    people = sorted({c.identity for c in trained})
    if len(people) < 2:
        raise ValueError(f"data: {data} has {len(people)} identities to train on once {hold_out} are held out; "
                         "at least 2 are needed")
    label = {p: i for i, p in enumerate(people)}
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = load_osnet(init, architecture, identities=len(people))
    before = _scores(model, query, gallery)
    softmax = torchreid.losses.CrossEntropyLoss(num_classes=len(people), use_gpu=False, label_smooth=True)
    triplet = torchreid.losses.TripletLoss(margin=0.3)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=5e-4)
    began, losses = time.perf_counter(), []
    for epoch in range(epochs):
        model.train()
        plan = _batches(trained, batch, per_identity, rng)
        total = 0.0
        for step, rows in enumerate(plan):
            images = torch.from_numpy(np.stack([_image(trained[r].path, rng.random() < 0.5) for r in rows]))
            targets = torch.tensor([label[trained[r].identity] for r in rows])
            logits, features = model(images)
            loss = softmax(logits, targets) + triplet(features, targets)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
            if progress is not None:
                progress(epoch, step + 1, loss.item())
        losses.append(total / max(len(plan), 1))
    seconds = time.perf_counter() - began
    target.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), target / WEIGHTS)
    exported = export_onnx(model, target / EXPORTED)
    card = ModelCard(architecture, str(data), len(people), len(trained), hold_out,
                     f"{init} (sha256 {file_sha256(init)})" if init else "", epochs, batch, learning_rate,
                     round(seconds, 1), [round(v, 4) for v in losses], before, _scores(model, query, gallery),
                     file_sha256(exported))
    card.write(target)
    return card
