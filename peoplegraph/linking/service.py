"""Editor actions on clusters and faces: each is recorded as face decisions with provenance (who, when,
how), then applied by a clustering run in `missing` mode, which renumbers no cluster and clusters any face
still waiting. Decisions are kept by face id, so no later run (reset included) can undo them.

- confirm: every face of the cluster is that person (a new one by name, or an existing one by id);
- ignore: every face of the cluster is a background extra and leaves every cluster for good (unless
  un-ignored);
- remove: the face is not the person its cluster was confirmed as (or, in a cluster no one named yet, not
  the individual the rest of the cluster is: those faces become an unnamed group), and leaves it for good;
- merge: two clusters are one individual (the person either is confirmed as, or an unnamed group);
- split: chosen faces of a cluster are another individual than the rest (two groups, or the person and a
  group cannot-linked with them);
- accept / reject: a face waiting in the review queue (linking/matching.py) is, or is not, the person
  auto-matching suggested;
- undo: the latest action (auto-matching runs included) is taken back, last first;
- reset: every face is clustered again, under the decisions.

Unnamed groups ("group:N", engine/decisions.py) keep an editor's merge or split of clusters no one has
named; confirming such a cluster later names the group, and what was removed from it is removed from the
person.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from peoplegraph.engine.decisions import GROUP_PREFIX, HUMAN_METHODS, is_group
from peoplegraph.identity.records import MERGE_PEOPLE, FaceDecision, PersonRecord, now
from peoplegraph.linking.matching import match_new_faces
from peoplegraph.observations.model import ID_LIMIT, UNCLUSTERED, checked_id, listed, validate_project_name
from peoplegraph.services.clustering import (
    ClusteringReport, cluster_project, decide_and_place, named_groups, place_faces,
)
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.project_lock import holding_project


@dataclass(frozen=True)
class LinkingResult:
    action: str
    project: str
    faces: list[int]  # the faces decided about
    person_id: str | None
    clustering: ClusteringReport | None  # None: an action on bodies alone, which places no face
    # merges: what the two sides disagreed on and how it was settled (field, kept value, merged value)
    conflicts: list[dict[str, str]] = field(default_factory=list)
    bodies: list[int] = field(default_factory=list)  # the bodies decided about (undoing a body action)

    def to_dict(self) -> dict:
        """As JSON: ids as strings (63-bit: a browser's or jq's numbers would round them)."""
        return {**asdict(self), "faces": [str(f) for f in self.faces], "bodies": [str(b) for b in self.bodies]}


@holding_project
def confirm_cluster(runtime: Runtime, project: str, cluster_id: int, *, name: str | None = None,
                    person_id: str | None = None, actor: str = "") -> LinkingResult:
    validate_project_name(project)
    if (name is None) == (person_id is None):
        raise ValueError("confirm: give the person as a new name or as an existing person's id, one of the two: "
                         f"{'both were' if name is not None else 'neither was'} given")
    faces = _faces_of_cluster(runtime, project, cluster_id)
    new_people = []
    if person_id is not None:
        existing_person(runtime, project, person_id)
    else:
        person_id = _new_person_id(runtime, project, name)
        new_people.append(PersonRecord(project, person_id, name.strip()))  # type: ignore[union-attr]
    known = decisions_around(runtime, project, faces, person_id)
    named = sorted({known[f].confirmed_as for f in faces if f in known and known[f].method in HUMAN_METHODS
                    and known[f].confirmed_as} - {person_id})
    if named:  # an editor named these faces: naming them again would strand that person silently
        raise Conflict(f"confirm: cluster {cluster_id} holds faces confirmed as {', '.join(map(repr, named))}: to "
                       "rename that person edit them; to say they are someone else, remove those faces first "
                       "(or merge the two people)")
    stamp = now()
    decisions = [_decided(known, face, confirmed_as=person_id, actor=actor, decided_at=stamp) for face in faces]
    placed = decide_and_place(runtime, project, lambda: _record(runtime, project, "confirm", known, decisions,
                                                                people=new_people), faces, [cluster_id])
    return LinkingResult("confirm", project, faces, person_id, placed)


@holding_project
def ignore_cluster(runtime: Runtime, project: str, cluster_id: int, *, actor: str = "") -> LinkingResult:
    validate_project_name(project)
    faces = _faces_of_cluster(runtime, project, cluster_id)
    known = runtime.graph.face_decisions(project, face_ids=faces)
    stamp = now()
    decisions = [FaceDecision(face, removed_from=_removed(known, face), ignored=True, method="confirmed",
                              actor=actor, decided_at=stamp) for face in faces]
    placed = decide_and_place(runtime, project, lambda: runtime.graph.set_face_decisions(
        project, action="ignore", decisions=decisions), faces, [cluster_id], release=faces)
    return LinkingResult("ignore", project, faces, None, placed)


def ignored_faces(runtime: Runtime, project: str) -> list[FaceDecision]:
    """The faces editors ignored (background extras), most recently ignored first."""
    validate_project_name(project)
    found = [d for d in runtime.graph.face_decisions(project).values() if d.ignored]
    return sorted(found, key=lambda d: (d.decided_at, d.face_id), reverse=True)


@holding_project
def unignore_faces(runtime: Runtime, project: str, face_ids: Sequence[int], *, actor: str = "") -> LinkingResult:
    """Ignored faces may seed and join clusters again (what else was decided about them stays)."""
    validate_project_name(project)
    wanted = list(dict.fromkeys(int(f) for f in face_ids))
    known = runtime.graph.face_decisions(project, face_ids=wanted)
    not_ignored = [f for f in wanted if not (f in known and known[f].ignored)]
    if not wanted or not_ignored:
        raise ValueError(f"faces: {listed(not_ignored) or 'none given'}: not ignored in project "
                         f"{project!r} (peoplegraph faces ignored)")
    stamp = now()
    decisions = [replace(known[f], ignored=False, method="confirmed", actor=actor, decided_at=stamp) for f in wanted]
    placed = decide_and_place(runtime, project, lambda: runtime.graph.set_face_decisions(
        project, action="unignore", decisions=decisions), wanted)
    return LinkingResult("unignore", project, wanted, None, placed)


@holding_project
def remove_faces(runtime: Runtime, project: str, face_ids: Sequence[int], *, actor: str = "") -> LinkingResult:
    """The faces are not the individual of their cluster: not its person, or, in a cluster no one has named,
    not the unnamed group its other faces then form (the editor has looked at the cluster)."""
    validate_project_name(project)
    wanted = list(dict.fromkeys(int(f) for f in face_ids))
    if not wanted:
        raise ValueError("faces: name at least one face id")
    found = _clusters_of(runtime, project, wanted)
    unknown = [f for f in wanted if f not in found]
    if unknown:
        raise ValueError(f"faces: no face {listed(unknown)} in project {project!r}")
    lone = [f for f in wanted if found[f] == UNCLUSTERED]
    if lone:
        raise ValueError(f"faces: {listed(lone)} in no cluster in project {project!r}: nothing to "
                         "remove them from")
    members_of = {c: _faces_of_cluster(runtime, project, c) for c in sorted(set(found.values()))}
    known = decisions_around(runtime, project, [f for m in members_of.values() for f in m])
    used = runtime.graph.group_names(project)
    stamp = now()
    decisions, identities = [], set()
    for cluster_id, members in members_of.items():
        removed = [f for f in wanted if found[f] == cluster_id]
        person, group, kept = _identity(known, members, set(removed), taken=identities | used)
        if not person and not kept:
            raise ValueError(f"faces: {listed(removed)} are every face of cluster {cluster_id}, which "
                             "no one has named: nothing is left to keep them apart from (ignore the cluster, or "
                             "split it)")
        identity = person or group
        identities.add(identity)
        if group:  # the faces left form the unnamed group the removed ones are not
            decisions += [_decided(known, f, grouped_as=group, actor=actor, decided_at=stamp) for f in kept]
        for face in removed:
            previous = known.get(face)
            decisions.append(_decided(
                known, face, confirmed_as=previous.confirmed_as if previous and previous.confirmed_as != identity else None,
                grouped_as=None, removed_from=_removed(known, face) | {identity}, actor=actor, decided_at=stamp))
    placed = decide_and_place(runtime, project, lambda: _record(runtime, project, "remove", known, decisions),
                              wanted, set(found.values()), release=wanted)
    person_id = next(iter(identities)) if len(identities) == 1 and not is_group(next(iter(identities))) else None
    return LinkingResult("remove", project, wanted, person_id, placed)


@holding_project
def merge_clusters(runtime: Runtime, project: str, cluster_ids: Sequence[int], *, actor: str = "") -> LinkingResult:
    """The clusters are one individual: the person one of them is confirmed as, or else an unnamed group
    (kept by every later run). Clusters confirmed as two different people are refused: merge the people."""
    validate_project_name(project)
    wanted = list(dict.fromkeys(int(c) for c in cluster_ids))
    if len(wanted) < 2:
        raise ValueError("clusters: name at least two different clusters to merge")
    faces = {c: _faces_of_cluster(runtime, project, c) for c in wanted}
    known = decisions_around(runtime, project, [f for c in wanted for f in faces[c]])
    person_of = {c: _person_of(known, faces[c]) for c in wanted}
    people = {p for p in person_of.values() if p}
    if len(people) > 1:
        named = ", ".join(f"{c} is {person_of[c]!r}" for c in wanted if person_of[c])
        raise ValueError(f"clusters: {named}: two people, not one cluster; merge the people instead "
                         f"(peoplegraph people merge {' '.join(sorted(people))})")
    every = [f for c in wanted for f in faces[c]]
    stamp = now()
    groups = Counter(known[f].grouped_as for f in every if f in known and known[f].grouped_as)
    if people:
        (person,) = people
        into = person
        decisions = [_decided(known, f, confirmed_as=person, actor=actor, decided_at=stamp) for f in every]
    else:
        person = None
        into = groups.most_common(1)[0][0] if groups else _new_group(known, runtime.graph.group_names(project))
        decisions = [_decided(known, f, grouped_as=into, actor=actor, decided_at=stamp) for f in every]
    # the groups merged in are the one individual now: faces kept apart from them are kept apart from it
    placed = decide_and_place(runtime, project, lambda: _record(
        runtime, project, "merge clusters", known, decisions, renamed={g: into for g in groups if g != into}),
        every, wanted)
    return LinkingResult("merge clusters", project, every, person, placed)


@holding_project
def split_cluster(runtime: Runtime, project: str, cluster_id: int, face_ids: Sequence[int], *,
                  actor: str = "") -> LinkingResult:
    """The chosen faces are another individual than the rest of the cluster: they form a cluster of their
    own (an unnamed group), cannot-linked with the rest (its person, or an unnamed group too)."""
    validate_project_name(project)
    members = _faces_of_cluster(runtime, project, cluster_id)
    chosen = list(dict.fromkeys(int(f) for f in face_ids))
    inside = set(members)
    outside = [f for f in chosen if f not in inside]
    if outside:
        raise ValueError(f"faces: {listed(outside)} not in cluster {cluster_id}")
    if not chosen or len(chosen) == len(members):
        raise ValueError(f"faces: choose some but not all of the {len(members)} faces of cluster {cluster_id}")
    known = decisions_around(runtime, project, members)
    used = runtime.graph.group_names(project)
    person, group, kept = _identity(known, members, set(chosen), taken=used)
    identity = person or group
    other = _new_group(known, taken={group} | used)
    stamp = now()
    # the editor chose which faces leave: the others are the cluster's individual, by name or as a group
    decisions = [_decided(known, f, confirmed_as=person, actor=actor, decided_at=stamp) if person
                 else _decided(known, f, grouped_as=group, actor=actor, decided_at=stamp)
                 for f in kept]
    decisions += [_decided(known, f, confirmed_as=None, grouped_as=other,
                           removed_from=(_removed(known, f) - {other}) | {identity}, actor=actor, decided_at=stamp)
                  for f in chosen]
    placed = decide_and_place(runtime, project, lambda: _record(runtime, project, "split", known, decisions),
                              members, [cluster_id], release=chosen)
    return LinkingResult("split", project, chosen, person, placed)


def review_queue(runtime: Runtime, project: str) -> list[FaceDecision]:
    """Faces auto-matching suggested for a person but could not tag on its own, best score first."""
    validate_project_name(project)
    return _queued(runtime.graph.face_decisions(project))


def _queued(known: Mapping[int, FaceDecision]) -> list[FaceDecision]:
    queued = [d for d in known.values() if d.suggested_as and d.method == "review"]
    return sorted(queued, key=lambda d: (-(d.score or 0.0), d.face_id))


@holding_project
def review_faces(runtime: Runtime, project: str, face_ids: Sequence[int], *, accept: bool,
                 actor: str = "") -> LinkingResult:
    """Accept (the face is the suggested person) or reject (it is not) queued suggestions."""
    validate_project_name(project)
    known = decisions_around(runtime, project, [int(f) for f in face_ids])
    queued = {d.face_id: d for d in _queued(known)}
    wanted = [int(f) for f in face_ids]
    missing = [f for f in wanted if f not in queued]
    if not wanted or missing:
        raise ValueError(f"faces: {listed(missing) or 'none given'}: not in the review queue of "
                         f"project {project!r} (peoplegraph review list)")
    stamp = now()
    decisions = [
        FaceDecision(f, confirmed_as=queued[f].suggested_as if accept else None,
                     removed_from=queued[f].removed_from | (frozenset() if accept else {queued[f].suggested_as}),
                     score=queued[f].score, references=queued[f].references, method="confirmed", actor=actor,
                     decided_at=stamp)
        for f in wanted
    ]
    placed = decide_and_place(runtime, project, lambda: _record(
        runtime, project, "accept" if accept else "reject", known, decisions), wanted)
    people = {queued[f].suggested_as for f in wanted}
    return LinkingResult("accept" if accept else "reject", project, wanted,
                         next(iter(people)) if len(people) == 1 else None, placed)


class Missing(ValueError):
    """No such person, cluster or face in the project: 404 over HTTP (NOT_FOUND in GraphQL)."""


class Conflict(ValueError):
    """What the project's state refuses as it is now (another's action on top of the undo stack): the
    request was well formed, and may succeed later. 409 over HTTP."""


@holding_project
def undo(runtime: Runtime, project: str, *, only_by: str | None = None) -> LinkingResult:
    """Undo the latest action (an editor's or an auto-matching run's): the faces get back the decisions they
    had before it, and a `missing` run puts faces it had taken out of clusters back into one. The faces whose
    decision on who they are (or are not) changes back are placed again by the machine under the decisions
    restored (nothing holds them where the action put them any more: a cluster confirmed as an existing
    person had joined that person's cluster), and so are, for a merge of people, the faces without a decision
    of their own in the clusters of the faces that are the merged person again (they followed those faces
    into the kept person's cluster). With `only_by`, only when that actor took the latest action (an editor
    undoes their own; undo is last first, so another's action on top must be undone by its author or an
    owner)."""
    existing_project(runtime, project)
    latest = runtime.graph.latest_action(project, replaced=True)
    if latest is None:
        raise ValueError(f"undo: nothing to undo in project {project!r}")
    if only_by is not None and latest.actor != only_by:
        raise Conflict(f"undo: the latest action of project {project!r} is {latest.action!r} by "
                       f"{latest.actor or 'auto-matching'!r} at {latest.decided_at}, not one of {only_by!r}'s: "
                       "its author or an owner may undo it")
    if latest.about_bodies:  # body decisions move no face: nothing to place again
        runtime.graph.undo_last_action(project)
        return LinkingResult(f"undo {latest.action}", project, [], None, None, bodies=list(latest.face_ids))
    where = _clusters_of(runtime, project, latest.face_ids)
    clusters = set(where.values()) - {UNCLUSTERED}
    now = runtime.graph.face_decisions(project, face_ids=list(where))
    release = {f for f in where if _placing(now.get(f)) != _placing(latest.replaced.get(f))}
    if latest.action == MERGE_PEOPLE:
        named_again = {where[f] for f in release if (d := latest.replaced.get(f)) is not None and d.confirmed_as
                       and d.confirmed_as != getattr(now.get(f), "confirmed_as", None)} - {UNCLUSTERED}
        if named_again:
            faces = runtime.vectors.project_faces(project)
            members = faces.face_ids[faces.members(sorted(named_again))].tolist()
            decided = runtime.graph.face_decisions(project, face_ids=members)
            release |= {f for f in members if f not in decided}
    placed = decide_and_place(runtime, project, lambda: runtime.graph.undo_last_action(project),
                              release | set(latest.face_ids), clusters, release=release)
    return LinkingResult(f"undo {latest.action}", project, list(latest.face_ids), None, placed)


def _placing(decision: FaceDecision | None) -> tuple | None:
    """What of a decision holds a face in a cluster or out of one (a review suggestion holds nothing)."""
    if decision is None:
        return None
    return decision.confirmed_as, decision.grouped_as, decision.removed_from, decision.ignored


@dataclass(frozen=True)
class HistoryEntry:
    """One action in a face's (or a person's) history: who took it, when, and what it left the face with."""

    seq: int | None  # the action's place in the undo log; None for a decision whose action is not in it
    action: str
    actor: str
    decided_at: str
    face_id: int | None  # None: an action on the person alone (an edit)
    decision: FaceDecision | None  # what the face was left with (None: no decision)

    def to_dict(self) -> dict:
        d = self.decision
        return {"seq": self.seq, "action": self.action, "actor": self.actor, "decided_at": self.decided_at,
                "face_id": None if self.face_id is None else str(self.face_id),
                "method": d.method if d else None, "person_id": (d.confirmed_as or d.suggested_as) if d else None,
                "removed_from": sorted(d.removed_from) if d else [], "ignored": bool(d and d.ignored),
                "score": None if d is None or d.score is None else round(d.score, 4),
                "source": d.source if d else ""}


def history(runtime: Runtime, project: str, *, face_ids: Sequence[int] = (), cluster_id: int | None = None,
            person_id: str | None = None) -> list[HistoryEntry]:
    """The decision history of faces, of a cluster's faces, or of a person (the faces decided as, or away
    from, them, and the edits of them), oldest first: each action that can still be undone, with what it
    left each face with (the decision the next action replaced, or the one in force)."""
    validate_project_name(project)
    wanted = {int(f) for f in face_ids}
    if wanted:
        known = runtime.vectors.project_faces(project).rows(sorted(wanted))
        if (known < 0).any():
            absent = sorted(wanted)[int(np.flatnonzero(known < 0)[0])]
            raise Missing(f"face: no face {absent} in project {project!r} (a face of a deleted photo is gone too)")
    if cluster_id is not None:
        wanted |= set(_faces_of_cluster(runtime, project, cluster_id))
    if person_id is not None:
        existing_person(runtime, project, person_id)
        wanted |= set(runtime.graph.face_decisions(project, identities=[person_id]))
    actions = runtime.graph.actions(project)
    if person_id is not None:
        wanted |= {f for a in actions if person_id in a.person_ids for f in a.face_ids}
    current = runtime.graph.face_decisions(project, face_ids=sorted(wanted)) if wanted else {}
    entries: list[HistoryEntry] = []
    later: dict[int, FaceDecision | None] = {}  # each face's decision after the action being read (newest first)
    for action in reversed(actions):
        touched = sorted(wanted.intersection(action.face_ids))
        entries += [HistoryEntry(action.seq, action.action, action.actor, action.decided_at, f,
                                 later.get(f, current.get(f))) for f in reversed(touched)]
        later.update({f: action.replaced.get(f) for f in touched})
        if person_id is not None and person_id in action.person_ids and not action.face_ids:
            entries.append(HistoryEntry(action.seq, action.action, action.actor, action.decided_at, None, None))
    seen = {e.face_id for e in entries}
    entries += [HistoryEntry(None, d.method, d.actor, d.decided_at, f, d)  # decided before the log kept it
                for f, d in current.items() if f not in seen]
    return sorted(entries, key=lambda e: (e.seq is not None, e.seq or 0, e.decided_at, e.face_id or 0))


MACHINE_METHODS = ("auto", "review")  # decisions auto-matching took, which a reset recomputes


@holding_project
def reset(runtime: Runtime, project: str, cluster_id: int | None = None, *, actor: str = "") -> LinkingResult:
    """Recompute the machine's decisions and keep every human one: auto-matching's tags and suggestions
    for the faces in scope (the cluster's, or the project's) are dropped (undoable), those faces are matched
    again against the people editors confirmed, then clustered again: the project whole (`reset` run), or
    the cluster's faces among the other clusters (`missing` run)."""
    validate_project_name(project)
    faces = [] if cluster_id is None else _faces_of_cluster(runtime, project, cluster_id)
    known = runtime.graph.face_decisions(project, **({} if cluster_id is None else {"face_ids": faces}))
    machine = [f for f, d in known.items() if d.method in MACHINE_METHODS]
    runtime.graph.set_face_decisions(project, [], action="reset", cleared=machine, actor=actor, decided_at=now())
    runtime.vectors.set_clusters(project, {f: UNCLUSTERED for f in faces or machine})
    match_new_faces(runtime, project, None if cluster_id is None else faces)
    if cluster_id is None:
        return LinkingResult("reset", project, faces, None, cluster_project(runtime, project, mode="reset"))
    return LinkingResult("reset", project, faces, None, place_faces(runtime, project, faces, [cluster_id],
                                                                    released={f: cluster_id for f in faces}))


