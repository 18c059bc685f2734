"""Cluster a project's faces and record the clusters in both stores."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

from peoplegraph.engine.cluster import ATTACH_MARGIN, GraphClusterer, assign_to_clusters, keep_seeded
from peoplegraph.engine.decisions import Decisions, constrained_labels, people_of_clusters
from peoplegraph.identity.records import Appearance, ClusterRecord, FaceDecision
from peoplegraph.observations.model import UNCLUSTERED, FaceObservation, validate_project_name
from peoplegraph.services.runtime import Runtime


@dataclass
class ClusteringReport:
    faces: int
    clusters: int
    clustered_faces: int
    unclustered_faces: int
    similarity: float
    min_cluster_size: int
    mode: str = "reset"
    # a run that died between its vector-store and graph writes, finished by this one ("" none)
    recovered: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


MODES = ("reset", "missing")


def cluster_project(
    runtime: Runtime, project: str, stage: Callable[[str], None] | None = None, *, min_cluster_size: int | None = None,
    mode: str = "reset",
) -> ClusteringReport:
    """Cluster the project's faces. `reset`: every face again (the machine's clusters are replaced whole);
    `missing`: only faces without a cluster, which join an existing cluster by the lone-face rule or form
    new clusters among themselves, numbered after the existing ones, so no existing cluster id changes.
    The human decisions recorded by the linking layer are constraints in both modes (a run never undoes
    them), and each cluster holding confirmed faces is linked to their person. `min_cluster_size`
    overrides the setting for this run.

    The vector store is written first, the graph last, in one transaction that also clears the mark
    set before the first write: a run that dies in between leaves the mark, and the next run (or
    `peoplegraph repair`) finishes its work, as a reset when the dead run was one (its cluster ids were
    half renumbered)."""
    validate_project_name(project)
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    settings = runtime.settings
    min_size = settings.min_cluster_size if min_cluster_size is None else min_cluster_size
    say = stage or (lambda _: None)
    recovered = runtime.graph.pending_clustering(project)
    if recovered == "reset":
        mode = "reset"
    say("reading faces")
    faces = runtime.vectors.faces(project, with_embeddings=True)
    similarity = runtime.cluster_similarity
    say("clustering")
    embeddings = stacked_embeddings(faces)
    decisions = runtime.graph.face_decisions(project)
    constraints = as_constraints(faces, decisions)
    if mode == "reset":
        labels = cluster_labels(faces, embeddings, settings, similarity, min_size, constraints)
    else:
        labels = missing_labels(faces, embeddings, settings, similarity, min_size, constraints)
    person_of = {} if constraints is None else people_of_clusters(labels, constraints)
    say("writing clusters")
    runtime.graph.mark_clustering(project, mode)
    changed = {f.face_id: int(label) for f, label in zip(faces, labels) if f.cluster_id != int(label)}
    if changed:
        runtime.vectors.set_clusters(project, changed)
    records = [dataclasses.replace(r, person_id=person_of.get(r.cluster_id))
               for r in summarise_clusters(project, faces, labels, embeddings)]
    runtime.graph.replace_clusters(project, records, appearances(faces, labels, person_of, decisions))
    clustered = int(np.count_nonzero(labels != UNCLUSTERED))
    return ClusteringReport(
        faces=len(faces), clusters=len(records), clustered_faces=clustered,
        unclustered_faces=len(faces) - clustered, similarity=similarity,
        min_cluster_size=min_size, mode=mode, recovered=recovered,
    )


def appearances(faces: list[FaceObservation], labels: np.ndarray, person_of: Mapping[int, str],
                decisions: Mapping[int, FaceDecision]) -> list[Appearance]:
    """Each face in a named cluster as an appearance of its person, with how it was named: its own decision
    when that names the person (confirmed, auto...), else `cluster` (it joined the person's cluster)."""
    out = []
    for face, label in zip(faces, labels.tolist()):
        person = person_of.get(label)
        if person is None:
            continue
        decision = decisions.get(face.face_id)
        own = decision is not None and decision.confirmed_as == person
        out.append(Appearance(person, face.photo_id, face.face_id, tuple(face.box), label,  # type: ignore[arg-type]
                              decision.method if own else "cluster", decision.score if own else None))
    return out


def missing_labels(faces: list[FaceObservation], embeddings: np.ndarray, settings, similarity: float,
                   min_cluster_size: int, decisions: Decisions | None = None) -> np.ndarray:
    """Clustered faces keep their cluster; the others join one (`assign_to_clusters`) or are clustered among
    themselves into new clusters numbered after the highest existing id; then the decisions, renumbering
    nothing."""
    labels = np.array([f.cluster_id for f in faces], np.int64)
    ignored = np.zeros(len(faces), bool)
    if decisions is not None:
        ignored[list(decisions.ignored)] = True
    new = np.flatnonzero((labels == UNCLUSTERED) & ~ignored)
    old = np.flatnonzero(labels != UNCLUSTERED)
    if new.size:  # with nothing to place, the decisions (a merge, a split) may still move faces
        joined = assign_to_clusters(embeddings[new], embeddings[old], labels[old], similarity,
                                    similarity - ATTACH_MARGIN)
        labels[new] = joined
        rest = new[joined == UNCLUSTERED]
        fresh = cluster_labels([faces[i] for i in rest], embeddings[rest], settings, similarity, min_cluster_size)
        first = max(int(labels.max()) + 1, 0)
        labels[rest] = np.where(fresh == UNCLUSTERED, UNCLUSTERED, fresh + first)
    return labels if decisions is None else constrained_labels(labels, decisions, renumber=False)[0]


def stacked_embeddings(faces: list[FaceObservation]) -> np.ndarray:
    return np.stack([f.embedding for f in faces]).astype(np.float32) if faces else np.zeros((0, 1), np.float32)


def cluster_labels(faces: list[FaceObservation], embeddings: np.ndarray, settings, similarity: float,
                   min_cluster_size: int, decisions: Decisions | None = None) -> np.ndarray:
    """The clustering every run uses: GraphClusterer at `similarity` over the faces not ignored, faces that
    may not seed a cluster kept only in clusters that have a face that may, then the human decisions."""
    clusterer = GraphClusterer(similarity=similarity, min_cluster_size=min_cluster_size,
                               neighbors=settings.cluster_neighbors)
    labels = np.full(len(faces), UNCLUSTERED, np.int64)
    kept = np.ones(len(faces), bool)
    if decisions is not None:
        kept[list(decisions.ignored)] = False
    chosen = np.flatnonzero(kept)
    if chosen.size:
        labels[chosen] = keep_seeded(clusterer.fit_predict(embeddings[chosen]),
                                     may_seed([faces[i] for i in chosen], settings))
    return labels if decisions is None else constrained_labels(labels, decisions)[0]


def as_constraints(faces: list[FaceObservation], decisions: Mapping[int, FaceDecision]) -> Decisions | None:
    """Decisions by face id as constraints by face index (faces no longer stored are passed over). A group
    whose faces were later confirmed as a person is that person: its other faces must-link with the
    person, and faces removed from the group are removed from the person."""
    if not decisions:
        return None
    index = {f.face_id: i for i, f in enumerate(faces)}
    confirmed, removed = resolved_decisions(decisions)
    return Decisions(
        confirmed={index[f]: person for f, person in confirmed.items() if f in index},
        removed={index[f]: people for f, people in removed.items() if f in index and people},
        ignored=frozenset(index[f] for f, d in decisions.items() if d.ignored and f in index),
    )


def resolved_decisions(decisions: Mapping[int, FaceDecision]) -> tuple[dict[int, str], dict[int, frozenset[str]]]:
    """Each decided face's individual (its person, or its group read as the person the group was named as)
    and the individuals it is not, by face id. A face both is and is not one individual (decisions the
    linking layer never writes, but an older graph might hold) counts as that individual."""
    named = named_groups(decisions.values())
    confirmed = {f: d.confirmed_as or named.get(d.grouped_as, d.grouped_as)  # type: ignore[misc]
                 for f, d in decisions.items() if d.confirmed_as or d.grouped_as}
    removed = {f: frozenset(named.get(p, p) for p in d.removed_from) - {confirmed.get(f)}
               for f, d in decisions.items() if d.removed_from}
    return confirmed, removed


def named_groups(decisions: Iterable[FaceDecision]) -> dict[str, str]:
    """The person each unnamed group was later confirmed as (its faces say both)."""
    return {d.grouped_as: d.confirmed_as for d in decisions if d.grouped_as and d.confirmed_as}


def may_seed(faces: list[FaceObservation], settings) -> np.ndarray:
    """Which faces are good enough to start a cluster (the others can still join one)."""
    return np.array(
        [
            min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= settings.cluster_seed_min_face_size
            and f.quality_score >= settings.cluster_seed_min_quality
            for f in faces
        ],
        dtype=bool,
    )


def summarise_clusters(
    project: str, faces: list[FaceObservation], labels: np.ndarray, embeddings: np.ndarray
) -> list[ClusterRecord]:
    """Size, mean detection confidence, photos, and a representative face: the confident face nearest the
    cluster's mean direction (what an editor should see first)."""
    records = []
    for label in sorted(set(labels.tolist()) - {UNCLUSTERED}):
        members = np.flatnonzero(labels == label)
        centre = embeddings[members].mean(axis=0)
        scores = np.array([faces[i].det_score for i in members])
        closeness = embeddings[members] @ centre / max(float(np.linalg.norm(centre)), 1e-12)
        best = members[int(np.argmax(closeness + 0.25 * scores))]
        face = faces[best]
        per_photo = Counter(sorted(faces[i].photo_id for i in members))
        records.append(
            ClusterRecord(
                project=project,
                cluster_id=int(label),
                size=len(members),
                representative_face_id=face.face_id,
                representative_photo_id=face.photo_id,
                representative_box=tuple(float(v) for v in face.box),
                mean_confidence=float(scores.mean()),
                photo_ids=tuple(per_photo),
                faces_per_photo=tuple(per_photo.values()),
            )
        )
    return records
