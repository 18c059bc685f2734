"""Interactive steps at library scale, through the product's own functions on its embedded stores
(milvus-lite + LadybugDB + the face index): one editor action, adding 100 photos, selfie search, a reset.

The library is built from the real SFace faces of an ingested labelled project (lfw-devtrain) and rotated
copies of them (bench/cluster_scale.py: each copy a new set of people), written through the stores as an
ingest writes them (faces upserted in batches, photos added to the graph). Then, for each size, in a
process of its own (peak RSS is its own):

1. a full `reset` clustering run;
2. 200 clusters confirmed as people (the references auto-matching needs);
3. each editor action timed 5 times on fresh clusters: confirm, remove a face, merge two clusters, split
   one, undo (each ends with its partial clustering run, as in the product);
4. 100 new photos (the next copies' faces): auto-matching and clustering of their faces;
5. 50 selfie searches, each with the selfie's own detection and embedding (a real LFW photo) included, in
   process and through the REST API of a `peoplegraph serve` started on the library.

Targets (issue 10): an action <= 1 s at 100k and <= 3 s at 1M; 100 photos into 1M <= 10 s; search p50
<= 100 ms and p99 <= 300 ms at 1M; a reset at 1M <= 15 min within 4 GB. The reset's peak is the process's
peak RSS when the reset ends (opening the stores included); the last column is the peak over every step.

    python bench/interactive_scale.py --data-dir DIR [--project lfw] [--sizes 10000 100000] [--no-report]
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_scale import library  # noqa: E402
from common import labelled_library, labelled_project_arguments, markdown_table, publish  # noqa: E402

PROJECT = "scale"
NEW_PHOTOS = 100
PEOPLE = 200
REPEATS = 5
SEARCHES = 50
ACTION_TARGETS = {100_000: 1.0, 1_000_000: 3.0}  # seconds per editor action


def build(settings, source: Path, size: int) -> tuple[list[str], int]:
    """Write `size` faces (and their photos) into the stores; returns the photo ids of the next
    NEW_PHOTOS photos' faces, which are kept aside (as a file beside the stores) for step 4."""
    from peoplegraph.identity.records import PhotoRecord
    from peoplegraph.observations.model import FaceObservation, face_id_for
    from peoplegraph.services.runtime import Runtime

    stored = np.load(source)
    x, _ = library(stored["x"], stored["identity"], size + 400)
    photo_of, boxes, scores, quality = stored["photo"], stored["box"], stored["det"], stored["quality"]
    n = len(photo_of)
    faces, photos = [], {}
    with Runtime(settings) as runtime:
        runtime.vectors.drop_project(PROJECT)  # a server keeps the last size's library
        runtime.graph.drop_project(PROJECT)
        model = runtime.pack.model_id
        for i in range(len(x)):
            copy, real = divmod(i, n)
            photo = hashlib.sha256(f"{photo_of[real]}:{copy}".encode()).hexdigest()
            box = tuple(float(v) for v in boxes[real])
            faces.append(FaceObservation(face_id_for(PROJECT, photo, model, box), PROJECT, photo, box, [0.0] * 10,
                                         float(scores[real]), embedding=x[i], quality_score=float(quality[real])))
            photos.setdefault(photo, []).append(i)
        order = list(photos)
        # the photos whose faces all lie past `size` are the new ones
        new = [p for p in order if min(photos[p]) >= size][:NEW_PHOTOS]
        old = [p for p in order if max(photos[p]) < size]
        keep = [faces[i] for p in old for i in photos[p]]
        for start in range(0, len(keep), 5000):
            runtime.vectors.upsert(keep[start:start + 5000])
        records = [PhotoRecord(PROJECT, p, f"/library/{p[:12]}.jpg", 250, 250, len(photos[p])) for p in old]
        for start in range(0, len(records), 20_000):  # batches, as an ingest writes them (smaller still)
            runtime.graph.add_photos(records[start:start + 20_000])
        extra = [faces[i] for p in new for i in photos[p]]
    np.save(Path(settings.data_dir) / "new-faces.npy", np.array([
        (f.face_id, f.photo_id, *f.box, f.det_score, f.quality_score) for f in extra], dtype=object),
        allow_pickle=True)
    np.save(Path(settings.data_dir) / "new-embeddings.npy", np.stack([f.embedding for f in extra]))
    return new, len(keep)