def decisions_around(runtime: Runtime, project: str, face_ids: Sequence[int], *names: str | None) -> dict[int, FaceDecision]:
    """The decisions an action about these faces must see, and no more: theirs, every decision naming an
    individual theirs name (a person, a group, what a face is not) or one of `names`, and every decision
    naming the person such a group was confirmed as, or a group confirmed as such a person."""
    graph = runtime.graph
    known = graph.face_decisions(project, face_ids=list(face_ids))
    asked = {n for n in names if n} | _named(known.values())
    known.update(graph.face_decisions(project, identities=sorted(asked)))
    aliases = {n for d in known.values() if d.grouped_as and d.confirmed_as
               for n in (d.grouped_as, d.confirmed_as) if {d.grouped_as, d.confirmed_as} & asked} - asked
    if aliases:
        known.update(graph.face_decisions(project, identities=sorted(aliases)))
    return known


def _named(decisions: Iterable[FaceDecision]) -> set[str]:
    """Every individual the decisions name."""
    return {n for d in decisions for n in (d.confirmed_as, d.grouped_as, d.suggested_as, *d.removed_from) if n}


def settled(known: Mapping[int, FaceDecision], decisions: Sequence[FaceDecision] = (),
            renamed: Mapping[str, str] | None = None) -> list[FaceDecision]:
    """An action's decisions with what they imply for every other decision: the individuals it `renamed`
    (a group a merge absorbed, a person merged into another) are renamed wherever a decision names them,
    and no face stays removed from the individual it now is (the editor's latest word wins), so decisions
    never contradict each other. Returns every decision that differs from `known`, provenance kept."""
    renamed = renamed or {}

    def rename(identity: str | None) -> str | None:
        return renamed.get(identity, identity) if identity else identity

    latest = [replace(d, confirmed_as=rename(d.confirmed_as), grouped_as=rename(d.grouped_as),
                      suggested_as=rename(d.suggested_as), removed_from=frozenset(map(rename, d.removed_from)))
              for d in {**known, **{d.face_id: d for d in decisions}}.values()]
    named = named_groups(latest)
    written = {d.face_id: d for d in decisions}
    for d in latest:
        own = d.confirmed_as or (named.get(d.grouped_as, d.grouped_as) if d.grouped_as else None)
        d = replace(d, removed_from=frozenset(p for p in d.removed_from if own is None or named.get(p, p) != own))
        if d != known.get(d.face_id, d) or d.face_id in written:
            written[d.face_id] = d
    return list(written.values())


