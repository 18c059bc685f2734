"""Precision and recall of each quality indicator on hand-labelled real faces (tests/data/quality_labels.csv).

The list holds 77 faces from ../shared/data (paths, the face's box and the indicators a person sees;
no image is copied) at least `min_face_size` (20 px) high: LFW and faces-misc faces picked around each indicator's decision (flagged, near the
threshold, and clean faces), then labelled by eye on contact sheets. `small_face` is labelled by its
definition (shorter box side under 50 px). The test prints the table and fails when an indicator falls
below the floor it reached when the list was made, so a change that makes an indicator worse is seen.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from peoplegraph.engine.analysis import describe_faces
from peoplegraph.engine.decode import decode_image
from peoplegraph.engine.quality import INDICATORS
from peoplegraph.settings import Settings

LABELS = Path(__file__).parent / "data" / "quality_labels.csv"
# precision, recall reached when the list was labelled (default settings), less a small margin
FLOORS = {
    "small_face": (0.95, 0.95),
    "blurry": (0.35, 0.75),
    "poor_lighting": (0.45, 0.45),
    "profile": (0.20, 0.50),
    "sunglasses": (0.65, 0.70),
    "occlusion": (0.55, 0.40),
}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.mark.slow
def test_indicator_precision_and_recall_on_labelled_faces(shared_data: Path, face_pack, model_dir: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    settings = Settings(model_dir=model_dir)
    by_photo: dict[str, list[tuple[np.ndarray, set[str]]]] = defaultdict(list)
    with LABELS.open() as handle:
        for row in csv.DictReader(handle):
            box = np.array([float(v) for v in row["box"].split()])
            by_photo[row["path"]].append((box, set(row["indicators"].split())))
    assert sum(map(len, by_photo.values())) >= 60
    counts = {name: {"tp": 0, "fp": 0, "fn": 0} for name in INDICATORS}
    unmatched = []
    for relative, labelled in by_photo.items():
        path = shared_data / relative
        image = decode_image(path, name=relative, max_pixels=settings.max_image_pixels,
                             max_bytes=settings.max_file_bytes, max_side=settings.detection_max_side)
        found = describe_faces(face_pack, image, settings, face_pack.detection_threshold)
        for box, truth in labelled:
            overlaps = [_iou(box, np.asarray(d.face.box)) for d in found]
            if not overlaps or max(overlaps) < 0.5:
                unmatched.append(f"{relative} {box.tolist()}")
                continue
            quality = found[int(np.argmax(overlaps))].quality
            for name in INDICATORS:
                flagged, labelled_true = getattr(quality, name).flag, name in truth
                if flagged and labelled_true:
                    counts[name]["tp"] += 1
                elif flagged:
                    counts[name]["fp"] += 1
                elif labelled_true:
                    counts[name]["fn"] += 1
    assert len(unmatched) <= 2, f"labelled faces no longer detected: {unmatched}"
    lines = [f"{'indicator':<14} {'labelled':>8} {'flagged':>7} {'precision':>9} {'recall':>6}"]
    failures = []
    for name, c in counts.items():
        precision = c["tp"] / max(c["tp"] + c["fp"], 1)
        recall = c["tp"] / max(c["tp"] + c["fn"], 1)
        lines.append(f"{name:<14} {c['tp'] + c['fn']:>8} {c['tp'] + c['fp']:>7} {precision:>9.2f} {recall:>6.2f}")
        floor_p, floor_r = FLOORS[name]
        if precision < floor_p or recall < floor_r:
            failures.append(f"{name}: precision {precision:.2f} (floor {floor_p}), recall {recall:.2f} (floor {floor_r})")
    with capsys.disabled():
        print("\nquality indicators on the labelled faces\n" + "\n".join(lines))
    assert not failures, failures