class Servers:
    """Milvus, Neo4j and Redis servers on this machine for one run: the settings that point at them."""

    def __init__(self) -> None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import milvus_server
        import neo4j_server

        from peoplegraph.workers.redis_server import PrivateRedis

        self._milvus_server, self._neo4j_server = milvus_server, neo4j_server
        self.milvus = milvus_server.start()
        self.neo4j = neo4j_server.start_launcher()
        self.redis = PrivateRedis(Path(tempfile.mkdtemp(prefix="pg-scale-redis-")))
        self.redis.start()
        self.env = {"PEOPLEGRAPH_MILVUS_URI": self.milvus.uri, "PEOPLEGRAPH_GRAPH_URI": self.neo4j.server.uri,
                    "PEOPLEGRAPH_REDIS_URL": self.redis.url}

    def stop(self) -> None:
        self.redis.stop()
        self._milvus_server.stop(self.milvus)
        self._neo4j_server._stop(self.neo4j.process)


UI_OPENS = 10


def review_ui_open(client, project: str) -> float:
    """The requests the web UI's cluster review makes when an editor opens it (the first page of unnamed
    clusters, the people it names, the first cluster's faces, the queued suggestions), in its order."""
    began = time.perf_counter()
    people = client.get(f"/projects/{project}/people", params={"limit": 500, "include_hidden": True})
    page = client.get(f"/projects/{project}/clusters", params={"status": "unnamed", "limit": 50})
    first = page.json()[0]["id"]
    faces = client.get(f"/projects/{project}/clusters/{first}/faces", params={"limit": 200})
    queue = client.get(f"/projects/{project}/review", params={"limit": 500})
    for answer in (people, page, faces, queue):
        answer.raise_for_status()
    return time.perf_counter() - began


def service_latencies(settings, selfies: list[Path]) -> tuple[float, list[float], list[float]]:
    """Selfie searches through the REST API of a `peoplegraph serve` started on the library (a real HTTP
    server on localhost): the seconds the first request took (it opens the face index), and each other's;
    then the seconds each opening of the web UI's cluster review took (its requests, as the UI makes them)."""
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from live_server import running_server

    with running_server(Path(settings.data_dir), Path(settings.models_path), start_timeout_s=300) as server:
        latencies = []
        headers = {"Authorization": f"Bearer {server.key('bench')}"}
        with httpx.Client(base_url=server.url, timeout=60, headers=headers) as client:
            # the first request opens the library's face index in the server (timed apart)
            began = time.perf_counter()
            client.post(f"/projects/{PROJECT}/search", files={"data": ("warm.jpg", selfies[0].read_bytes())},
                        timeout=900).raise_for_status()
            first = time.perf_counter() - began
            for selfie in selfies:
                began = time.perf_counter()
                answer = client.post(f"/projects/{PROJECT}/search", files={"data": (selfie.name, selfie.read_bytes())})
                latencies.append(time.perf_counter() - began)
                answer.raise_for_status()
            opens = [review_ui_open(client, PROJECT) for _ in range(UI_OPENS)]
    return first, latencies, opens


def build_child(arguments: list[str]) -> None:
    """Build mode: write one size's library into a folder (its own process: its memory is not the steps')."""
    from peoplegraph.settings import Settings

    source, size, scratch = Path(arguments[0]), int(arguments[1]), Path(arguments[2])
    started = time.perf_counter()
    new_photos, faces = build(Settings(data_dir=scratch, model_dir=Settings().models_path), source, size)
    (scratch / "built.json").write_text(json.dumps({"faces": faces, "build_s": time.perf_counter() - started,
                                                    "new_photos": new_photos}))