def _record(runtime: Runtime, project: str, action: str, known: Mapping[int, FaceDecision],
            decisions: Sequence[FaceDecision], *, renamed: Mapping[str, str] | None = None, **extra) -> None:
    """Write an action's decisions, `settled` against the others, as one undoable action."""
    runtime.graph.set_face_decisions(project, settled(known, decisions, renamed), action=action, **extra)


def _faces_of_cluster(runtime: Runtime, project: str, cluster_id: int) -> list[int]:
    """The face ids of a cluster, in order."""
    cluster_id = checked_id(cluster_id, "cluster", "cluster")
    faces = runtime.vectors.project_faces(project)
    found = sorted(faces.face_ids[faces.members([int(cluster_id)])].tolist())
    if int(cluster_id) < 0 or not found:
        raise missing_cluster(runtime, project, int(cluster_id))
    return found


class ClusterGone(Conflict):
    """An id a client holds from an earlier list names a cluster an action or a run has since removed."""


def missing_cluster(runtime: Runtime, project: str, cluster_id: int) -> ValueError:
    """The error for an id that names no cluster: ClusterGone naming the clusters its faces are in now when
    a run removed it, else a plain "no cluster"."""
    sample = runtime.graph.gone_cluster_faces(project, cluster_id) if 0 <= cluster_id < ID_LIMIT else None
    if sample is None:
        return Missing(f"cluster: no cluster {cluster_id} in project {project!r}")
    faces = runtime.vectors.project_faces(project)
    rows = faces.rows(sample)
    now = set(faces.cluster_ids[rows[rows >= 0]].tolist()) - {UNCLUSTERED}
    where = (f"its faces are now in cluster{'s' if len(now) > 1 else ''} {', '.join(map(str, sorted(now)))}"
             if now else "its faces are in no cluster now")
    return ClusterGone(f"cluster {cluster_id} of project {project!r} is gone (an action or a clustering run "
                       f"moved its faces): {where}; list the clusters again")


