"""Body (ReID) model packs and the person detector's file: what each file is, its sha256, where it comes from,
and the input convention it was trained with; `BodyEmbedder` runs one pack (`prepare`, `get`).

Files are taken, each checked against its sha256, from a folder the user names (`model_source`: searched by
file name, so an Open Model Zoo download tree or a flat folder both do), else downloaded from the official
address where one is published with that checksum, into MODEL_DIR/<pack>/ with a manifest. A file that
cannot be had is a `ModelPackError` naming the file, its sha256 and where to put it.

All these weights are trained on research data sets (Market-1501, MSMT17): like InsightFace's packs, they
are for research and evaluation; check their terms before a commercial deployment.
"""

from __future__ import annotations

import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs.manifest import Manifest, ModelFile, file_sha256
from peoplegraph.engine.packs.onnx_session import make_session
from peoplegraph.engine.packs.sources import copy_checked, write_file

OMZ = "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1"
CROP_HEIGHT, CROP_WIDTH = 256, 128
BATCH = 32  # crops embedded per call
DOWNLOAD_TIMEOUT_S = 60


@dataclass(frozen=True)
class PackFile:
    role: str  # "model" (an ONNX file or an IR's xml), "weights" (an IR's bin), "source" (what a recipe rewrites)
    file: str
    sha256: str
    url: str = ""  # the official download, where one is published


@dataclass(frozen=True)
class BodyPackSpec:
    name: str
    model_id: str  # names the embedding space: bodies of two model ids are never compared
    dim: int
    runtime: str  # "openvino" (an IR) or "onnx"
    files: tuple[PackFile, ...]
    rgb: bool  # channel order the network takes
    mean: tuple[float, float, float] | None  # per channel, subtracted from 0-255 values (None: the network does it)
    std: tuple[float, float, float] | None
    licence: str
    documented: str  # the publisher's own figures
    recipe: str = ""  # how the runnable file is made from its source ("" none)
    folder: Path | None = None  # where its files are, when not in model_source (a `reid train` output)


_INTEL_LICENCE = "Apache-2.0 (Intel Open Model Zoo); trained on MSMT17 and Market-1501: research data sets"


def _intel_ir(number: str, precision: str, xml_sha256: str, bin_sha256: str, documented: str) -> BodyPackSpec:
    """An Open Model Zoo person-reidentification-retail IR: BGR 0-255 in (the network normalises), 256-D out."""
    stem = f"person-reidentification-retail-{number}"
    files = tuple(PackFile(role, f"{stem}.{suffix}", sha256, f"{OMZ}/{stem}/{precision}/{stem}.{suffix}")
                  for role, suffix, sha256 in (("model", "xml", xml_sha256), ("weights", "bin", bin_sha256)))
    return BodyPackSpec(f"intel-{number}", f"reid-intel-{number}", 256, "openvino", files, rgb=False, mean=None,
                        std=None, licence=_INTEL_LICENCE, documented=documented)


BODY_PACKS = {
    "intel-0277": _intel_ir("0277", "FP16", "82039b1bb986231c50345550e59def94e63579998e9cddbd1a312f293eb87729",
                            "6bb69e09d07733cc3896b29081d2627f92db7b9aacd50f1a8c3df491cb10f1b7",
                            "Market-1501 rank-1 96.2 %, mAP 87.7 %"),
    "intel-0287": _intel_ir("0287", "FP32", "09af746c1068a3e89355e1f0226d3d6982dc1cd77634b1f70a40f1f654a94be1",
                            "7f53d18d11253455e0e11646b2176cf6509cc7c97cb5376f9b91b4c41e09a06c",
                            "Market-1501 rank-1 92.9 %, mAP 76.6 %"),
    "intel-0267-onnx": BodyPackSpec(
        "intel-0267-onnx", "reid-intel-0267", 256, "onnx",
        (PackFile("source", "person-reidentification-retail-0267.onnx",
                  "ca531dc7b2f0efabc6d26b128dbf6a5e9c7b634339acdb36d11476f999f2c186"),),
        rgb=True, mean=None, std=None, licence=_INTEL_LICENCE, documented="Market-1501 rank-1 92.8 %, mAP 76.6 %",
        recipe="mvn-epsilon"),
    **{name: BodyPackSpec(
        name, f"reid-{name}", 512, "onnx", (PackFile("source", file, sha256),), rgb=True,
        mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
        licence="MIT (torchreid); weights trained on a research data set (Market-1501 or MSMT17)",
        documented=documented, recipe="torchreid-onnx")
      for name, file, sha256, documented in (
          ("osnet-x0-25-market", "osnet_x0_25_market1501.pth",
           "c0ff09177a21417a19bc73bbf5af4eb5d2b097c2074ed35e67819ee6cd93612c",
           "trained on Market-1501: its test rank-1 91.2 %, mAP 74.9 % (torchreid's model zoo)"),
          ("osnet-x0-25-msmt17", "osnet_x0_25_msmt17.pth",
           "6f57607fed9f502b9efed546108132ee715df5a5b6e6932c6269bacb47f59f99",
           "trained on MSMT17: Market-1501 (never seen) rank-1 49.3 %, mAP 22.8 %"))},
}
TRAINED_MODEL = "model.onnx"  # what `peoplegraph reid train` writes, beside its card.json (reid/training.py)


