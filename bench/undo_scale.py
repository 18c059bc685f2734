"""Undoing a naming as someone already known, and a merge of people, at two library sizes.

Each undo places again the faces whose decision changes back (and, for a merge of people, the undecided faces
that had followed the merged person's faces), so its cost is measured beside the action's own, on synthetic
faces (individuals of 20 faces, tight cones of 32-D embeddings) in the embedded graph store and the face
index (tests/synthetic_runtime.py): medians of 5 rounds, each on clusters of its own.

    python bench/undo_scale.py [--sizes 20000 100000] [--no-report]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import markdown_table, publish  # noqa: E402

ROUNDS = 5
INDIVIDUAL = 20  # faces of each synthetic person
STEPS = ("name as known", "undo it", "merge people", "undo the merge")


def timings(size: int) -> dict[str, float]:
    """The median seconds of each step on a library of `size` faces."""
    from synthetic_runtime import PROJECT, synthetic_runtime

    from peoplegraph.linking import people
    from peoplegraph.linking import service as linking
    from peoplegraph.services.clustering import cluster_project

    with tempfile.TemporaryDirectory(prefix="pg-undo-") as scratch:
        runtime = synthetic_runtime(Path(scratch), [INDIVIDUAL] * (size // INDIVIDUAL), seed=1)
        cluster_project(runtime, PROJECT)

        def cluster_of(face: int) -> int:
            return runtime.vectors.faces_by_id(PROJECT, [face])[0].cluster_id

        seconds: dict[str, list[float]] = {step: [] for step in STEPS}

        def timed(step: str, call) -> None:
            began = time.perf_counter()
            call()
            seconds[step].append(time.perf_counter() - began)

        for k in range(ROUNDS):
            first, second = 2 * INDIVIDUAL * k, 2 * INDIVIDUAL * k + INDIVIDUAL
            linking.confirm_cluster(runtime, PROJECT, cluster_of(first), name=f"First {k}")
            timed("name as known", lambda: linking.confirm_cluster(runtime, PROJECT, cluster_of(second),
                                                                   person_id=f"first-{k}"))
            timed("undo it", lambda: linking.undo(runtime, PROJECT))
            linking.confirm_cluster(runtime, PROJECT, cluster_of(second), name=f"Second {k}")
            timed("merge people", lambda: people.merge_people(runtime, PROJECT, f"first-{k}", f"second-{k}"))
            timed("undo the merge", lambda: linking.undo(runtime, PROJECT))
        runtime.graph.close()
    return {step: float(np.median(values)) for step, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000], help="library sizes (faces)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = parser.parse_args()
    found = {size: timings(size) for size in args.sizes}
    rows = [[size, *(f"{found[size][step]:.3f}" for step in STEPS)] for size in args.sizes]
    table = markdown_table(["faces", *(f"{step} s" for step in STEPS)], rows)
    first, last = args.sizes[0], args.sizes[-1]
    growth = ", ".join(f"{step} {found[last][step] / max(found[first][step], 1e-9):.1f}x" for step in STEPS)
    note = (f"Synthetic faces (individuals of {INDIVIDUAL}, 32-D), the embedded graph store and the face index; "
            f"medians of {ROUNDS} rounds, each naming a cluster as an existing person and undoing it, then "
            "merging two people and undoing that (each ends with its partial clustering run).")
    publish("Undo of a naming and of a merge of people", note, table,
            f"Growth for {last / first:.0f}x faces: {growth}.", report=not args.no_report)


if __name__ == "__main__":
    main()