def _clusters_of(runtime: Runtime, project: str, face_ids: Sequence[int]) -> dict[int, int]:
    """The cluster of each face id the project has (-1: none)."""
    faces = runtime.vectors.project_faces(project)
    rows = faces.rows(list(face_ids))
    return {int(f): int(faces.cluster_ids[r]) for f, r in zip(face_ids, rows.tolist()) if r >= 0}


def _identity(known: Mapping[int, FaceDecision], members: list[int], leaving: set[int],
              taken: set[str | None] | None = None) -> tuple[str | None, str | None, list[int]]:
    """Who a cluster is, for faces about to leave it: its person, or else the unnamed group its other faces
    form (the one most of them already have, or a new one, not among `taken`); and those other faces."""
    kept = [f for f in members if f not in leaving]
    person = _person_of(known, members)
    if person:
        return person, None, kept
    groups = Counter(known[f].grouped_as for f in kept if f in known and known[f].grouped_as)
    return None, groups.most_common(1)[0][0] if groups else _new_group(known, taken or set()), kept


def _person_of(known: Mapping[int, FaceDecision], members: list[int]) -> str | None:
    """The person a cluster's faces are confirmed as (themselves, or through a group named as them): the
    person every clustering run links the cluster to."""
    named = named_groups(known.values())
    people = Counter(known[f].confirmed_as or named.get(known[f].grouped_as or "") for f in members if f in known)
    people.pop(None, None)
    return people.most_common(1)[0][0] if people else None


