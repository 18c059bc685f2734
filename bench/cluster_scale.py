"""Full re-clustering at library scale: time, peak memory and quality at 100,000 and 1,000,000 faces.

The faces are the real SFace embeddings of an ingested labelled project (lfw-devtrain: 11,705 faces, a
real mix of people seen hundreds of times, a few times and once) and generated copies of them. Each copy
rotates the real embeddings at random about their mean direction: the rotation keeps every similarity
inside the copy and the cone that all SFace embeddings share, and makes the copy a new set of people
(faces of two copies are about as similar as two strangers). Truth: the person of each labelled face per
copy; bystander faces are their own person. Each size runs in a child process so the peak RSS is its own.

Targets (issue 4): 100k faces in at most 60 s, 1M in at most 15 min, at most 4 GB at 1M.

    python bench/cluster_scale.py --data-dir DIR [--project lfw] [--sizes 100000 1000000] [--no-report]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import labelled_library, labelled_project_arguments, markdown_table, publish  # noqa: E402

TARGETS = {100_000: (60.0, None), 1_000_000: (900.0, 4096.0)}  # seconds, MiB


def rotation_about(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal matrix that leaves the direction of `mean` where it is."""
    d = mean.size
    axis = mean / np.linalg.norm(mean)
    basis, _ = np.linalg.qr(np.column_stack([axis, rng.standard_normal((d, d - 1))]))
    complement = basis[:, 1:]  # orthonormal basis of the hyperplane orthogonal to the mean
    turn, _ = np.linalg.qr(rng.standard_normal((d - 1, d - 1)))
    return np.outer(axis, axis) + complement @ turn @ complement.T


def library(real: np.ndarray, identity: np.ndarray, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`size` faces: the real ones, then rotated copies, and the truth (one id per person per copy)."""
    rng = np.random.default_rng(seed)
    mean = real.mean(axis=0)
    n = len(real)
    own = np.where(identity >= 0, identity, identity.max() + 1 + np.arange(n))  # bystanders: their own person
    people = int(own.max()) + 1
    parts, truth = [], []
    for copy in range(-(-size // n)):
        x = real if copy == 0 else (real @ rotation_about(mean, rng).T).astype(np.float32)
        parts.append(x)
        truth.append(own + copy * people)
    x = np.concatenate(parts)[:size]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32), np.concatenate(truth)[:size]


def child(arguments: list[str]) -> None:
    """Child mode: cluster one size, print a JSON line with its figures."""
    from peoplegraph.engine.cluster import GraphClusterer
    from peoplegraph.engine.metrics import bcubed, pairwise

    data, size, similarity, min_cluster_size, neighbors = arguments
    stored = np.load(data)
    x, truth = library(stored["x"], stored["identity"], int(size))
    started = time.perf_counter()
    labels = GraphClusterer(similarity=float(similarity), min_cluster_size=int(min_cluster_size),
                            neighbors=int(neighbors)).fit_predict(x)
    elapsed = time.perf_counter() - started
    b, p = bcubed(truth, labels), pairwise(truth, labels)
    print(json.dumps({"faces": len(x), "people": int(len(np.unique(truth))), "seconds": elapsed,
                      "clusters": int(labels.max() + 1), "bcubed_f": b[2], "pairwise_f": p[2],
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    args = labelled_project_arguments(__doc__, sizes=[100_000, 1_000_000])
    settings, faces, identity, similarity = labelled_library(args)
    data = Path(settings.data_dir) / "cluster-scale-input.npz"
    np.savez(data, x=np.stack([f.embedding for f in faces]).astype(np.float32), identity=identity)
    rows = []
    try:
        for size in args.sizes:
            done = subprocess.run([sys.executable, __file__, "--child", str(data), str(size), str(similarity),
                                   str(settings.min_cluster_size), str(settings.cluster_neighbors)],
                                  capture_output=True, text=True, env=dict(os.environ))
            if done.returncode != 0:
                sys.exit(f"clustering {size} faces failed:\n{done.stderr[-3000:]}")
            r = json.loads(done.stdout.strip().splitlines()[-1])
            seconds_target, memory_target = TARGETS.get(size, (None, None))
            met = ((seconds_target is None or r["seconds"] <= seconds_target)
                   and (memory_target is None or r["peak_rss_mib"] <= memory_target))
            target = " and ".join(t for t in (f"<= {seconds_target:.0f} s" if seconds_target else "",
                                              f"<= {memory_target:.0f} MiB" if memory_target else "") if t)
            rows.append([r["faces"], r["people"], r["clusters"], f"{r['seconds']:.1f}", f"{r['peak_rss_mib']:.0f}",
                         f"{r['bcubed_f']:.4f}", f"{r['pairwise_f']:.4f}",
                         f"{target or '-'}: {'met' if met else '**not met**'}" if target else "-"])
            print(rows[-1], flush=True)
    finally:
        data.unlink(missing_ok=True)
    table = markdown_table(["faces", "people", "clusters", "seconds", "peak RSS MiB", "BCubed F", "pairwise F",
                            "target"], rows)
    note = (f"GraphClusterer at similarity {similarity:.2f} (the default) on the {len(faces)} real SFace faces of "
            f"`{args.project}` and rotated copies of them (see the script); each size in its own process, "
            "time of `fit_predict` alone.")
    publish("Clustering at library scale", note, table, report=not args.no_report)


if __name__ == "__main__":
    main()