def body_pack(name: str) -> BodyPackSpec:
    """The pack `name` (body_pack setting): a published one, or the folder a `reid train` run wrote.
    ModelPackError naming the choices otherwise."""
    if name in BODY_PACKS:
        return BODY_PACKS[name]
    folder = Path(name).expanduser()
    if (folder / TRAINED_MODEL).is_file() and (folder / "card.json").is_file():
        digest = file_sha256(folder / TRAINED_MODEL)
        return BodyPackSpec(
            f"trained-{digest[:12]}", f"reid-trained-{digest[:12]}", 512, "onnx",
            (PackFile("model", TRAINED_MODEL, digest),), rgb=True, mean=(123.675, 116.28, 103.53),
            std=(58.395, 57.12, 57.375), licence=f"see {folder / 'card.json'}",
            documented=f"fine-tuned by peoplegraph reid train ({folder / 'card.json'})", folder=folder)
    raise ModelPackError(f"body_pack: {name!r} is neither a pack ({', '.join(sorted(BODY_PACKS))}) nor a folder "
                         f"`peoplegraph reid train` wrote ({TRAINED_MODEL} and card.json)")


DETECTOR = PackFile("detector", "yolox_nano.onnx", "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14")
DETECTOR_PACK = "yolox-nano"


def pack_files(name: str, files: tuple[PackFile, ...], models_path: Path, source: Path | None,
               recipe: str = "") -> dict[str, Path]:
    """The pack's runnable files by role, in MODEL_DIR/<name>/ (made there on first use; see the module)."""
    folder = models_path / name
    manifest = Manifest.read(folder)
    roles = {"model" if f.role == "source" and recipe else f.role for f in files}
    if manifest is not None and all(f.recipe == recipe for f in manifest.files) \
            and {f.role for f in manifest.files} == roles:  # else made for another recipe, or cut short: made again
        return manifest.verify(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for declared in files:
        target = folder / declared.file
        if not _fetched(declared, target, source):
            where = _not_in(source, declared)
            how = f", or let peoplegraph download it from {declared.url}" if declared.url else ""
            raise ModelPackError(
                f"model pack {name!r} needs {declared.file} (sha256 {declared.sha256}): {where}. Put it in "
                f"{folder} or in a folder named by PEOPLEGRAPH_MODEL_SOURCE{how}, then run the command again")
        role, made = declared.role, target
        if declared.role == "source" and recipe:
            from peoplegraph.reid.convert import RECIPES

            made = folder / f"{Path(declared.file).stem}.{recipe}.onnx"
            write_file(made, RECIPES[recipe](target.read_bytes()))
            role = "model"
        entries.append(ModelFile(role=role, file=made.name, sha256=file_sha256(made), source=declared.url or declared.file,
                                 source_sha256=declared.sha256, recipe=recipe))
    manifest = Manifest(pack=name, files=tuple(entries))
    manifest.write(folder)
    return manifest.verify(folder)


def _not_in(source: Path | None, declared: PackFile) -> str:
    """Why the model source did not give the file: none set, not a folder, no such file, or another file."""
    if source is None:
        return "no model_source is set"
    if not source.is_dir():
        return f"{source} (model_source) is not a folder"
    other = next(iter(sorted(source.rglob(declared.file))), None)
    if other is None:
        return f"{source} (model_source) holds no such file"
    return f"{other} is another file of that name (sha256 {file_sha256(other)[:12]}...)"


def _fetched(declared: PackFile, target: Path, source: Path | None) -> bool:
    if target.is_file() and file_sha256(target) == declared.sha256:
        return True
    if source is not None and source.is_dir():
        for candidate in sorted(source.rglob(declared.file)):
            if copy_checked(candidate, target, declared.sha256):
                return True
    if not declared.url:
        return False
    partial = target.with_name(target.name + ".download")
    try:
        with urllib.request.urlopen(declared.url, timeout=DOWNLOAD_TIMEOUT_S) as answer, partial.open("wb") as out:
            shutil.copyfileobj(answer, out)
        return copy_checked(partial, target, declared.sha256)
    except OSError:  # no network, or refused: the caller says where to put the file
        return False
    finally:
        partial.unlink(missing_ok=True)


class BodyEmbedder:
    """A ReID pack: `get` takes person crops (BGR uint8, any size) and answers L2-normalised embeddings."""

    def __init__(self, spec: BodyPackSpec, models_path: Path, source: Path | None = None) -> None:
        self.spec = spec
        self.model_id, self.dim = spec.model_id, spec.dim
        self._models_path, self._source = models_path, source
        self._run = None

    def prepare(self, threads: int = 0) -> None:
        paths = pack_files(self.spec.name, self.spec.files, self._models_path, self.spec.folder or self._source,
                           self.spec.recipe)
        try:
            if self.spec.runtime == "openvino":
                self._run = _openvino(paths["model"], threads)
            else:
                session = make_session(paths["model"], threads)
                name = session.get_inputs()[0].name
                fixed = isinstance(session.get_inputs()[0].shape[0], int)  # a batch of one only
                self._run = (lambda x: np.concatenate([session.run(None, {name: x[i:i + 1]})[0]
                                                       for i in range(len(x))])) \
                    if fixed else (lambda x: session.run(None, {name: x})[0])
            # one grey crop through it: a file that is not a ReID model of this shape fails here, not mid-ingest
            answer = np.asarray(self._run(np.full((1, 3, CROP_HEIGHT, CROP_WIDTH), 128, np.float32)))
        except ModelPackError:
            raise
        except Exception as exc:
            self._forget()
            raise ModelPackError(f"model pack {self.spec.name!r} ({paths['model']}) is not a usable ReID model: "
                                 f"{str(exc)[:300]}") from None
        if answer.size != self.dim:
            self._forget()
            raise ModelPackError(f"model pack {self.spec.name!r} ({paths['model']}) is not a ReID model of this pack: "
                                 f"it answers {answer.shape} for one 256 x 128 crop, where a {self.dim}-D "
                                 "embedding was expected")

    def _forget(self) -> None:
        """Drop a pack that failed its check; a copy of a user's folder leaves the model cache with it."""
        self._run = None
        if self.spec.folder is not None:
            shutil.rmtree(self._models_path / self.spec.name, ignore_errors=True)

    def get(self, crops: list[np.ndarray]) -> np.ndarray:
        if self._run is None:
            self.prepare()
        out = np.zeros((len(crops), self.dim), np.float32)
        for start in range(0, len(crops), BATCH):
            batch = np.stack([self._blob(c) for c in crops[start:start + BATCH]])
            vectors = np.asarray(self._run(batch), np.float32).reshape(len(batch), -1)  # type: ignore[misc]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            if not np.isfinite(vectors).all() or (norms == 0).any():
                raise ModelPackError(f"model pack {self.spec.name!r} gave a non-finite or zero embedding")
            out[start:start + len(batch)] = vectors / norms
        return out

    def _blob(self, crop: np.ndarray) -> np.ndarray:
        image = cv2.resize(crop, (CROP_WIDTH, CROP_HEIGHT), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        if self.spec.rgb:
            image = image[:, :, ::-1]
        if self.spec.mean is not None and self.spec.std is not None:
            image = (image - np.array(self.spec.mean, np.float32)) / np.array(self.spec.std, np.float32)
        return np.ascontiguousarray(image.transpose(2, 0, 1))


def _openvino(model: Path, threads: int):
    try:
        import openvino as ov
    except ImportError:  # pragma: no cover - a core dependency where a wheel exists
        raise ModelPackError("OpenVINO IR packs need the openvino runtime: pip install openvino") from None
    core = ov.Core()
    network = core.read_model(str(model))
    network.reshape({network.inputs[0].get_any_name(): ov.PartialShape([-1, 3, CROP_HEIGHT, CROP_WIDTH])})
    compiled = core.compile_model(network, "CPU", {"INFERENCE_NUM_THREADS": threads} if threads else {})
    output = compiled.outputs[0]

    def run(x: np.ndarray) -> np.ndarray:
        # an infer request per call: ingest embeds from several threads, and one request is not thread-safe
        request = compiled.create_infer_request()
        request.infer({0: x})
        return request.get_tensor(output).data.copy()

    return run
