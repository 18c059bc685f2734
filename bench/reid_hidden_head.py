"""Body matching when the head is hidden, on identities held out of market1501-train: the scoring body
matching uses (each reference body whole, or below its face, whichever is closer) against whole bodies only.

The split is bench/reid_eval.py's (the last 100 identities; one query crop per identity and camera, the rest
the gallery). Each query is matched as body matching matches a body without a usable face: its score for
an identity is its best similarity to that identity's gallery crops (the same camera's left out); tagged
from body_auto_threshold when it leads the next identity by body_margin, queued from body_review_threshold.
Each query is matched twice: with its identity in the gallery (tagged or queued right, or wrong), and with
its identity taken out (anything tagged or queued is wrong). The queries as they are, and with the head
hidden as the group-photo bench hides it: blurred, under a grey patch, or cut off (the crop starting at the
shoulders, as a detector boxes someone whose head is gone). A Market crop has no face box: its part below
the face is the crop below its top HEAD share, where a standing pedestrian's chin is.

    python bench/reid_hidden_head.py [--no-report]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402

MODELS = SHARED_DATA.parent / "models"
IDENTITIES = 100
HEAD = 0.18  # of a Market crop's height: the head of a pedestrian standing in it
GREY = 128


def _blurred(image: np.ndarray) -> np.ndarray:
    out, (height, width) = image.copy(), image.shape[:2]
    rows, cols = slice(0, int(height * HEAD)), slice(int(width * 0.2), int(width * 0.8))
    out[rows, cols] = cv2.GaussianBlur(out[rows, cols], (0, 0), 3)
    return out


def _grey(image: np.ndarray) -> np.ndarray:
    out, (height, width) = image.copy(), image.shape[:2]
    out[:int(height * HEAD), int(width * 0.25):int(width * 0.75)] = GREY
    return out


def _cut_off(image: np.ndarray) -> np.ndarray:
    return image[int(round(image.shape[0] * HEAD)):]


HIDINGS = {"as they are": lambda image: image, "head blurred": _blurred, "head under a grey patch": _grey,
           "head cut off": _cut_off}


def outcomes(similarity: np.ndarray, q_ids, q_cams, g_ids, g_cams, auto: float, review: float,
             margin: float) -> dict[str, float]:
    """Shares of the queries tagged right, queued right, matched wrong (identity present), and tagged or
    queued at all with their identity taken out of the gallery."""
    from peoplegraph.linking.bodies import sure_enough

    counts = dict.fromkeys(("tagged", "queued", "wrong", "absent tagged", "absent queued"), 0)
    scored = 0
    for i, (identity, camera) in enumerate(zip(q_ids, q_cams)):
        seen = ~((g_ids == identity) & (g_cams == camera))
        if not (seen & (g_ids == identity)).any():
            continue
        scored += 1
        for absent in (False, True):
            keep = seen & (g_ids != identity) if absent else seen
            people = np.unique(g_ids[keep])
            best = np.array([similarity[i][keep & (g_ids == p)].max() for p in people])
            order = np.argsort(-best)
            top, second = best[order[0]], best[order[1]]
            if top < review:
                continue
            sure = sure_enough(top, second, auto, margin)
            if absent:
                counts["absent tagged" if sure else "absent queued"] += 1
            elif people[order[0]] != identity:
                counts["wrong"] += 1
            else:
                counts["tagged" if sure else "queued"] += 1
    return {k: v / max(scored, 1) for k, v in counts.items()}


def main() -> None:
    from peoplegraph.linking.bodies import body_similarity
    from peoplegraph.reid.evaluation import held_out_split, market_crops
    from peoplegraph.reid.packs import BodyEmbedder, body_pack
    from peoplegraph.settings import Settings

    settings = Settings()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pg-reid-") as scratch:
        query, gallery = held_out_split(SHARED_DATA / "market1501-train" / "bounding_box_train", IDENTITIES,
                                        Path(scratch) / "split")
        q_crops, g_crops = market_crops(query), market_crops(gallery)
        embedder = BodyEmbedder(body_pack(settings.body_pack), Path(scratch) / "models", MODELS / "reid")
        embedder.prepare()
        q_images = [cv2.imread(str(c.path)) for c in q_crops]
        g_images = [cv2.imread(str(c.path)) for c in g_crops]
        whole, below = embedder.get(g_images), embedder.get([_cut_off(image) for image in g_images])
        g_ids, g_cams = np.array([c.identity for c in g_crops]), np.array([c.camera for c in g_crops])
        q_ids, q_cams = [c.identity for c in q_crops], [c.camera for c in q_crops]
        for hiding, hide in HIDINGS.items():
            queries = embedder.get([hide(image) for image in q_images])
            for scoring, similarity in (("whole bodies", queries @ whole.T),
                                        ("whole, or below the face", body_similarity(queries, whole, below))):
                got = outcomes(similarity, q_ids, q_cams, g_ids, g_cams, settings.body_auto_threshold,
                               settings.body_review_threshold, settings.body_margin)
                rows.append([hiding, scoring, *(f"{v:.1%}" for v in got.values())])
                print(rows[-1], flush=True)
    table = markdown_table(["queries", "references scored", "tagged right", "queued right", "wrong",
                            "absent: tagged", "absent: queued"], rows)
    note = (f"Body pack {settings.body_pack}; {len(q_crops)} queries of the last {IDENTITIES} identities of "
            f"market1501-train against their {len(g_crops)} other crops; thresholds auto "
            f"{settings.body_auto_threshold} / review {settings.body_review_threshold}, margin {settings.body_margin}; "
            f"the part below the face of a Market crop taken as the crop below its top {HEAD:.0%}.")
    publish("Body matching with the head hidden (market1501-train, held out)", note, table,
            report="--no-report" not in sys.argv)


if __name__ == "__main__":
    main()
