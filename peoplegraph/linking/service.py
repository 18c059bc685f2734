"""Editor actions on clusters and faces: each is recorded as face decisions with provenance (who, when,
how), then applied by a clustering run in `missing` mode, which renumbers no cluster and clusters any face
still waiting. Decisions are kept by face id, so no later run (reset included) can undo them.

- confirm: every face of the cluster is that person (a new one by name, or an existing one by id);
- ignore: every face of the cluster is a background extra and leaves every cluster for good;
- remove: the face is not the person its cluster was confirmed as, and leaves that cluster for good;
- accept / reject: a face waiting in the review queue (linking/matching.py) is, or is not, the person
  auto-matching suggested;
- undo: the latest action (auto-matching runs included) is taken back, last first;
- reset: every face is clustered again, under the decisions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from peoplegraph.identity.records import FaceDecision
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services.clustering import ClusteringReport, cluster_project
from peoplegraph.services.runtime import Runtime


@dataclass(frozen=True)
class LinkingResult:
    action: str
    project: str
    faces: list[int]  # the faces decided about
    person_id: str | None
    clustering: ClusteringReport

    def to_dict(self) -> dict:
        return asdict(self)


def confirm_cluster(runtime: Runtime, project: str, cluster_id: int, *, name: str | None = None,
                    person_id: str | None = None, actor: str = "") -> LinkingResult:
    validate_project_name(project)
    if (name is None) == (person_id is None):
        raise ValueError("confirm: give the person either as a new name or as an existing person id, not both")
    faces = _faces_of_cluster(runtime, project, cluster_id)
    graph = runtime.graph
    if person_id is not None:
        if person_id not in {p.person_id for p in graph.people(project)}:
            raise ValueError(f"person: no person {person_id!r} in project {project!r}")
    else:
        person_id = _new_person_id(runtime, project, name)
        graph.add_person(project, person_id, name)
    known = graph.face_decisions(project)
    stamp = _now()
    graph.set_face_decisions(project, action="confirm", decisions=[
        FaceDecision(face, confirmed_as=person_id, removed_from=_removed(known, face) - {person_id},
                     method="confirmed", actor=actor, decided_at=stamp)
        for face in faces
    ])
    return LinkingResult("confirm", project, faces, person_id, cluster_project(runtime, project, mode="missing"))


def ignore_cluster(runtime: Runtime, project: str, cluster_id: int, *, actor: str = "") -> LinkingResult:
    validate_project_name(project)
    faces = _faces_of_cluster(runtime, project, cluster_id)
    known = runtime.graph.face_decisions(project)
    stamp = _now()
    runtime.graph.set_face_decisions(project, action="ignore", decisions=[
        FaceDecision(face, removed_from=_removed(known, face), ignored=True, method="confirmed", actor=actor,
                     decided_at=stamp)
        for face in faces
    ])
    runtime.vectors.set_clusters(project, {face: -1 for face in faces})
    return LinkingResult("ignore", project, faces, None, cluster_project(runtime, project, mode="missing"))


def remove_faces(runtime: Runtime, project: str, face_ids: Sequence[int], *, actor: str = "") -> LinkingResult:
    validate_project_name(project)
    wanted = [int(f) for f in face_ids]
    if not wanted:
        raise ValueError("faces: name at least one face id")
    found = {f.face_id: f for f in runtime.vectors.faces_by_id(project, wanted)}
    unknown = [f for f in wanted if f not in found]
    if unknown:
        raise ValueError(f"faces: no face {', '.join(map(str, unknown))} in project {project!r}")
    person_of_cluster = {c.cluster_id: c.person_id for c in runtime.graph.clusters(project)}
    decisions, people = [], set()
    known = runtime.graph.face_decisions(project)
    stamp = _now()
    for face_id in wanted:
        cluster = found[face_id].cluster_id
        person = person_of_cluster.get(cluster)
        if person is None:
            where = "is in no cluster" if cluster == -1 else f"is in cluster {cluster}, which no one has confirmed"
            raise ValueError(f"face {face_id} {where}: confirm its cluster as a person first, then remove the "
                             "faces that are not that person")
        people.add(person)
        previous = known.get(face_id)
        confirmed = previous.confirmed_as if previous and previous.confirmed_as != person else None
        decisions.append(FaceDecision(face_id, confirmed_as=confirmed, removed_from=_removed(known, face_id) | {person},
                                      method="confirmed", actor=actor, decided_at=stamp))
    runtime.graph.set_face_decisions(project, decisions, action="remove")
    runtime.vectors.set_clusters(project, {face: -1 for face in wanted})
    person_id = next(iter(people)) if len(people) == 1 else None
    return LinkingResult("remove", project, wanted, person_id, cluster_project(runtime, project, mode="missing"))


def review_queue(runtime: Runtime, project: str) -> list[FaceDecision]:
    """Faces auto-matching suggested for a person but could not tag on its own, best score first."""
    validate_project_name(project)
    queued = [d for d in runtime.graph.face_decisions(project).values() if d.suggested_as and d.method == "review"]
    return sorted(queued, key=lambda d: (-(d.score or 0.0), d.face_id))


def review_faces(runtime: Runtime, project: str, face_ids: Sequence[int], *, accept: bool,
                 actor: str = "") -> LinkingResult:
    """Accept (the face is the suggested person) or reject (it is not) queued suggestions."""
    validate_project_name(project)
    queued = {d.face_id: d for d in review_queue(runtime, project)}
    wanted = [int(f) for f in face_ids]
    missing = [f for f in wanted if f not in queued]
    if not wanted or missing:
        raise ValueError(f"faces: {', '.join(map(str, missing)) or 'none given'}: not in the review queue of "
                         f"project {project!r} (peoplegraph review list)")
    stamp = _now()
    decisions = [
        FaceDecision(f, confirmed_as=queued[f].suggested_as if accept else None,
                     removed_from=queued[f].removed_from | (frozenset() if accept else {queued[f].suggested_as}),
                     score=queued[f].score, references=queued[f].references, method="confirmed", actor=actor,
                     decided_at=stamp)
        for f in wanted
    ]
    runtime.graph.set_face_decisions(project, decisions, action="accept" if accept else "reject")
    people = {queued[f].suggested_as for f in wanted}
    return LinkingResult("accept" if accept else "reject", project, wanted,
                         next(iter(people)) if len(people) == 1 else None,
                         cluster_project(runtime, project, mode="missing"))


def undo(runtime: Runtime, project: str) -> LinkingResult:
    """Undo the latest action (an editor's or an auto-matching run's): the faces get back the decisions they
    had before it, and a `missing` run puts faces it had taken out of clusters back into one."""
    validate_project_name(project)
    undone = runtime.graph.undo_last_action(project)
    if undone is None:
        raise ValueError(f"undo: nothing to undo in project {project!r}")
    return LinkingResult(f"undo {undone.action}", project, list(undone.face_ids), None,
                         cluster_project(runtime, project, mode="missing"))


def reset(runtime: Runtime, project: str) -> LinkingResult:
    validate_project_name(project)
    return LinkingResult("reset", project, [], None, cluster_project(runtime, project, mode="reset"))


def _faces_of_cluster(runtime: Runtime, project: str, cluster_id: int) -> list[int]:
    faces = [f.face_id for f in runtime.vectors.faces_of_clusters(project, [int(cluster_id)])]
    if int(cluster_id) < 0 or not faces:
        raise ValueError(f"cluster: no cluster {cluster_id} in project {project!r}")
    return faces


def _removed(known: dict[int, FaceDecision], face_id: int) -> frozenset[str]:
    previous = known.get(face_id)
    return previous.removed_from if previous else frozenset()


def _new_person_id(runtime: Runtime, project: str, name: str | None) -> str:
    if name is None or not name.strip():
        raise ValueError("name: must not be empty")
    base = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "person"
    taken = {p.person_id for p in runtime.graph.people(project)}
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
