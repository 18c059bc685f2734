"""Our clustering against the peers' (engine/baselines.py) on the same embeddings of a labelled library.

Every algorithm clusters all faces of an ingested project (bystanders included, as in a real library);
the scores are taken on the labelled faces (the central face of each LFW photo), faces left unassigned
counting as singletons. Each algorithm runs at its project's default and across a sweep of its main
threshold, so each is compared at its best setting too, not only at its default.

Ingest first (`peoplegraph ingest ../shared/data/lfw-devtrain --project lfw --no-cluster`), then:

    python bench/cluster_compare.py --data-dir DIR [--project lfw] [--no-report]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import labelled_project_arguments, lfw_faces, markdown_table, publish  # noqa: E402

from peoplegraph.engine.baselines import (  # noqa: E402
    DlibChineseWhispers,
    ImmichIncremental,
    LibrePhotosHDBSCAN,
    PhotoPrismDBSCAN,
)
from peoplegraph.engine.cluster import GraphClusterer, chinese_whispers, knn_graph, relabel_by_size  # noqa: E402
from peoplegraph.engine.metrics import bcubed, pairwise  # noqa: E402
from peoplegraph.services.runtime import Runtime  # noqa: E402
from peoplegraph.settings import Settings  # noqa: E402

OURS = "peoplegraph (whispers, average-linkage merge, lone faces)"


class WhispersOnly:
    """The walking skeleton's clusterer, for reference: weighted Chinese whispers on the k-NN graph at one
    threshold, without the merging and attaching steps."""

    def __init__(self, similarity: float, min_cluster_size: int, neighbors: int) -> None:
        self.similarity, self.min_cluster_size, self.neighbors = similarity, min_cluster_size, neighbors

    def fit_predict(self, x: np.ndarray) -> np.ndarray:
        raw, _ = chinese_whispers(knn_graph(x, self.neighbors, self.similarity))
        return relabel_by_size(raw, self.min_cluster_size)


def candidates(ours_default: float, min_cluster_size: int, neighbors: int):
    """(algorithm, parameter shown, default value, values swept, factory, is a peer) for each algorithm."""
    ours_sweep = [0.45, 0.475, 0.50, 0.525, 0.55, 0.60]
    return [
        (OURS, "similarity", ours_default, ours_sweep,
         lambda v: GraphClusterer(similarity=v, min_cluster_size=min_cluster_size, neighbors=neighbors), False),
        ("peoplegraph, whispers only (before)", "similarity", ours_default, ours_sweep,
         lambda v: WhispersOnly(v, min_cluster_size, neighbors), False),
        (PhotoPrismDBSCAN.name, "eps (Euclidean)", 0.64, [0.64, 0.8, 0.9, 0.95, 1.0, 1.05],
         lambda v: PhotoPrismDBSCAN(eps=v), True),
        (LibrePhotosHDBSCAN.name, "cluster_selection_epsilon", 0.05, [0.05, 0.5, 0.8, 0.9, 1.0],
         lambda v: LibrePhotosHDBSCAN(cluster_selection_epsilon=v), True),
        (LibrePhotosHDBSCAN.name + ", min_cluster_size", "min_cluster_size", 4, [2, 3, 4, 5],
         lambda v: LibrePhotosHDBSCAN(min_cluster_size=int(v)), True),
        (ImmichIncremental.name, "max_distance (cosine)", 0.5, [0.4, 0.45, 0.5, 0.55, 0.6],
         lambda v: ImmichIncremental(max_distance=v), True),
        (DlibChineseWhispers.name, "threshold (Euclidean)", 0.5, [0.5, 0.9, 0.95, 1.0, 1.05],
         lambda v: DlibChineseWhispers(threshold=v), True),
    ]


def main() -> None:
    args = labelled_project_arguments(__doc__)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    with Runtime(settings) as runtime:
        faces, identity, names = lfw_faces(runtime, args.project, args.folder)
        ours_default = runtime.cluster_similarity
        model_id = runtime.pack.model_id
    if not faces:
        sys.exit(f"project {args.project!r} in {settings.data_dir} has no faces: ingest {args.folder} first")
    x = np.stack([f.embedding for f in faces]).astype(np.float32)
    labelled = identity >= 0
    truth = identity[labelled]

    rows, ours_default_result, peers_best = [], None, {}
    for name, parameter, default, sweep, make, is_peer in candidates(ours_default, settings.min_cluster_size,
                                                                       settings.cluster_neighbors):
        results = []
        for value in sorted(set(sweep) | {default}):
            started = time.perf_counter()
            labels = make(value).fit_predict(x)
            elapsed = time.perf_counter() - started
            predicted = labels[labelled]
            b, p = bcubed(truth, predicted), pairwise(truth, predicted)
            clusters = len(set(predicted.tolist()) - {-1})
            results.append((value, b, p, clusters, elapsed))
            print(f"{name:<58} {parameter} {value:<6} BCubed F {b[2]:.4f} pairwise F {p[2]:.4f} "
                  f"clusters {clusters} {elapsed:.1f} s", flush=True)
        at_default = next(r for r in results if r[0] == default)
        best_b = max(results, key=lambda r: r[1][2])
        best_p = max(results, key=lambda r: r[2][2])
        if name == OURS:
            ours_default_result = at_default
        if is_peer:
            peer = name.split(",")[0]
            previous = peers_best.get(peer, (0.0, 0.0))
            peers_best[peer] = (max(previous[0], best_b[1][2]), max(previous[1], best_p[2][2]))
        for result, tag in ((at_default, "default"), (best_b, "best BCubed F"), (best_p, "best pairwise F")):
            value, b, p, clusters, elapsed = result
            rows.append([name, tag, f"{parameter} {value:g}", clusters, *(f"{v:.4f}" for v in (*b, *p)),
                         f"{elapsed:.1f}"])
    header = ["algorithm", "setting", "value", "clusters", "BCubed P", "BCubed R", "BCubed F", "pairwise P",
              "pairwise R", "pairwise F", "time s"]
    table = markdown_table(header, rows)
    ours_b, ours_p = ours_default_result[1][2], ours_default_result[2][2]
    verdict = (f"Ours at its default (BCubed F {ours_b:.4f}, pairwise F {ours_p:.4f}) against each peer's best "
               "BCubed F and best pairwise F over its sweep: "
               + "; ".join(f"{peer} {pb:.4f} / {pp:.4f}: {'beaten' if ours_b > pb and ours_p > pp else '**not beaten**'}"
                           for peer, (pb, pp) in peers_best.items()))
    people_2plus = int((np.bincount(truth) >= 2).sum())
    note = (f"Project `{args.project}` from `{args.folder.name}`, model `{model_id}`: {len(faces)} faces clustered, "
            f"{len(truth)} labelled (the central face of each photo) of {len(names)} people ({people_2plus} with "
            f"2+ photos; every face alone would score BCubed F {bcubed(truth, -np.ones_like(truth))[2]:.4f}). "
            "Unassigned faces count as singletons. `best` is the best of the sweep by BCubed F: it is tuned on "
            "these very photos, for every algorithm alike.")
    publish("Clustering: peoplegraph against the peers' algorithms", note, table, verdict, report=not args.no_report)


if __name__ == "__main__":
    main()