def _new_group(known: dict[int, FaceDecision], taken: set[str | None] = frozenset()) -> str:  # type: ignore[assignment]
    """A group number no decision names, as a member or as what a face is not."""
    named = {d.grouped_as for d in known.values()} | {p for d in known.values() for p in d.removed_from} | set(taken)
    numbers = [int(g[len(GROUP_PREFIX):]) for g in named
               if g and g.startswith(GROUP_PREFIX) and g[len(GROUP_PREFIX):].isdigit()]
    return f"{GROUP_PREFIX}{max(numbers, default=0) + 1}"


_KEEP = object()


def _decided(known: dict[int, FaceDecision], face: int, *, confirmed_as=_KEEP, grouped_as=_KEEP,
             removed_from=_KEEP, actor: str, decided_at: str) -> FaceDecision:
    """A human decision about a face: what is named changes, the rest of its earlier decision stays (an
    ignored face stays ignored unless it is confirmed or grouped)."""
    previous = known.get(face) or FaceDecision(face)
    confirmed = previous.confirmed_as if confirmed_as is _KEEP else confirmed_as
    grouped = previous.grouped_as if grouped_as is _KEEP else grouped_as
    return FaceDecision(
        face, confirmed_as=confirmed, grouped_as=grouped,
        removed_from=previous.removed_from if removed_from is _KEEP else removed_from,
        ignored=previous.ignored and not (confirmed or grouped),
        method="confirmed", actor=actor, decided_at=decided_at)


