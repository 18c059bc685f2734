"""Cluster quality of an ingested LFW project: BCubed precision/recall/F against LFW's identities.

Ingest first (`peoplegraph ingest ../shared/data/lfw-devtrain --project lfw`), then:

    python bench/lfw_cluster_quality.py --project lfw [--data-dir DIR]

Each LFW photo is labelled for its central face, so the face nearest the photo's centre carries the
label and other faces (bystanders) are left out. Faces outside any cluster count as singletons.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, append_report, markdown_table  # noqa: E402

from peoplegraph.engine.metrics import bcubed  # noqa: E402
from peoplegraph.services.runtime import Runtime  # noqa: E402
from peoplegraph.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="lfw")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--folder", type=Path, default=SHARED_DATA / "lfw-devtrain")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    identity_of: dict[str, str] = {}
    with (args.folder / "labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            identity_of[hashlib.sha256((args.folder / row["path"]).read_bytes()).hexdigest()] = row["identity"]
    with Runtime(settings) as runtime:
        photos = {p.photo_id: p for p in runtime.graph.photos(args.project)}
        central: dict[str, tuple[float, int]] = {}
        for face in runtime.vectors.faces(args.project):
            photo = photos.get(face.photo_id)
            if photo is None or face.photo_id not in identity_of:
                continue
            cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
            distance = (cx - photo.width / 2) ** 2 + (cy - photo.height / 2) ** 2
            if face.photo_id not in central or distance < central[face.photo_id][0]:
                central[face.photo_id] = (distance, face.cluster_id)
        similarity = runtime.cluster_similarity
    truth_names = [identity_of[p] for p in central]
    names = {n: i for i, n in enumerate(sorted(set(truth_names)))}
    truth = np.array([names[n] for n in truth_names])
    predicted = np.array([cluster for _, cluster in central.values()])
    precision, recall, f = bcubed(truth, predicted)
    singletons = bcubed(truth, -np.ones_like(predicted))[2]
    clusters = len(set(predicted.tolist()) - {-1})
    people_2plus = int(sum(np.bincount(truth) >= 2))
    header = ["labelled faces", "people", "people with 2+ photos", "clusters", "unclustered", "similarity",
              "BCubed P", "BCubed R", "BCubed F", "F, every face alone"]
    row = [len(truth), len(names), people_2plus, clusters, int((predicted == -1).sum()), f"{similarity:.3f}",
           f"{precision:.3f}", f"{recall:.3f}", f"{f:.3f}", f"{singletons:.3f}"]
    table = markdown_table(header, [row])
    print(table)
    if not args.no_report:
        append_report("Clustering quality on LFW (first clusterer)",
                      f"Project `{args.project}` ingested from `{args.folder.name}`, default settings.\n\n{table}")


if __name__ == "__main__":
    main()
