"""Cluster a project's faces and record the clusters in both stores."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from peoplegraph.engine.cluster import (
    ATTACH_MARGIN, CANDIDATE_MARGIN, GraphClusterer, assign_to_clusters, keep_seeded,
)
from peoplegraph.engine.decisions import Decisions, constrained_labels, people_of_clusters
from peoplegraph.identity.records import Appearance, ClusterRecord, FaceDecision
from peoplegraph.observations.face_index import ProjectFaces
from peoplegraph.observations.model import UNCLUSTERED, validate_project_name
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.project_lock import holding_project


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
Stage = Callable[[str, int, int], None]  # a run's stage, its items done and its items (faces)
PLACING = "place "  # the mark of an action's placement to come (`decide_and_place`): its faces and clusters, JSON
# Rounds of widening the scope of a partial run (`place_faces`) before it gives up and runs on the whole
# project: each round adds the clusters and decided faces the last one reached.
MAX_SCOPE_ROUNDS = 8
# An ingest whose new faces are at least 1/WHOLE_RUN_SHARE of the project clusters the whole project.
WHOLE_RUN_SHARE = 5
# Faces whose cluster a whole-project run writes per call: a reset of 1M faces as one mapping held three
# Python copies of it (about 300 MB) while the store wrote.
CLUSTER_WRITE_BATCH = 100_000
GONE_SAMPLE = 16  # faces kept of each cluster a run removes, to tell where it went


@holding_project
def cluster_project(
    runtime: Runtime, project: str, stage: Stage | None = None, *, min_cluster_size: int | None = None,
    mode: str = "reset",
) -> ClusteringReport:
    """Cluster the whole project. `reset`: every face again (the machine's clusters are replaced whole);
    `missing`: only faces without a cluster, which join an existing cluster by the lone-face rule or form
    new clusters among themselves, numbered after the existing ones, so no existing cluster id changes.
    The human decisions recorded by the linking layer are constraints in both modes (a run never undoes
    them), and each cluster holding confirmed faces is linked to their person. `min_cluster_size`
    overrides the setting for this run. Editor actions and ingests place only what they touched
    (`place_faces`); this whole-project run is for a reset, a repair, and a first clustering.

    The vector store is written first, the graph last, in one transaction that also clears the mark
    set before the first write: a run that dies in between leaves the mark, and the next run (or
    `peoplegraph repair`) finishes its work, as a reset when the dead run was one (its cluster ids were
    half renumbered)."""
    validate_project_name(project)
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    settings = runtime.settings
    min_size = settings.min_cluster_size if min_cluster_size is None else min_cluster_size
    say = stage or _quiet
    recovered = runtime.graph.pending_clustering(project)
    if recovered == "reset":
        mode = "reset"
    say("reading faces", 0, 1)
    faces = runtime.vectors.project_faces(project)
    similarity = runtime.cluster_similarity
    say("clustering", 0, len(faces))
    decisions = runtime.graph.face_decisions(project)
    constraints = as_constraints(faces.face_ids, decisions)
    floor = max(int(faces.cluster_ids.max(initial=UNCLUSTERED)), runtime.graph.highest_gone_cluster(project))
    if mode == "reset":
        labels = keep_cluster_ids(faces.cluster_ids, cluster_labels(
            faces, settings, similarity, min_size, constraints, progress=lambda done, n: say("clustering", done, n)),
            floor)
    else:
        labels = missing_labels(faces, settings, similarity, min_size, constraints, floor)
    person_of = {} if constraints is None else people_of_clusters(labels, constraints)
    runtime.graph.mark_clustering(project, mode)
    before = faces.cluster_ids.copy()
    changed = np.flatnonzero(before != labels)
    for start in range(0, changed.size, CLUSTER_WRITE_BATCH):
        say("writing clusters", start, changed.size)
        part = changed[start:start + CLUSTER_WRITE_BATCH]
        runtime.vectors.set_clusters(project, dict(zip(faces.face_ids[part].tolist(), labels[part].tolist())))
    say("writing clusters", changed.size, changed.size)
    everyone = np.arange(len(faces))
    records = summarise_clusters(project, faces, labels, person_of)
    runtime.graph.replace_clusters(project, records, appearances(faces, everyone, labels, person_of, decisions),
                                   gone=gone_clusters(faces.face_ids, before, labels))
    return _report(faces, labels, len(records), similarity, min_size, mode, recovered)


@holding_project
def place_faces(runtime: Runtime, project: str, face_ids: Iterable[int] = (), cluster_ids: Iterable[int] = (),
                stage: Stage | None = None, released: Mapping[int, int] | None = None) -> ClusteringReport:
    """A `missing` run over the part of the project an action or an ingest touched: the faces named (new
    ones, ones a decision moved or took out of a cluster) and the clusters named, widened until it holds
    every face of each cluster involved and every face decided as an individual involved (so the
    decisions apply exactly as in a whole-project run). Unclustered faces in it join the cluster of their
    nearest clustered face (the lone-face rule, against the whole project through the index) or are
    clustered with the unclustered faces near them. Only the clusters whose faces or person changed are
    written, in both stores; the cost follows the faces touched, not the size of the project.

    A run left unfinished (the mark of a dead run) is finished first by a whole-project run; the placement
    an action marked and did not make (`decide_and_place`) is made with this one. `released`: the cluster
    each face the caller took out of its cluster was in (its id goes back to those faces when they stay
    together, and a cluster left empty says where they went)."""
    validate_project_name(project)
    pending = runtime.graph.pending_clustering(project)
    if pending.startswith(PLACING):
        left = json.loads(pending[len(PLACING):])
        _release(runtime, project, left["release"], left.get("delete", []))
        face_ids, cluster_ids = [*face_ids, *left["faces"]], [*cluster_ids, *left["clusters"]]
    elif pending:
        return cluster_project(runtime, project, stage, mode="missing")
    return _place(runtime, project, face_ids, cluster_ids, stage, released)


def _place(runtime: Runtime, project: str, face_ids: Iterable[int], cluster_ids: Iterable[int],
           stage: Stage | None = None, released: Mapping[int, int] | None = None) -> ClusteringReport:
    """`place_faces` once no mark is left to finish; `released`: the clusters the faces an action took out of
    their cluster were in (so that a cluster that is gone says where its faces went)."""
    released = dict(released or {})
    settings = runtime.settings
    say = stage or _quiet
    similarity = runtime.cluster_similarity
    say("reading faces", 0, 1)
    faces = runtime.vectors.project_faces(project)
    rows = faces.rows(sorted({int(f) for f in face_ids}))
    seeds = set(rows[rows >= 0].tolist())
    clusters = {int(c) for c in cluster_ids} - {UNCLUSTERED}
    scope = _Scope(faces, runtime.graph, project)
    floor = max(int(faces.cluster_ids.max(initial=UNCLUSTERED)), max(released.values(), default=UNCLUSTERED),
                runtime.graph.highest_gone_cluster(project))  # new clusters take ids above every id ever used
    say("clustering", 0, len(seeds))
    for _ in range(MAX_SCOPE_ROUNDS):
        inside = scope.widen(seeds, clusters)
        labels, joined, pool = _placed(faces, inside, scope.ignored_rows, settings, similarity, floor)
        if joined <= clusters and pool <= seeds:
            break
        seeds |= pool
        clusters |= joined
    else:
        return cluster_project(runtime, project, stage, mode="missing")
    decisions = scope.decisions
    constraints = as_constraints(faces.face_ids[inside], decisions)
    first_new = max(floor, int(labels.max(initial=UNCLUSTERED))) + 1
    if constraints is not None:
        labels, _ = constrained_labels(labels, constraints, renumber=False, first_new_label=first_new)
    before = faces.cluster_ids[inside]
    was_in = before.copy()  # where the faces were before the action (released ones included)
    for k, face in enumerate(faces.face_ids[inside].tolist() if released else ()):
        was_in[k] = released.get(face, was_in[k])
    labels = _take_back_freed_ids(faces, inside, was_in, labels, floor)
    person_of = {} if constraints is None else people_of_clusters(labels, constraints)
    moved = labels != before
    say("writing clusters", 0, int(moved.sum()))
    affected = (clusters | set(labels[moved].tolist())) - {UNCLUSTERED}
    if moved.any():
        runtime.graph.mark_clustering(project, "missing")
        runtime.vectors.set_clusters(project, dict(zip(faces.face_ids[inside[moved]].tolist(),
                                                       labels[moved].tolist())))
    members = faces.members(sorted(affected))
    kept = {c: p for c, p in person_of.items() if c in affected}
    records = summarise_clusters(project, faces, faces.cluster_ids, kept, rows=members)
    written = np.union1d(members, inside)  # faces taken out of a cluster before the run included
    removed = affected - {r.cluster_id for r in records}
    runtime.graph.update_clusters(
        project, records, removed=sorted(removed),
        faces=[(faces.photo_id(i), int(faces.face_ids[i])) for i in written.tolist()],
        appearances=appearances(faces, members, faces.cluster_ids, kept, decisions),
        gone=gone_clusters(faces.face_ids[inside], was_in, labels, removed | set(released.values())))
    total = len(np.unique(faces.cluster_ids[faces.cluster_ids != UNCLUSTERED]))
    return _report(faces, faces.cluster_ids, total, similarity, settings.min_cluster_size, "missing", "")


def _quiet(stage: str, done: int, total: int) -> None:
    """No one follows the run."""


def decide_and_place(runtime: Runtime, project: str, decide: Callable[[], object], face_ids: Iterable[int],
                     cluster_ids: Iterable[int] = (), release: Iterable[int] = (),
                     delete: Iterable[int] = ()) -> ClusteringReport:
    """An editor action, safe against a crash at any point: mark the placement to come (the faces and clusters
    `place_faces` will place, the faces to take out of their cluster first, and those to delete), write the
    decisions (`decide`), release (or delete) those faces, place. Killed anywhere in between, `repair` (or
    the next partial run) releases, deletes and places the marked faces under the decisions then in force:
    the action is then wholly done, or not at all."""
    face_ids, cluster_ids, release, delete = (sorted({int(v) for v in values})
                                              for values in (face_ids, cluster_ids, release, delete))
    if runtime.graph.pending_clustering(project):  # a dead run's or action's work first: its mark is not ours
        place_faces(runtime, project)
    marked = {"faces": face_ids, "clusters": cluster_ids, "release": release, "delete": delete}
    runtime.graph.mark_clustering(project, PLACING + json.dumps(marked))
    try:
        decide()
    except Exception:  # refused: the graph wrote nothing (one transaction), and neither will we
        runtime.graph.mark_clustering(project, "")
        raise
    released = {}
    if release:  # where they were, so that a cluster they leave empty says where its faces went
        held = runtime.vectors.project_faces(project)
        released = {f: int(held.cluster_ids[r]) for f, r in zip(release, held.rows(release).tolist()) if r >= 0}
    _release(runtime, project, release, delete)
    return _place(runtime, project, face_ids, cluster_ids, released=released)  # the mark is ours: not read again


def _release(runtime: Runtime, project: str, release: Sequence[int], delete: Sequence[int]) -> None:
    if release:
        runtime.vectors.set_clusters(project, {f: UNCLUSTERED for f in release})
    if delete:
        runtime.vectors.delete_faces(project, delete)


@holding_project
def cluster_new_faces(runtime: Runtime, project: str, face_ids: Sequence[int],
                      stage: Stage | None = None) -> ClusteringReport:
    """Cluster the faces an ingest added: placed among the existing clusters (`place_faces`) when they are
    a small part of the project, or a whole-project `missing` run when they are much of it (a first
    ingest), where building one k-NN graph beats placing faces one by one. Existing cluster ids stay."""
    total = len(runtime.vectors.project_faces(project))
    if len(face_ids) * WHOLE_RUN_SHARE >= total:
        return cluster_project(runtime, project, stage, mode="missing")
    return place_faces(runtime, project, face_ids, stage=stage)


class _Scope:
    """The faces a partial run must see, and their decisions, read from the graph as the scope grows: given
    faces and clusters, every face of every cluster they are in, and every face decided as an individual
    (a person, a group, the group's person) any of those faces is decided as or removed from, again and
    again until nothing is added."""

    def __init__(self, faces: ProjectFaces, graph, project: str) -> None:
        self.faces, self.graph, self.project = faces, graph, project
        self.decisions: dict[int, FaceDecision] = {}
        self._asked_faces: set[int] = set()
        self._asked_names: set[str] = set()
        found = faces.rows(sorted(graph.ignored_face_ids(project)))
        self.ignored_rows = np.zeros(len(faces), bool)
        self.ignored_rows[found[found >= 0]] = True

    def widen(self, rows: set[int], clusters: set[int]) -> np.ndarray:
        """The sorted rows of the scope reached from `rows` and `clusters` (both grow in place)."""
        while True:
            clusters |= set(self.faces.cluster_ids[list(rows)].tolist()) - {UNCLUSTERED}
            rows |= set(self.faces.members(sorted(clusters)).tolist())
            ids = set(self.faces.face_ids[list(rows)].tolist()) - self._asked_faces
            if ids:
                self._asked_faces |= ids
                self.decisions.update(self.graph.face_decisions(self.project, face_ids=sorted(ids)))
            confirmed, removed = resolved_decisions(self.decisions)
            within = [self.decisions[f] for f in self.faces.face_ids[list(rows)].tolist() if f in self.decisions]
            names = {n for d in within for n in (d.confirmed_as, d.grouped_as, confirmed.get(d.face_id),
                                                 *removed.get(d.face_id, ())) if n}
            names |= {n for d in self.decisions.values() if d.grouped_as and d.confirmed_as
                      and {d.grouped_as, d.confirmed_as} & names for n in (d.grouped_as, d.confirmed_as)}
            new = names - self._asked_names
            if new:
                self._asked_names |= new
                self.decisions.update(self.graph.face_decisions(self.project, identities=sorted(new)))
                confirmed, _ = resolved_decisions(self.decisions)
            theirs = [f for f, d in self.decisions.items()
                      if confirmed.get(f) in self._asked_names or d.grouped_as in self._asked_names]
            found = self.faces.rows(theirs)
            added = set(found[found >= 0].tolist()) - rows
            if not new and not added and not ids:
                return np.array(sorted(rows), np.int64)
            rows |= added


def _placed(faces: ProjectFaces, inside: np.ndarray, ignored: np.ndarray, settings,
            similarity: float, floor: int) -> tuple[np.ndarray, set[int], set[int]]:
    """The labels of the rows `inside` once their unclustered faces are placed, the existing clusters they
    joined, and the unclustered rows (inside or near them) clustered with them."""
    labels = faces.cluster_ids[inside].copy()
    waiting = inside[(labels == UNCLUSTERED) & ~ignored[inside]]
    if not waiting.size:
        return labels, set(), set()
    clustered = faces.cluster_ids != UNCLUSTERED
    nearest, _ = faces.nearest(faces.embeddings[waiting], 1, among=clustered)
    targets = np.unique(faces.cluster_ids[nearest[nearest >= 0].ravel()])
    candidates = faces.members(targets)
    joins = assign_to_clusters(faces.embeddings[waiting], faces.embeddings[candidates],
                               faces.cluster_ids[candidates], similarity, similarity - ATTACH_MARGIN)
    position = {int(r): i for i, r in enumerate(inside.tolist())}
    for row, label in zip(waiting.tolist(), joins.tolist()):
        labels[position[row]] = label
    rest = waiting[joins == UNCLUSTERED]
    joined = set(joins[joins != UNCLUSTERED].tolist())
    if not rest.size:
        return labels, joined, set()
    # the unclustered faces near the rest, with which they may form new clusters
    lone = (faces.cluster_ids == UNCLUSTERED) & ~ignored
    near, near_sims = faces.nearest(faces.embeddings[rest], settings.cluster_neighbors, among=lone)
    pool = np.union1d(rest, near[(near >= 0) & (near_sims >= similarity - CANDIDATE_MARGIN)])
    fresh = cluster_labels(faces.select(pool), settings, similarity, settings.min_cluster_size)
    first = max(floor, int(labels.max(initial=UNCLUSTERED))) + 1
    for row, label in zip(pool.tolist(), fresh.tolist()):
        if row in position:
            labels[position[row]] = UNCLUSTERED if label == UNCLUSTERED else label + first
    formed = set(pool[fresh != UNCLUSTERED].tolist())
    return labels, joined, formed


def _report(faces: ProjectFaces, labels: np.ndarray, clusters: int, similarity: float, min_size: int, mode: str,
            recovered: str) -> ClusteringReport:
    clustered = int(np.count_nonzero(labels != UNCLUSTERED))
    return ClusteringReport(faces=len(faces), clusters=clusters, clustered_faces=clustered,
                            unclustered_faces=len(faces) - clustered, similarity=similarity,
                            min_cluster_size=min_size, mode=mode, recovered=recovered)


def appearances(faces: ProjectFaces, rows: np.ndarray, labels: np.ndarray, person_of: Mapping[int, str],
                decisions: Mapping[int, FaceDecision]) -> list[Appearance]:
    """Each face (of `rows`) in a named cluster as an appearance of its person, with how it was named: its
    own decision when that names the person (confirmed, auto...), else `cluster` (it joined the person's
    cluster)."""
    out = []
    for row in np.asarray(rows, np.int64).tolist():
        label = int(labels[row])
        person = person_of.get(label)
        if person is None:
            continue
        face_id = int(faces.face_ids[row])
        decision = decisions.get(face_id)
        own = decision is not None and decision.confirmed_as == person
        out.append(Appearance(person, faces.photo_id(row), face_id, tuple(faces.boxes[row].tolist()),  # type: ignore[arg-type]
                              label, decision.method if own else "cluster", decision.score if own else None))
    return out


def keep_cluster_ids(before: np.ndarray, after: np.ndarray, floor: int | None = None) -> np.ndarray:
    """`after`'s clusters under lasting ids: a cluster whose faces are mostly those of one cluster of `before`,
    where most of that cluster's faces went, keeps its id (its faces stayed together); the others take new
    ids above `floor` (the highest id ever used; by default `before`'s), in `after`'s order, so that no id
    ever names other faces."""
    out = np.full(after.shape, UNCLUSTERED, np.int64)
    fresh = np.unique(after[after != UNCLUSTERED])
    both = (before != UNCLUSTERED) & (after != UNCLUSTERED)
    kept = _mutual_majority(after, before, both, both)
    next_id = max(int(before.max(initial=UNCLUSTERED)), UNCLUSTERED if floor is None else floor) + 1
    mapping = np.full(int(after.max(initial=0)) + 1, UNCLUSTERED, np.int64)
    for n in fresh.tolist():
        if n in kept:
            mapping[n] = kept[n]
        else:
            mapping[n] = next_id
            next_id += 1
    clustered = after != UNCLUSTERED
    out[clustered] = mapping[after[clustered]]
    return out


def _take_back_freed_ids(faces: ProjectFaces, inside: np.ndarray, was_in: np.ndarray, labels: np.ndarray,
                         floor: int) -> np.ndarray:
    """A cluster a partial run made anew takes back the id of the cluster most of its faces were in, when that
    cluster is gone and most of its faces are in this one: undoing a split gives the cluster its id back."""
    fresh = labels > floor
    clustered = was_in != UNCLUSTERED
    freed = np.setdiff1d(np.unique(was_in[clustered]), labels)
    if not fresh.any() or not freed.size:
        return labels
    elsewhere = np.isin(faces.cluster_ids, freed)  # still some faces outside the run: not free
    elsewhere[inside] = False
    freed = np.setdiff1d(freed, faces.cluster_ids[elsewhere])
    out = labels.copy()
    for new, old in _mutual_majority(labels, was_in, fresh & clustered, np.isin(was_in, freed)).items():
        out[labels == new] = old
    return out


def _mutual_majority(after: np.ndarray, before: np.ndarray, from_after: np.ndarray,
                     from_before: np.ndarray) -> dict[int, int]:
    """The clusters of `after` matched to clusters of `before`, each pair the one where most of the other's
    faces are: the rows `from_after` say where an `after` cluster's faces were, `from_before` where a
    `before` cluster's faces went."""
    best_old = _best(after[from_after], before[from_after])
    best_new = _best(before[from_before], after[from_before])
    return {n: o for n, o in best_old.items() if best_new.get(o) == n}


def _best(keys: np.ndarray, values: np.ndarray) -> dict[int, int]:
    """For each key, the value it shares the most faces with (the lower value on a tie)."""
    if not keys.size:
        return {}
    pairs, counts = np.unique(np.stack([keys, values]), axis=1, return_counts=True)
    keys, values = pairs
    order = np.lexsort((values, -counts, keys))
    k, v = keys[order], values[order]
    first = np.r_[True, k[1:] != k[:-1]]
    return dict(zip(k[first].tolist(), v[first].tolist()))


def gone_clusters(face_ids: np.ndarray, before: np.ndarray, after: np.ndarray,
                  candidates: Iterable[int] | None = None) -> dict[int, list[int]]:
    """For each cluster id of `before` (or of `candidates`) that `after` no longer has, up to GONE_SAMPLE of
    its faces: where they are when a client asks is where the cluster went."""
    gone = set(np.unique(before[before != UNCLUSTERED]).tolist() if candidates is None else candidates)
    gone -= set(np.unique(after).tolist()) | {UNCLUSTERED}
    if not gone:
        return {}
    order = np.argsort(before, kind="stable")
    ids, starts = np.unique(before[order], return_index=True)
    where = dict(zip(ids.tolist(), starts.tolist()))
    found = {}
    for c in sorted(gone):
        if c in where:
            rows = order[where[c]:where[c] + GONE_SAMPLE]
            found[int(c)] = face_ids[rows[before[rows] == c]].tolist()
    return found


def missing_labels(faces: ProjectFaces, settings, similarity: float, min_cluster_size: int,
                   decisions: Decisions | None = None, floor: int = UNCLUSTERED) -> np.ndarray:
    """Clustered faces keep their cluster; the others join one (`assign_to_clusters`) or are clustered among
    themselves into new clusters numbered after the highest existing id; then the decisions, renumbering
    nothing."""
    labels = faces.cluster_ids.copy()
    embeddings = faces.embeddings
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
        fresh = cluster_labels(faces.select(rest), settings, similarity, min_cluster_size)
        first = max(int(labels.max()), floor) + 1
        labels[rest] = np.where(fresh == UNCLUSTERED, UNCLUSTERED, fresh + first)
    return labels if decisions is None else constrained_labels(labels, decisions, renumber=False)[0]


def cluster_labels(faces: ProjectFaces, settings, similarity: float, min_cluster_size: int,
                   decisions: Decisions | None = None,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The clustering every run uses: GraphClusterer at `similarity` over the faces not ignored, faces that
    may not seed a cluster kept only in clusters that have a face that may, then the human decisions."""
    clusterer = GraphClusterer(similarity=similarity, min_cluster_size=min_cluster_size,
                               neighbors=settings.cluster_neighbors, progress=progress)
    labels = np.full(len(faces), UNCLUSTERED, np.int64)
    kept = np.ones(len(faces), bool)
    if decisions is not None:
        kept[list(decisions.ignored)] = False
    chosen = np.flatnonzero(kept)
    if chosen.size:
        # every face chosen (nothing ignored): no copy of the embeddings (512 MB at 1M 128-D faces)
        x = faces.embeddings if chosen.size == len(faces) else faces.embeddings[chosen]
        labels[chosen] = keep_seeded(clusterer.fit_predict(x), may_seed(faces, settings)[chosen])
    return labels if decisions is None else constrained_labels(labels, decisions)[0]


def as_constraints(face_ids: np.ndarray, decisions: Mapping[int, FaceDecision]) -> Decisions | None:
    """Decisions by face id as constraints by index into `face_ids` (faces no longer stored, or not among
    them, are passed over). A group whose faces were later confirmed as a person is that person: its other
    faces must-link with the person, and faces removed from the group are removed from the person."""
    if not decisions:
        return None
    index = {int(f): i for i, f in enumerate(np.asarray(face_ids).tolist())}
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


def may_seed(faces: ProjectFaces, settings) -> np.ndarray:
    """Which faces are good enough to start a cluster (the others can still join one)."""
    sides = np.minimum(faces.boxes[:, 2] - faces.boxes[:, 0], faces.boxes[:, 3] - faces.boxes[:, 1])
    return (sides >= settings.cluster_seed_min_face_size) & (faces.quality >= settings.cluster_seed_min_quality)


def summarise_clusters(project: str, faces: ProjectFaces, labels: np.ndarray, person_of: Mapping[int, str],
                       rows: np.ndarray | None = None) -> list[ClusterRecord]:
    """Size, mean detection confidence, photos, person, and a representative face: the confident face nearest
    the cluster's mean direction (what an editor should see first); for the clusters of `rows` (default: all
    faces), each from all of its faces among them."""
    rows = np.arange(len(faces)) if rows is None else np.asarray(rows, np.int64)
    rows = rows[labels[rows] != UNCLUSTERED]
    order = rows[np.argsort(labels[rows], kind="stable")]
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    records = []
    for members in np.split(order, bounds) if order.size else []:
        label = int(labels[members[0]])
        embeddings = faces.embeddings[members]
        centre = embeddings.mean(axis=0)
        scores = faces.det_scores[members].astype(np.float64)
        closeness = embeddings @ centre / max(float(np.linalg.norm(centre)), 1e-12)
        best = int(members[int(np.argmax(closeness + 0.25 * scores))])
        per_photo = Counter(sorted(faces.photo_id(i) for i in members.tolist()))
        records.append(
            ClusterRecord(
                project=project,
                cluster_id=label,
                size=len(members),
                representative_face_id=int(faces.face_ids[best]),
                representative_photo_id=faces.photo_id(best),
                representative_box=tuple(float(v) for v in faces.boxes[best]),  # type: ignore[arg-type]
                mean_confidence=float(scores.mean()),
                photo_ids=tuple(per_photo),
                faces_per_photo=tuple(per_photo.values()),
                person_id=person_of.get(label),
            )
        )
    return records
