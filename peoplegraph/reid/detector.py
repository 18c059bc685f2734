"""`PersonDetector`: people's boxes in a photo, by YOLOX-Nano (Megvii, Apache-2.0; COCO class 0, person).

The network takes a square BGR image (0-255, not normalised), the photo scaled into its top-left corner
and the rest filled with 114, and answers a candidate per cell of its grids at strides 8, 16 and 32 (3,549
at the 416 pixels it was exported for): centre (p + cell) x stride, size exp(p) x stride, score objectness x
the person class's probability. Boxes over the threshold are kept through non-maximum suppression, in the
photo's pixels. Its layers are all convolutions, so it runs at any side that is a multiple of 32: the file's
input is declared at that side before the session is made (a larger side finds people smaller in the
frame, or half hidden, at more time a photo).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from peoplegraph.engine.packs.onnx_session import make_session

INPUT_SIDE = 416  # what the published file declares
STRIDES = (8, 16, 32)
PAD_VALUE = 114
PERSON = 0  # COCO class
NMS_IOU = 0.45  # YOLOX's own demo value


@dataclass(frozen=True)
class PersonBoxes:
    boxes: np.ndarray  # float32 (n, 4): x1, y1, x2, y2 in the image's pixels
    scores: np.ndarray  # float32 (n,), 0-1

    def __len__(self) -> int:
        return int(self.scores.size)


def _grid(input_side: int) -> tuple[np.ndarray, np.ndarray]:
    cells, strides = [], []
    for stride in STRIDES:
        side = input_side // stride
        ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full(side * side, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)[:, None]


def _at_side(model: Path, side: int) -> bytes:
    """The model file with its input declared side x side, and its candidates (the output's second
    dimension, one per grid cell) left for the session to count."""
    import onnx

    graph = onnx.load(str(model))
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = side
    graph.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "candidates"
    del graph.graph.value_info[:]  # the shapes inferred at 416
    return graph.SerializeToString()


class PersonDetector:
    def __init__(self, model: Path, input_side: int = INPUT_SIDE) -> None:
        if input_side % STRIDES[-1] or input_side < 2 * STRIDES[-1]:
            raise ValueError(f"person_input_side: {input_side} is not a multiple of {STRIDES[-1]} from "
                             f"{2 * STRIDES[-1]} up")
        self.model, self.input_side = model, input_side
        self._session = None
        self._cells, self._strides = _grid(input_side)

    def prepare(self, threads: int = 0) -> None:
        self._session = make_session(self.model if self.input_side == INPUT_SIDE else _at_side(self.model,
                                                                                               self.input_side), threads)
        self._input = self._session.get_inputs()[0].name

    def get(self, image: np.ndarray, threshold: float) -> PersonBoxes:
        """The people in a BGR uint8 image, most confident first."""
        if self._session is None:
            self.prepare()
        assert self._session is not None
        height, width = image.shape[:2]
        side = self.input_side
        ratio = min(side / height, side / width)
        scaled = cv2.resize(image, (max(1, round(width * ratio)), max(1, round(height * ratio))),
                            interpolation=cv2.INTER_LINEAR)
        canvas = np.full((side, side, 3), PAD_VALUE, np.uint8)
        canvas[:scaled.shape[0], :scaled.shape[1]] = scaled
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        raw = self._session.run(None, {self._input: blob})[0][0]
        centres = (raw[:, :2] + self._cells) * self._strides
        sizes = np.exp(np.minimum(raw[:, 2:4], 10.0)) * self._strides  # a wild value must not overflow
        scores = raw[:, 4] * raw[:, 5 + PERSON]
        keep = scores >= threshold
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)[keep] / ratio
        scores = scores[keep]
        if not scores.size:
            return PersonBoxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
        chosen = cv2.dnn.NMSBoxes([[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes],
                                  scores.tolist(), threshold, NMS_IOU)
        order = np.asarray(chosen, np.int64).reshape(-1)
        order = order[np.argsort(-scores[order], kind="stable")]
        return PersonBoxes(boxes[order].astype(np.float32), scores[order].astype(np.float32))
