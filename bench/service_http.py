"""The service over HTTP (issue 12's figures), through the app on the embedded stores, in process
(Litestar's TestClient: the app's own work, not a network's):

1. an upload of N real LFW photos (default 500) end to end: accepted, ingested, matched and clustered by the
   in-process worker, photos a second;
2. thumbnails: p50 / p99 of the first request for a photo (made from the file) and of a repeat (kept);
3. one GraphQL page of 50 people with their photos and faces: wall time and the graph-store calls it made
   (counted by wrapping the store), the target being <= 10 calls and <= 100 ms.

    python bench/service_http.py [--photos 500] [--no-report]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402

PEOPLE_PAGE = 50


class CountingGraph:
    """The runtime's graph store, counting the calls made through it."""

    def __init__(self, target) -> None:
        self._target = target
        self.calls = 0

    def __getattr__(self, name):
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    from litestar.testing import TestClient

    from peoplegraph.api.app import create_app
    from peoplegraph.settings import Settings

    lfw = SHARED_DATA / "lfw-devtrain"
    photos = sorted(lfw.glob("*/*.jpg"))[: args.photos]
    with tempfile.TemporaryDirectory(prefix="pg-service-") as scratch:
        settings = Settings(data_dir=Path(scratch), model_dir=Settings().models_path)
        with TestClient(app=create_app(settings), timeout=600) as client:
            client.headers["Authorization"] = f"Bearer {client.app.state.first_admin_key}"
            client.post("/projects", json={"name": "bench"}).raise_for_status()
            began = time.perf_counter()
            jobs = []
            for start in range(0, len(photos), 100):  # what a browser sends: batches of files
                files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos[start:start + 100]]
                answer = client.post("/projects/bench/photos", files=files)
                answer.raise_for_status()
                jobs += answer.json()["jobs"]
            for job in jobs:
                while client.get(f"/jobs/{job}").json()["state"] not in ("complete", "failed"):
                    time.sleep(0.2)
            upload_s = time.perf_counter() - began

            runtime = client.app.state.runtime
            stored = runtime.graph.photos("bench", limit=200)
            first, again = [], []
            for photo in stored:
                for times in (first, again):
                    began = time.perf_counter()
                    client.get(f"/projects/bench/photos/{photo.photo_id}/thumbnail?side=256").raise_for_status()
                    times.append(time.perf_counter() - began)

            # 50 people, each confirmed on a cluster, so that each has photos and faces
            clusters = client.get(f"/projects/bench/clusters?limit={PEOPLE_PAGE}").json()
            for i, cluster in enumerate(clusters):
                client.post(f"/projects/bench/clusters/{cluster['id']}/confirm",
                            json={"name": f"Person {i:02d}"}).raise_for_status()
            counting = CountingGraph(runtime.graph)
            runtime.__dict__["graph"] = counting
            query = ('{ people(project: "bench") { id name photoCount photos(limit: 10) '
                     '{ id path appearances { faceId box { x1 y1 x2 y2 } } } } }')
            timings, calls = [], []
            for _ in range(5):
                counting.calls = 0
                began = time.perf_counter()
                answer = client.post("/graphql", json={"query": query})
                timings.append(time.perf_counter() - began)
                calls.append(counting.calls)
                body = answer.json()
                assert not body.get("errors"), body["errors"]
            people = len(body["data"]["people"])
    ms = 1000
    table = markdown_table(
        ["photos uploaded", "upload end to end s", "photos/s", "thumbnail first p50 / p99 ms",
         "thumbnail again p50 / p99 ms", "GraphQL page of people", "its graph calls", "its ms (median of 5)"],
        [[len(photos), f"{upload_s:.1f}", f"{len(photos) / upload_s:.1f}",
          f"{ms * statistics.median(first):.1f} / {ms * percentile(first, 0.99):.1f}",
          f"{ms * statistics.median(again):.1f} / {ms * percentile(again, 0.99):.1f}",
          people, max(calls), f"{ms * statistics.median(timings):.0f}"]])
    note = (f"The app in process (Litestar TestClient) on the embedded stores: {len(photos)} lfw-devtrain photos "
            "uploaded in batches of 100, each job ingesting, matching and clustering (in-process worker); 256 px "
            f"thumbnails of {len(first)} photos, first request (made from the kept upload) and a repeat (kept "
            "thumbnail); one GraphQL page of people with their photos and faces, graph-store calls counted. "
            "Targets: thumbnail p50 <= 10 ms; the page <= 10 store calls and <= 100 ms.")
    publish("The service over HTTP", note, table, report=not args.no_report)


if __name__ == "__main__":
    main()
