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
from common import append_report, labelled_project_arguments, lfw_faces, markdown_table  # noqa: E402

from peoplegraph.engine.baselines import (  # noqa: E402
    DlibChineseWhispers,
    ImmichIncremental,
    LibrePhotosHDBSCAN,
    PhotoPrismDBSCAN,
)
from peoplegraph.engine.cluster import GraphClusterer  # noqa: E402
from peoplegraph.engine.metrics import bcubed, pairwise  # noqa: E402
from peoplegraph.services.runtime import Runtime  # noqa: E402
from peoplegraph.settings import Settings  # noqa: E402


def candidates(ours_default: float, min_cluster_size: int, neighbors: int):
    """(algorithm, parameter shown, default value, values swept, factory) for each algorithm."""
    return [
        ("peoplegraph (k-NN graph + weighted Chinese whispers)", "similarity", ours_default,
         [0.40, 0.45, 0.475, 0.50, 0.525, 0.55, 0.60],
         lambda v: GraphClusterer(similarity=v, min_cluster_size=min_cluster_size, neighbors=neighbors)),
        (PhotoPrismDBSCAN.name, "eps (Euclidean)", 0.64, [0.64, 0.8, 0.9, 0.95, 1.0, 1.05],
         lambda v: PhotoPrismDBSCAN(eps=v)),
        (LibrePhotosHDBSCAN.name, "cluster_selection_epsilon", 0.05, [0.05, 0.5, 0.8, 0.9, 1.0],
         lambda v: LibrePhotosHDBSCAN(cluster_selection_epsilon=v)),
        (ImmichIncremental.name, "max_distance (cosine)", 0.5, [0.4, 0.45, 0.5, 0.55, 0.6],
         lambda v: ImmichIncremental(max_distance=v)),
        (DlibChineseWhispers.name, "threshold (Euclidean)", 0.5, [0.5, 0.9, 0.95, 1.0, 1.05],
         lambda v: DlibChineseWhispers(threshold=v)),
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

    rows, best = [], {}
    for name, parameter, default, sweep, make in candidates(ours_default, settings.min_cluster_size,
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
            print(f"{name:<55} {parameter} {value:<6} BCubed F {b[2]:.4f} pairwise F {p[2]:.4f} "
                  f"clusters {clusters} {elapsed:.1f} s", flush=True)
        top = max(results, key=lambda r: r[1][2])
        best[name] = top
        for result, tag in ((next(r for r in results if r[0] == default), "default"), (top, "best BCubed F")):
            value, b, p, clusters, elapsed = result
            rows.append([name, tag, f"{parameter} {value:g}", clusters, *(f"{v:.4f}" for v in (*b, *p)),
                         f"{elapsed:.1f}"])
    ours_name = next(iter(best))
    ours = best[ours_name]
    beaten = {name: ours[1][2] > r[1][2] and ours[2][2] > r[2][2] for name, r in best.items() if name != ours_name}
    header = ["algorithm", "setting", "value", "clusters", "BCubed P", "BCubed R", "BCubed F", "pairwise P",
              "pairwise R", "pairwise F", "time s"]
    table = markdown_table(header, rows)
    verdict = ("Ours at its best against each peer at its best (BCubed F and pairwise F both higher): "
               + "; ".join(f"{name}: {'beaten' if won else '**not beaten**'}" for name, won in beaten.items()))
    people_2plus = int((np.bincount(truth) >= 2).sum())
    note = (f"Project `{args.project}` from `{args.folder.name}`, model `{model_id}`: {len(faces)} faces clustered, "
            f"{len(truth)} labelled (the central face of each photo) of {len(names)} people ({people_2plus} with "
            f"2+ photos; every face alone would score BCubed F {bcubed(truth, -np.ones_like(truth))[2]:.4f}). "
            "Unassigned faces count as singletons. `best` is the best of the sweep by BCubed F: it is tuned on "
            "these very photos, for every algorithm alike.")
    print(table)
    print(verdict)
    if not args.no_report:
        append_report("Clustering: peoplegraph against the peers' algorithms", f"{note}\n\n{table}\n\n{verdict}")


if __name__ == "__main__":
    main()
