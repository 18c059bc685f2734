"""Body ReID packs on identities held out of market1501-train (Market-1501's protocol), and the person
detector's time per photo.

The split: the last 100 identities of ../shared/data/market1501-train (never to be trained on), one query
crop per identity and camera, the rest as gallery (`peoplegraph.reid.evaluation.held_out_split`). Its
gallery holds only those identities' crops (about a thousand, where Market-1501's test gallery holds 19,732
with distractors), so the scores run higher than on the official test set; compare packs with each other
here. Intel's packs may have seen Market-1501's training identities (Intel's configs train on MSMT17 and,
for some, Market-1501's training split): their scores on this split are an upper bound.

    python bench/reid_eval.py [--no-report]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402

MODELS = SHARED_DATA.parent / "models"
IDENTITIES = 100


def main() -> None:
    from peoplegraph.reid.detector import PersonDetector
    from peoplegraph.reid.evaluation import embed_crops, evaluate, held_out_split, market_crops
    from peoplegraph.reid.packs import BODY_PACKS, DETECTOR, BodyEmbedder

    rows = []
    with tempfile.TemporaryDirectory(prefix="pg-reid-") as scratch:
        query, gallery = held_out_split(SHARED_DATA / "market1501-train" / "bounding_box_train", IDENTITIES,
                                        Path(scratch) / "split")
        q_crops, g_crops = market_crops(query), market_crops(gallery)
        for name, spec in BODY_PACKS.items():
            embedder = BodyEmbedder(spec, Path(scratch) / "models", MODELS / "reid")
            embedder.prepare()
            began = time.perf_counter()
            q, g = embed_crops(embedder.get, q_crops), embed_crops(embedder.get, g_crops)
            rate = (len(q_crops) + len(g_crops)) / (time.perf_counter() - began)
            plain = evaluate(q, g, q_crops, g_crops)
            reranked = evaluate(q, g, q_crops, g_crops, rerank=True)
            rows.append([name, spec.runtime, spec.dim, f"{plain[0]:.1%}", f"{plain[1]:.1%}", f"{plain[3]:.1%}",
                         f"{reranked[0]:.1%}", f"{reranked[3]:.1%}", f"{rate:.0f}", spec.documented])
            print(rows[-1], flush=True)
    from peoplegraph.settings import Settings

    side = Settings().person_input_side
    detector = PersonDetector(MODELS / "yolox" / DETECTOR.file, side)
    detector.prepare()
    photos = sorted((SHARED_DATA / "faces-misc" / "group-photos").glob("*.jpg"))
    times, people = [], 0
    for path in photos:
        image = cv2.imread(str(path))
        if image is None:
            continue
        began = time.perf_counter()
        people += len(detector.get(image, 0.3))
        times.append(time.perf_counter() - began)
    table = markdown_table(["pack", "runtime", "dim", "rank-1", "rank-5", "mAP", "rank-1 re-ranked",
                            "mAP re-ranked", "crops/s", "publisher's Market-1501 test figures"], rows)
    detection = (f"Person detector (YOLOX-Nano at {side} pixels, threshold 0.3) on the {len(times)} group photos of "
                 f"faces-misc: {people} people, p50 {np.percentile(times, 50) * 1000:.0f} ms and p99 "
                 f"{np.percentile(times, 99) * 1000:.0f} ms a photo (resizing included).")
    note = (f"Held-out split of market1501-train: the last {IDENTITIES} identities, {len(q_crops)} queries and "
            f"{len(g_crops)} gallery crops; Market-1501's protocol (same identity and camera left out, junk "
            "ignored); cosine distance, and k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3). crops/s: reading, "
            "resizing and embedding, batches of 32. The gallery is small and Intel's packs may have trained "
            "on these identities: compare packs with each other, not with the official figures.")
    publish("Body ReID packs (held-out Market-1501 identities)", note, table, detection,
            report="--no-report" not in sys.argv)


if __name__ == "__main__":
    main()
