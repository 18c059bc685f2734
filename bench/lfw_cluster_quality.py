"""Cluster quality of an ingested LFW project: BCubed precision/recall/F against LFW's identities.

Ingest first (`peoplegraph ingest ../shared/data/lfw-devtrain --project lfw`), then:

    python bench/lfw_cluster_quality.py --project lfw [--data-dir DIR]

Each LFW photo is labelled for its central face, so the face nearest the photo's centre carries the
label and other faces (bystanders) are left out. Faces outside any cluster count as singletons.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import labelled_project_arguments, lfw_faces, markdown_table, publish  # noqa: E402

from peoplegraph.engine.metrics import bcubed  # noqa: E402
from peoplegraph.services.runtime import Runtime  # noqa: E402
from peoplegraph.settings import Settings  # noqa: E402


def main() -> None:
    args = labelled_project_arguments(__doc__)
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    with Runtime(settings) as runtime:
        faces, identity, names = lfw_faces(runtime, args.project, args.folder)
        similarity = runtime.cluster_similarity
    labelled = identity >= 0
    truth = identity[labelled]
    predicted = np.array([f.cluster_id for f in faces], np.int64)[labelled]
    precision, recall, f = bcubed(truth, predicted)
    singletons = bcubed(truth, -np.ones_like(predicted))[2]
    clusters = len(set(predicted.tolist()) - {-1})
    people_2plus = int(sum(np.bincount(truth) >= 2))
    header = ["labelled faces", "people", "people with 2+ photos", "clusters", "unclustered", "similarity",
              "BCubed P", "BCubed R", "BCubed F", "F, every face alone"]
    row = [len(truth), len(names), people_2plus, clusters, int((predicted == -1).sum()), f"{similarity:.3f}",
           f"{precision:.3f}", f"{recall:.3f}", f"{f:.3f}", f"{singletons:.3f}"]
    table = markdown_table(header, [row])
    publish("Clustering quality on LFW (first clusterer)",
            f"Project `{args.project}` ingested from `{args.folder.name}`, default settings.", table,
            report=not args.no_report)


if __name__ == "__main__":
    main()
