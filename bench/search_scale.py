"""Selfie search's store work at two library sizes, with body ReID off and on (the body step's reads).

On synthetic faces (individuals of 20 faces, tight cones of 32-D embeddings; tests/synthetic_runtime.py) in
the embedded graph store and the face index, 200 people named: the time of `search_project` for a query
near one named person's faces, median and p99 of 50 searches (the selfie's own detection is not in it:
bench/interactive_scale.py measures search end to end on real photos).

    python bench/search_scale.py [--sizes 20000 100000] [--no-report]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import markdown_table, publish  # noqa: E402

INDIVIDUAL = 20
NAMED = 200
SEARCHES = 50


def timings(size: int) -> dict[str, tuple[float, float]]:
    """(p50, p99) milliseconds of a search with body ReID off and on, on `size` faces."""
    from synthetic_runtime import PROJECT, synthetic_runtime

    from peoplegraph.linking import service as linking
    from peoplegraph.services.clustering import cluster_project
    from peoplegraph.services.search import search_project

    with tempfile.TemporaryDirectory(prefix="pg-search-") as scratch:
        runtime = synthetic_runtime(Path(scratch), [INDIVIDUAL] * (size // INDIVIDUAL), seed=2)
        cluster_project(runtime, PROJECT)
        runtime.search_similarity = runtime.cluster_similarity
        for k in range(NAMED):
            (face,) = runtime.vectors.faces_by_id(PROJECT, [k * INDIVIDUAL])
            linking.confirm_cluster(runtime, PROJECT, face.cluster_id, name=f"Person {k}")
        queries = [runtime.vectors.faces_by_id(PROJECT, [(k % NAMED) * INDIVIDUAL + 1])[0].embedding
                   for k in range(SEARCHES)]
        out = {}
        for label, body_reid in (("body ReID off", False), ("body ReID on", True)):
            runtime.settings = types.SimpleNamespace(**{**vars(runtime.settings), "body_reid": body_reid})
            seconds = []
            for query in queries:
                began = time.perf_counter()
                found = search_project(runtime, PROJECT, query)
                seconds.append(time.perf_counter() - began)
                assert len(found) >= INDIVIDUAL - 1, len(found)
            out[label] = (1000 * float(np.percentile(seconds, 50)), 1000 * float(np.percentile(seconds, 99)))
        runtime.graph.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000], help="library sizes (faces)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = parser.parse_args()
    found = {size: timings(size) for size in args.sizes}
    labels = ("body ReID off", "body ReID on")
    rows = [[size, *(f"{found[size][label][0]:.1f} / {found[size][label][1]:.1f}" for label in labels)]
            for size in args.sizes]
    table = markdown_table(["faces", *(f"{label} p50 / p99 ms" for label in labels)], rows)
    first, last = args.sizes[0], args.sizes[-1]
    growth = ", ".join(f"{label} p50 {found[last][label][0] / max(found[first][label][0], 1e-9):.1f}x"
                       for label in labels)
    note = (f"Synthetic faces (individuals of {INDIVIDUAL}, 32-D), the embedded graph store and the face index, "
            f"{NAMED} people named; `search_project` for a query near a named person, {SEARCHES} searches "
            "(no selfie detection). With body ReID on, search also reads the matched people and their body "
            "decisions (none here: the cost of looking).")
    publish("Selfie search with and without the body step", note, table,
            f"Growth for {last / first:.0f}x faces: {growth}.", report=not args.no_report)


if __name__ == "__main__":
    main()
