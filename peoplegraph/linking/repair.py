"""Agreement between the two stores: the vector store holds each face's cluster id, the graph the clusters,
their people and the decisions. Every operation writes the decisions (graph), then the faces' cluster ids
(vector store), then the clusters (graph, one transaction, clearing the mark of the run). A process killed
between two of those writes leaves a disagreement that `check` finds and `repair` fixes by finishing the
work: the clustering run that was cut short (a reset when it was one), or a `missing` run, which applies
every decision and writes the graph from the vector store's cluster ids. The next linking operation or
ingest does the same on its own, since each ends with such a run.

`check` and `repair` hold the project's lock (services/project_lock.py), as every run does while it
writes: a mark they find was left by a run that died, never by one still in progress in another worker.
A repair also rebuilds this process's face index from the vector store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np

from peoplegraph.engine.decisions import constrained_labels, people_of_clusters
from peoplegraph.observations.model import UNCLUSTERED, validate_project_name
from peoplegraph.services.clustering import PLACING, ClusteringReport, as_constraints, cluster_project, place_faces
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.project_lock import holding_project

SHOWN = 5  # examples named in a problem


@dataclass
class RepairReport:
    project: str
    problems: list[str]  # what `check` found
    repaired: bool
    clustering: ClusteringReport | None

    def to_dict(self) -> dict:
        return asdict(self)


@holding_project
def check(runtime: Runtime, project: str) -> list[str]:
    """Where the two stores disagree with each other or with a human decision; [] when they agree."""
    validate_project_name(project)
    problems = []
    pending = runtime.graph.pending_clustering(project)
    if pending.startswith(PLACING):
        problems.append("an action stopped before it placed the faces it changed")
    elif pending:
        problems.append(f"a {pending} clustering run stopped between its vector-store and graph writes")
    faces = runtime.vectors.faces(project)
    orphans = orphan_faces(runtime, project, faces)
    if orphans:
        problems.append(f"{len(orphans)} faces in the vector store belong to photos the graph does not have (an "
                        "ingest stopped between its two writes; e.g. faces " + ", ".join(map(str, orphans[:SHOWN])) + ")")
    labels = np.array([f.cluster_id for f in faces], np.int64)
    in_vectors = Counter(labels[labels != UNCLUSTERED].tolist())
    clusters = runtime.graph.clusters(project)
    in_graph = {c.cluster_id: c.size for c in clusters}
    differ = sorted(c for c in set(in_vectors) | set(in_graph) if in_vectors.get(c) != in_graph.get(c))
    if differ:
        problems.append(f"{len(differ)} clusters differ between the vector store and the graph (e.g. "
                        + ", ".join(f"{c}: {in_vectors.get(c, 0)} faces against {in_graph.get(c, 0)}"
                                    for c in differ[:SHOWN]) + ")")
    indexed = runtime.vectors.project_faces(project)
    rows = indexed.rows([f.face_id for f in faces])
    if len(indexed) != len(faces) or (rows < 0).any() or not np.array_equal(indexed.cluster_ids[rows], labels):
        problems.append("the face index disagrees with the vector store")
    constraints = as_constraints(np.array([f.face_id for f in faces], np.int64), runtime.graph.face_decisions(project))
    if constraints is not None:
        applied, _ = constrained_labels(labels, constraints, renumber=False)
        broken = [faces[i].face_id for i in np.flatnonzero(applied != labels)]
        if broken:
            problems.append(f"{len(broken)} faces sit where a human decision says they do not (e.g. faces "
                            + ", ".join(map(str, broken[:SHOWN])) + ")")
        named = {c.cluster_id: c.person_id for c in clusters if c.person_id}
        if named != people_of_clusters(labels, constraints):
            problems.append("the people of the clusters in the graph are not the ones the decisions name")
    return problems


def orphan_faces(runtime: Runtime, project: str, faces) -> list[int]:
    """The faces (of `faces`) whose photo the graph does not have."""
    photo_ids = sorted({f.photo_id for f in faces})
    stored = {p.photo_id for p in runtime.graph.photos_by_id(project, photo_ids)}
    return sorted(f.face_id for f in faces if f.photo_id not in stored)


@holding_project
def repair(runtime: Runtime, project: str) -> RepairReport:
    """Find the disagreements and, if any, finish the interrupted work; checks again afterwards."""
    problems = check(runtime, project)
    if not problems:
        return RepairReport(project, [], False, None)
    mode = runtime.graph.pending_clustering(project) or "missing"
    orphans = orphan_faces(runtime, project, runtime.vectors.faces(project))
    if orphans:  # the next ingest of their photos writes them again, with the photos
        runtime.vectors.delete_faces(project, orphans)
    runtime.vectors.rebuild_index(project)
    if mode.startswith(PLACING):  # the faces the action named, placed as it would have placed them
        report = place_faces(runtime, project)
        if check(runtime, project):
            report = cluster_project(runtime, project, mode="missing")
    else:
        report = cluster_project(runtime, project, mode=mode)
    left = check(runtime, project)
    if left:
        raise RuntimeError(f"repair: project {project!r} still disagrees after a {mode} run: {'; '.join(left)}")
    return RepairReport(project, problems, True, report)