def child(arguments: list[str]) -> None:
    """Child mode: time every step on a built library, print a JSON line."""
    from peoplegraph.identity.records import PhotoRecord
    from peoplegraph.linking import service as linking
    from peoplegraph.linking.matching import match_new_faces
    from peoplegraph.observations.model import UNCLUSTERED, FaceObservation
    from peoplegraph.services.clustering import cluster_new_faces, cluster_project
    from peoplegraph.services.runtime import Runtime
    from peoplegraph.services.search import search_project, selfie_embedding
    from peoplegraph.settings import Settings

    scratch, size, selfie_dir = Path(arguments[0]), int(arguments[1]), Path(arguments[2])
    out: dict = {"size": size, **json.loads((scratch / "built.json").read_text())}
    new_photos = out.pop("new_photos")
    settings = Settings(data_dir=scratch, model_dir=Settings().models_path)
    with Runtime(settings) as runtime:
        started = time.perf_counter()
        report = cluster_project(runtime, PROJECT, mode="reset")
        out["reset_s"], out["clusters"] = time.perf_counter() - started, report.clusters
        out["reset_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # opening included
        index = runtime.vectors.project_faces(PROJECT)
        sizes = np.bincount(index.cluster_ids[index.cluster_ids != UNCLUSTERED])
        big = [int(c) for c in np.argsort(-sizes)[: PEOPLE + 10 * REPEATS]]
        started = time.perf_counter()
        for i, cluster in enumerate(big[:PEOPLE]):
            linking.confirm_cluster(runtime, PROJECT, cluster, name=f"Person {i}", actor="bench")
        out["confirm_200_s"] = time.perf_counter() - started
        spare = iter(big[PEOPLE:])
        timings: dict[str, list[float]] = {k: [] for k in ("confirm", "remove", "merge", "split", "undo")}

        def timed(kind: str, call) -> None:
            began = time.perf_counter()
            call()
            timings[kind].append(time.perf_counter() - began)

        def members(cluster: int) -> list[int]:
            faces_now = runtime.vectors.project_faces(PROJECT)
            return sorted(faces_now.face_ids[faces_now.members([cluster])].tolist())

        for r in range(REPEATS):
            cluster = next(spare)
            timed("confirm", lambda: linking.confirm_cluster(runtime, PROJECT, cluster, name=f"New {r}"))
            timed("remove", lambda: linking.remove_faces(runtime, PROJECT, members(cluster)[:1]))
            a, b = next(spare), next(spare)
            timed("merge", lambda: linking.merge_clusters(runtime, PROJECT, [a, b]))
            c = next(spare)
            timed("split", lambda: linking.split_cluster(runtime, PROJECT, c, members(c)[: len(members(c)) // 2]))
            timed("undo", lambda: linking.undo(runtime, PROJECT))
        out["actions"] = {k: float(np.median(v)) for k, v in timings.items()}
        out["action_max"] = {k: float(np.max(v)) for k, v in timings.items()}
        # 100 new photos: their faces as an ingest writes them, then matching and clustering
        rows = np.load(scratch / "new-faces.npy", allow_pickle=True)
        vectors = np.load(scratch / "new-embeddings.npy")
        extra = [FaceObservation(int(r[0]), PROJECT, str(r[1]), tuple(float(v) for v in r[2:6]), [0.0] * 10,
                                 float(r[6]), embedding=v, quality_score=float(r[7])) for r, v in zip(rows, vectors)]
        started = time.perf_counter()
        runtime.vectors.upsert(extra)
        runtime.graph.add_photos([PhotoRecord(PROJECT, p, f"/new/{p[:12]}.jpg", 250, 250, 1) for p in new_photos])
        out["new_write_s"] = time.perf_counter() - started
        started = time.perf_counter()
        matched = match_new_faces(runtime, PROJECT, [f.face_id for f in extra])
        placed = cluster_new_faces(runtime, PROJECT, [f.face_id for f in extra])
        out["new_photos_s"], out["new_faces"] = time.perf_counter() - started, len(extra)
        out["new_auto"] = matched.auto
        assert placed.mode == "missing"
        selfies = sorted(selfie_dir.glob("*/*.jpg"))[:SEARCHES]
        latencies = []
        for selfie in selfies:
            began = time.perf_counter()
            search_project(runtime, PROJECT, selfie_embedding(runtime, selfie))
            latencies.append(time.perf_counter() - began)
        out["search_p50_ms"] = float(np.percentile(latencies, 50) * 1000)
        out["search_p99_ms"] = float(np.percentile(latencies, 99) * 1000)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out), flush=True)  # the steps so far, should the service fail
    out["service_first_s"], served, opens = service_latencies(settings, selfies)
    out["ui_open_p50_ms"] = float(np.percentile(opens, 50) * 1000)
    out["service_p50_ms"] = float(np.percentile(served, 50) * 1000)
    out["service_p99_ms"] = float(np.percentile(served, 99) * 1000)
    print(json.dumps(out))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "--build":
        return build_child(sys.argv[2:])
    args = labelled_project_arguments(__doc__, sizes=[10_000, 100_000, 1_000_000], switches={
        "servers": "run on a Milvus 2.3.5 standalone server, Neo4j 5.26 and a Redis started for the run (as the "
                   "tests start them) instead of the embedded stores"})
    settings, faces, identity, _ = labelled_library(args)
    data = Path(settings.data_dir) / "interactive-scale-input.npz"
    np.savez(data, x=np.stack([f.embedding for f in faces]).astype(np.float32), identity=identity,
             photo=np.array([f.photo_id for f in faces]), box=np.array([f.box for f in faces], np.float32),
             det=np.array([f.det_score for f in faces], np.float32),
             quality=np.array([f.quality_score for f in faces], np.float32))
    rows, results = [], []
    servers = Servers() if args.servers else None
    try:
        for size in args.sizes:
            with tempfile.TemporaryDirectory(prefix="pg-scale-") as scratch:
                for step in (["--build", str(data), str(size), scratch], ["--child", scratch, str(size), str(args.folder)]):
                    done = subprocess.run([sys.executable, __file__, *step], capture_output=True, text=True,
                                          env={**os.environ, **(servers.env if servers else {})})
                    measured = [line for line in done.stdout.splitlines() if line.startswith("{")]
                    if done.returncode != 0 and not (step[0] == "--child" and measured):
                        sys.exit(f"size {size} failed:\n{done.stderr[-3000:]}")
                    if done.returncode != 0:  # only the REST step failed: the rest is reported, it is marked
                        print(f"size {size}: searching through the service failed:\n{done.stderr[-1500:]}",
                              file=sys.stderr)
            r = {"service_p50_ms": float("nan"), "service_p99_ms": float("nan"), "ui_open_p50_ms": float("nan"),
                 **json.loads(measured[-1])}
            results.append(r)
            a = r["actions"]
            target = ACTION_TARGETS.get(size)
            slowest = max(a.values())
            rows.append([r["faces"], f"{r['reset_s']:.1f}", *(f"{a[k]:.2f}" for k in ("confirm", "remove", "merge",
                                                                                       "split", "undo")),
                         f"{r['new_photos_s']:.2f} ({r['new_faces']} faces)", f"{r['search_p50_ms']:.0f} / "
                         f"{r['search_p99_ms']:.0f}", f"{r['service_p50_ms']:.0f} / {r['service_p99_ms']:.0f}",
                         f"{r['ui_open_p50_ms']:.0f}",
                         f"{r['reset_peak_rss_mib']:.0f}", f"{r['peak_rss_mib']:.0f}",
                         f"<= {target:.0f} s: {'met' if slowest <= target else '**not met**'}" if target else "-"])
            print(json.dumps(r), flush=True)
    finally:
        data.unlink(missing_ok=True)
        if servers is not None:
            servers.stop()
    table = markdown_table(["faces", "reset s", "confirm s", "remove s", "merge s", "split s", "undo s",
                            "100 new photos s", "search p50 / p99 ms", "REST search p50 / p99 ms", "review UI opens p50 ms",
                            "reset peak RSS MiB", "peak RSS MiB (all steps)",
                            "action target"], rows)
    growth = ""
    if len(results) > 1:
        first, last = results[0], results[-1]
        factor = last["faces"] / first["faces"]
        growth = "Growth for {:.0f}x faces: ".format(factor) + ", ".join(
            f"{k} {last['actions'][k] / max(first['actions'][k], 1e-9):.1f}x" for k in first["actions"]) + (
            f", 100 new photos {last['new_photos_s'] / first['new_photos_s']:.1f}x, search p50 "
            f"{last['search_p50_ms'] / first['search_p50_ms']:.1f}x, reset {last['reset_s'] / first['reset_s']:.1f}x.")
    stores = ("a Milvus 2.3.5 standalone server, Neo4j 5.26 (embedded launcher, Bolt) and Redis on this machine"
              if args.servers else "the embedded stores (milvus-lite, LadybugDB)")
    note = (f"Real SFace faces of `{args.project}` and rotated copies, written through {stores}; actions are "
            f"medians of {REPEATS} (each ends with its partial clustering run), after {PEOPLE} clusters were "
            "confirmed; search includes the selfie's detection and embedding (real LFW photos), in process and "
            "through `peoplegraph serve`; the review UI's opening is its four requests (first page of unnamed "
            f"clusters, people, the first cluster's faces, the review queue), median of {UI_OPENS}.")
    publish("Interactive steps at library scale" + (" (servers)" if args.servers else ""), note, table,
            *([growth] if growth else []), report=not args.no_report)


if __name__ == "__main__":
    main()
