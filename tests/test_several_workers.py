"""Several worker processes on one project at once, against the servers (Milvus standalone, Neo4j, Redis):
each ingests its share of the photos (matching and clustering them) and acts as an editor (confirm,
remove, merge, undo) while the other does the same. The per-project lock serialises what must not
interleave, the change journal keeps each process's face index current, and in the end the stores agree,
every photo and face is there once, and no undo sequence number was used twice."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from milvus_server import private_database
from processes import ROOT
from peoplegraph.linking import service as linking
from peoplegraph.linking.repair import check
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings
from peoplegraph.workers.redis_server import PrivateRedis

PROJECT = "shared"
WORKERS = 2

WORKER = textwrap.dedent("""
    import json, random, sys
    from pathlib import Path
    from peoplegraph.linking import service as linking
    from peoplegraph.linking.matching import match_new_faces
    from peoplegraph.observations.model import UNCLUSTERED
    from peoplegraph.services.clustering import cluster_new_faces
    from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
    from peoplegraph.services.runtime import Runtime
    from peoplegraph.settings import Settings

    project, seed, photos = sys.argv[1], int(sys.argv[2]), [Path(p) for p in sys.argv[3:]]
    rnd = random.Random(seed)
    done = []
    with Runtime(Settings()) as runtime:
        for start in range(0, len(photos), 6):
            report = IngestService(runtime, write_batch=3).ingest(project, collect_sources(photos[start:start + 6],
                                                                                          IngestReport()))
            match_new_faces(runtime, project, report.face_ids)
            cluster_new_faces(runtime, project, report.face_ids)
            for _ in range(3):
                faces = runtime.vectors.project_faces(project)
                clusters = sorted(set(faces.cluster_ids.tolist()) - {UNCLUSTERED})
                if not clusters:
                    continue
                cluster = rnd.choice(clusters)
                members = faces.face_ids[faces.members([cluster])].tolist()
                kind = rnd.choice(["confirm", "remove", "merge", "undo"])
                try:
                    if kind == "confirm":
                        linking.confirm_cluster(runtime, project, cluster, name=f"W{seed} {start}", actor=f"w{seed}")
                    elif kind == "remove" and len(members) > 2:
                        linking.remove_faces(runtime, project, members[:1], actor=f"w{seed}")
                    elif kind == "merge" and len(clusters) > 1:
                        linking.merge_clusters(runtime, project, rnd.sample(clusters, 2), actor=f"w{seed}")
                    elif kind == "undo":
                        linking.undo(runtime, project)
                    done.append(kind)
                except ValueError as refused:  # the other worker changed the clusters meanwhile: an editor's error
                    done.append(f"{kind} refused: {refused}")
    print(json.dumps(done))
""")


@pytest.mark.slow
def test_two_workers_ingest_and_review_one_project_at_once(shared_data: Path, model_dir: Path, tmp_path: Path,
                                                           milvus_server, neo4j_server) -> None:
    lfw = shared_data / "lfw-devtrain"
    people = ["Colin_Powell", "Tony_Blair", "Donald_Rumsfeld", "Gerhard_Schroeder"]
    photos = [p for name in people for p in sorted((lfw / name).glob("*.jpg"))[:6]]
    photos += [next(d.glob("*.jpg")) for d in sorted(lfw.iterdir())[:12] if d.is_dir()]
    shares = [photos[i::WORKERS] for i in range(WORKERS)]
    with private_database(milvus_server) as milvus_uri, PrivateRedis(tmp_path / "redis") as redis:
        common = {"PEOPLEGRAPH_MODEL_DIR": str(model_dir), "PEOPLEGRAPH_MILVUS_URI": milvus_uri,
                  "PEOPLEGRAPH_GRAPH_URI": neo4j_server.uri, "PEOPLEGRAPH_GRAPH_USER": neo4j_server.user,
                  "PEOPLEGRAPH_GRAPH_PASSWORD": neo4j_server.password, "PEOPLEGRAPH_REDIS_URL": redis.url}
        # a project of its own on the shared Neo4j (other tests use it too)
        project = f"{PROJECT}-{hashlib.sha256(str(tmp_path).encode()).hexdigest()[:8]}"
        logs = [(tmp_path / f"out-{seed}", tmp_path / f"err-{seed}") for seed in range(WORKERS)]
        # output to files: a worker blocked on a full pipe nobody reads would hold the project's lock
        running = [subprocess.Popen([sys.executable, "-c", WORKER, project, str(seed), *map(str, share)], cwd=ROOT,
                                    env={**os.environ, **common, "PEOPLEGRAPH_DATA_DIR": str(tmp_path / f"w{seed}")},
                                    stdout=out.open("w"), stderr=err.open("w"))
                   for seed, (share, (out, err)) in enumerate(zip(shares, logs))]
        for process in running:
            process.wait(timeout=900)
        outputs = [(out.read_text(), err.read_text()) for out, err in logs]
        for process, (out, err) in zip(running, outputs):
            assert process.returncode == 0, err[-3000:]
        actions = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
        assert all(any("refused" not in a for a in done) for done in actions), actions
        settings = Settings(data_dir=tmp_path / "checker", model_dir=model_dir, milvus_uri=milvus_uri,
                            graph_uri=neo4j_server.uri, graph_user=neo4j_server.user,
                            graph_password=neo4j_server.password, redis_url=redis.url)
        with Runtime(settings) as runtime:
            try:
                assert check(runtime, project) == [], actions
                assert runtime.graph.photo_count(project) == len(set(photos))  # each photo once
                faces = runtime.vectors.faces(project)
                assert len({f.face_id for f in faces}) == len(faces) == runtime.vectors.count(project)
                assert {f.photo_id for f in faces} <= {p.photo_id for p in runtime.graph.photos(project)}
                seqs = [r["seq"] for r in runtime.graph._run(
                    "MATCH (a:LinkAction) WHERE a.project = $project RETURN a.seq AS seq", {"project": project})]
                assert len(seqs) == len(set(seqs)) and seqs
                linking.undo(runtime, project)  # the history is one, whichever worker wrote it
                assert check(runtime, project) == []
            finally:
                runtime.graph.drop_project(project)