def _removed(known: dict[int, FaceDecision], face_id: int) -> frozenset[str]:
    previous = known.get(face_id)
    return previous.removed_from if previous else frozenset()


def existing_project(runtime: Runtime, project: str) -> str:
    """The project's name, checked; Missing naming how a project is made otherwise."""
    if validate_project_name(project) not in runtime.graph.projects():
        raise Missing(f"project: no project {project!r} (peoplegraph ingest PHOTOS --project {project})")
    return project


def existing_person(runtime: Runtime, project: str, person_id: str) -> PersonRecord:
    person = runtime.graph.person(project, person_id)
    if person is None:
        raise Missing(f"person: no person {person_id!r} in project {project!r} (peoplegraph people list)")
    return person


NAME_MAX_CHARS = 200
PERSON_ID_MAX_CHARS = 64


def person_id_of(name: str) -> str:
    """A readable id for a new person: the name in lower case, accents dropped (Zoë Ñandú: zoe-nandu), letters
    and digits of every script kept (李小龍 stays), anything else a hyphen; cut to PERSON_ID_MAX_CHARS."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name.strip().casefold()) if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "-", plain).strip("-")[:PERSON_ID_MAX_CHARS].strip("-") or "person"


def _new_person_id(runtime: Runtime, project: str, name: str | None) -> str:
    if name is None or not name.strip():
        raise ValueError("name: must not be empty")
    if len(name.strip()) > NAME_MAX_CHARS:
        raise ValueError(f"name: at most {NAME_MAX_CHARS} characters, got {len(name.strip())}")
    return free_person_id(runtime, project, name)


def free_person_id(runtime: Runtime, project: str, name: str, taken: Collection[str] = ()) -> str:
    """The id a new person of this name gets: person_id_of(name), or with -2, -3... when the project (or
    `taken`: ids a batch is about to create) has it already."""
    base = person_id_of(name)
    candidate, number = base, 2
    while candidate in taken or runtime.graph.has_person(project, candidate):
        candidate, number = f"{base}-{number}", number + 1
    return candidate



@dataclass(frozen=True)
class NamedFace:
    """A face someone named outside the editor (a person's folder, a photo's XMP): `shown` names where, for
    reports; `source` is kept with an imported decision."""

    face_id: int
    name: str
    shown: str
    source: str = ""


@dataclass
class NamedFaces:
    person_ids: dict[str, str] = field(default_factory=dict)  # each name (case folded) -> its person id
    created: list[str] = field(default_factory=list)  # the person ids made now
    outcome: list[str] = field(default_factory=list)  # for each face named: "new", "already" or why it was left


@holding_project
def name_faces(runtime: Runtime, project: str, named: Sequence[NamedFace], *, action: str, method: str = "confirmed",
               actor: str = "") -> NamedFaces:
    """Confirm each face as the person of its name (an existing person by name or alias, any case; else a new
    one), as one undoable `action`. A face a human decided otherwise (confirmed as someone else, or removed
    from that person) is left as it is, with the reason in `outcome`; one already confirmed as that person
    is "already" (`outcome`, in the order named). The faces are then placed (their clusters follow the decisions)."""
    validate_project_name(project)
    result = NamedFaces()
    if not named:
        return result
    by_name: dict[str, str] = {}
    for person in runtime.graph.people(project):
        for name in (person.name, *person.aliases):
            by_name.setdefault(name.casefold(), person.person_id)
    new_people: list[PersonRecord] = []
    new_ids: set[str] = set()
    for face in named:
        name = _clean_name(face.name)
        if name and name.casefold() not in result.person_ids:
            person_id = by_name.get(name.casefold())
            if person_id is None:
                person_id = free_person_id(runtime, project, name, new_ids)
                new_ids.add(person_id)
                new_people.append(PersonRecord(project, person_id, name))
            result.person_ids[name.casefold()] = person_id
    known = decisions_around(runtime, project, [f.face_id for f in named])
    decisions: dict[int, FaceDecision] = {}
    stamp = now()
    for face in named:
        person_id = result.person_ids.get(_clean_name(face.name).casefold())
        previous = decisions.get(face.face_id) or known.get(face.face_id)
        if person_id is None:
            result.outcome.append(f"{face.shown}: an empty name")
        elif previous is not None and previous.method in HUMAN_METHODS and previous.confirmed_as \
                and previous.confirmed_as != person_id:
            result.outcome.append(f"{face.shown}: the face is confirmed as {previous.confirmed_as!r}")
        elif previous is not None and person_id in previous.removed_from:
            result.outcome.append(f"{face.shown}: an editor removed the face from {person_id!r}")
        elif previous is not None and previous.method in HUMAN_METHODS and previous.confirmed_as == person_id:
            result.outcome.append("already")
        else:
            before = previous or FaceDecision(face.face_id)
            decisions[face.face_id] = FaceDecision(
                face.face_id, confirmed_as=person_id, grouped_as=before.grouped_as, removed_from=before.removed_from,
                method=method, actor=actor, decided_at=stamp, source=face.source)
            result.outcome.append("new")
    used = {d.confirmed_as for d in decisions.values()}
    new_people = [p for p in new_people if p.person_id in used]
    result.created = [p.person_id for p in new_people]
    if not decisions:
        return result
    everything = {**known, **decisions_around(runtime, project, sorted(decisions), *used)}

    def decide() -> None:
        runtime.graph.set_face_decisions(project, settled(everything, list(decisions.values())), action=action,
                                         people=new_people, actor=actor, decided_at=stamp)

    decide_and_place(runtime, project, decide, sorted(decisions))
    return result


def _clean_name(name: str) -> str:
    """A person's name as it is kept: stripped, at most NAME_MAX_CHARS."""
    return name.strip()[:NAME_MAX_CHARS].strip()
