"""Body matching: people whose face is hidden (a back turned, a helmet, an arm) found by their body.

A body whose face is a person's (the face's cluster is named, or a decision confirms it) carries that person:
it is one of the person's reference bodies. A body without a usable face (none found in its box, or a face
no one is named for) is compared with the reference bodies of the photos *in the same window* only: the
same event, or EXIF times at most `body_time_window_h` apart, since clothes change between days. Its score
for a person is its best cosine similarity to that person's reference bodies there; from
`body_auto_threshold`, and ahead of the next person by `body_margin`, it is tagged; from
`body_review_threshold` it waits in the body review queue; below, nothing is decided.

Body decisions are face decisions about body ids (method `body`, the body score, the reference bodies and
the score of the body's own face if it has one), recorded as one undoable action like any other. They never
contradict a human face decision: a person the body's face was removed from, or a person already in the
photo by face or by another body, is never proposed; and a body whose face is named later carries that name,
its body decision set aside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np

from peoplegraph.identity.records import FaceDecision, now
from peoplegraph.linking.service import Missing, decisions_around, existing_person
from peoplegraph.observations.face_index import ProjectFaces
from peoplegraph.observations.model import NO_FACE, BodyObservation, validate_project_name
from peoplegraph.services.project_lock import holding_project
from peoplegraph.services.runtime import Runtime

BODY_METHOD = "body"
MATCHER = "peoplegraph"  # the actor of the decisions body matching takes on its own
REFERENCES_KEPT = 3  # reference bodies recorded with a decision, most similar first
CHUNK = 512  # candidate bodies compared at once (a chunk x references similarity matrix)


@dataclass(frozen=True)
class BodyMatchReport:
    references: int  # bodies that carry a person through their face
    candidates: int  # bodies without a usable face and without a decision
    tagged: int
    queued: int
    without_window: int  # candidates whose photo has neither an event nor an EXIF time: never matched
    auto_threshold: float
    review_threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BodyReview:
    action: str  # accept bodies | reject bodies
    project: str
    bodies: list[int]
    person_id: str | None  # the one person they were suggested as, None when several

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BodyAppearance:
    """A person found in a photo by body: tagged (`status` tagged), or waiting for an editor (queued)."""

    body_id: int
    person_id: str
    photo_id: str
    box: tuple[float, float, float, float]
    status: str  # tagged | queued
    score: float | None  # the body score: best cosine to the person's reference bodies in the window
    references: tuple[int, ...]  # those reference bodies, most similar first
    face_id: int  # the face inside the body's box, NO_FACE when none
    face_score: float | None  # that face's best cosine to the person's faces, None without a face
    actor: str  # MATCHER, or the editor who accepted it
    decided_at: str

    def to_dict(self) -> dict:
        out = asdict(self)
        out["box"] = list(self.box)
        out["references"] = list(self.references)
        return out


@dataclass
class _Library:
    """What body matching reads of a project, once: the bodies of the photos it looks at and of their windows."""

    bodies: list[BodyObservation]
    candidates_from: set[str] | None  # the photos whose bodies may be matched (None: every photo)
    face_person: dict[int, str]  # face id -> the person it is (its cluster's name, or a decision's)
    face_removed: dict[int, frozenset[str]]  # face id -> people a decision says it is not
    ignored_faces: set[int]
    photo_people: dict[str, set[str]]  # photo id -> people in it by face
    decisions: dict[int, FaceDecision]  # about bodies (method body)
    event_of: dict[str, str]  # photo id -> its event
    hours_of: dict[str, float]  # photo id -> EXIF time in hours (photos without one left out)
    faces: ProjectFaces  # the face index, for face scores
    person_faces: dict[str, np.ndarray]  # person -> rows of their faces in `faces`


def _hours(taken_at: str) -> float | None:
    try:
        when = datetime.fromisoformat(taken_at)
    except ValueError:
        return None
    return when.replace(tzinfo=None).timestamp() / 3600  # EXIF times are the camera's local time


def _window_photos(graph, project: str, photo_ids: set[str], window: float) -> set[str]:
    """These photos, the photos of their events, and those taken at most `window` hours from one of them."""
    around = set(photo_ids) | {p.photo_id for e in set(graph.events_of_photos(project, sorted(photo_ids)).values())
                               for p in graph.event_photos(project, e)}
    if window > 0:
        for taken in {p.taken_at for p in graph.photos_by_id(project, sorted(photo_ids)) if p.taken_at}:
            try:
                when = datetime.fromisoformat(taken)
            except ValueError:
                continue
            span = timedelta(hours=window)
            around |= {p.photo_id for p in graph.photos_taken_between(
                project, (when - span).isoformat(), (when + span).isoformat())}
    return around


def _read(runtime: Runtime, project: str, photo_ids: Sequence[str] | None) -> _Library:
    graph = runtime.graph
    wanted = None if photo_ids is None else set(photo_ids)
    if wanted is None:
        bodies = runtime.bodies.bodies(project, with_embeddings=True)
    else:
        around = _window_photos(graph, project, wanted, runtime.settings.body_time_window_h)
        bodies = runtime.bodies.bodies(project, with_embeddings=True, photo_ids=sorted(around))
    photos = sorted({b.photo_id for b in bodies})
    faces = runtime.vectors.project_faces(project)
    rows = np.flatnonzero(np.isin(faces.photo_ids, np.array([p.encode() for p in photos], "S64")))
    face_ids = faces.face_ids[rows].tolist()
    cluster_person = {c: p.person_id for p in graph.people(project) for c in p.cluster_ids}
    face_person = {f: cluster_person[c] for f, c in zip(face_ids, faces.cluster_ids[rows].tolist()) if c in cluster_person}
    face_removed, ignored, decisions = {}, set(), {}
    for face_id, d in graph.face_decisions(project, face_ids=face_ids + [b.body_id for b in bodies]).items():
        if d.method == BODY_METHOD:
            decisions[face_id] = d
            continue
        if d.confirmed_as:
            face_person[face_id] = d.confirmed_as
        if d.removed_from:
            face_removed[face_id] = d.removed_from
        if d.ignored:
            ignored.add(face_id)
    photo_people: dict[str, set[str]] = {}
    for face_id, photo in zip(face_ids, faces.photo_ids[rows].tolist()):
        if face_id in face_person:
            photo_people.setdefault(photo.decode(), set()).add(face_person[face_id])
    person_faces: dict[str, list[int]] = {}
    for face_id, row in zip(face_ids, rows.tolist()):
        if face_id in face_person:
            person_faces.setdefault(face_person[face_id], []).append(row)
    event_of = graph.events_of_photos(project, photos)
    hours_of = {p.photo_id: h for p in graph.photos_by_id(project, photos)
                if p.taken_at and (h := _hours(p.taken_at)) is not None}
    return _Library(bodies, wanted, face_person, face_removed, ignored, photo_people, decisions, event_of, hours_of,
                    faces, {p: np.array(r) for p, r in person_faces.items()})


def _carried(library: _Library, body: BodyObservation) -> str | None:
    """The person the body's face is, if any."""
    return library.face_person.get(body.face_id) if body.face_id != NO_FACE else None


@holding_project
def match_bodies(runtime: Runtime, project: str, photo_ids: Sequence[str] | None = None) -> BodyMatchReport:
    """Tag (or queue) the bodies without a usable face by the reference bodies of their window (module doc):
    those of every photo, or of `photo_ids` only (what an ingest brought: the photos of their windows are
    read, not the project)."""
    validate_project_name(project)
    settings = runtime.settings
    auto, review, margin = settings.body_auto_threshold, settings.body_review_threshold, settings.body_margin
    window = settings.body_time_window_h
    library = _read(runtime, project, photo_ids)
    references = [b for b in library.bodies if _carried(library, b)]
    # a machine's body decision whose body's face has been named since: the face speaks for the body now
    stale = [b.body_id for b in library.bodies if _carried(library, b) and b.body_id in library.decisions
             and library.decisions[b.body_id].actor == MATCHER]
    candidates = [b for b in library.bodies if not _carried(library, b) and b.body_id not in library.decisions
                  and b.face_id not in library.ignored_faces
                  and (library.candidates_from is None or b.photo_id in library.candidates_from)]
    timeless = [b for b in candidates if b.photo_id not in library.event_of and b.photo_id not in library.hours_of]
    candidates = [b for b in candidates if b.photo_id in library.event_of or b.photo_id in library.hours_of]
    decisions: list[FaceDecision] = []
    if references and candidates:
        decisions = _decide(library, candidates, references, auto, review, margin, window)
    if decisions or stale:
        runtime.graph.set_face_decisions(project, decisions, action="body-match", cleared=stale)
    tagged = sum(d.confirmed_as is not None for d in decisions)
    return BodyMatchReport(len(references), len(candidates) + len(timeless), tagged, len(decisions) - tagged,
                           len(timeless), auto, review)


def _decide(library: _Library, candidates: list[BodyObservation], references: list[BodyObservation], auto: float,
            review: float, margin: float, window: float) -> list[FaceDecision]:
    people = sorted({_carried(library, b) for b in references})  # type: ignore[type-var]
    column = {p: i for i, p in enumerate(people)}
    ref_person = np.array([column[_carried(library, b)] for b in references])  # type: ignore[index]
    ref_vectors = np.stack([b.embedding for b in references]).astype(np.float32)  # type: ignore[misc]
    events = {e: i for i, e in enumerate(sorted(set(library.event_of.values())))}
    ref_event = np.array([events.get(library.event_of.get(b.photo_id, ""), -1) for b in references])
    ref_hours = np.array([library.hours_of.get(b.photo_id, math.nan) for b in references])
    taken = {p: set(found) for p, found in library.photo_people.items()}  # photo -> people in it, growing
    photo_of = {b.body_id: b.photo_id for b in library.bodies}
    for body_id, d in library.decisions.items():
        if d.confirmed_as and body_id in photo_of:
            taken.setdefault(photo_of[body_id], set()).add(d.confirmed_as)
    proposals = []  # (score, second best, candidate index, person column, reference rows)
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start:start + CHUNK]
        similarity = np.stack([b.embedding for b in chunk]).astype(np.float32) @ ref_vectors.T  # type: ignore[misc]
        mine = np.array([events.get(library.event_of.get(b.photo_id, ""), -1) for b in chunk])
        event = (mine[:, None] == ref_event[None, :]) & (mine[:, None] >= 0)
        hours = np.array([library.hours_of.get(b.photo_id, math.nan) for b in chunk])
        close = np.abs(hours[:, None] - ref_hours[None, :]) <= window if window > 0 else np.zeros_like(event)
        similarity = np.where(event | close, similarity, -np.inf)
        for i, body in enumerate(chunk):
            barred = library.face_removed.get(body.face_id, frozenset()) | library.photo_people.get(body.photo_id, set())
            best = np.full(len(people), -np.inf)
            np.maximum.at(best, ref_person, similarity[i])
            for person in barred:
                if person in column:
                    best[column[person]] = -np.inf
            order = np.argsort(-best)
            top = float(best[order[0]])
            if top < review:
                continue
            second = float(best[order[1]]) if len(order) > 1 else -np.inf
            rows = np.flatnonzero((ref_person == order[0]) & np.isfinite(similarity[i]))
            rows = rows[np.argsort(-similarity[i][rows])][:REFERENCES_KEPT]
            proposals.append((top, second, start + i, int(order[0]), rows))
    stamp, out = now(), []
    for top, second, index, person_column, rows in sorted(proposals, key=lambda p: -p[0]):
        body, person = candidates[index], people[person_column]
        if person in taken.get(body.photo_id, set()):
            continue  # one person once a photo: a better-scoring body there is them
        taken.setdefault(body.photo_id, set()).add(person)
        sure = top >= auto and top - second >= margin
        out.append(FaceDecision(
            body.body_id, confirmed_as=person if sure else None, suggested_as=None if sure else person,
            references=tuple(references[r].body_id for r in rows.tolist()), method=BODY_METHOD, actor=MATCHER,
            score=top, face_score=_face_score(library, body, person), decided_at=stamp))
    return out


def _face_score(library: _Library, body: BodyObservation, person: str) -> float | None:
    """The best cosine of the body's own face to the person's faces in the window; None when it has no face."""
    faces, theirs = library.faces, library.person_faces.get(person)
    if body.face_id == NO_FACE or theirs is None:
        return None
    row = int(faces.rows([body.face_id])[0])
    if row < 0:
        return None
    return float(np.max(faces.embeddings[theirs] @ faces.embeddings[row]))


def body_appearances(runtime: Runtime, project: str, person_id: str | None = None, *,
                     status: str = "tagged") -> list[BodyAppearance]:
    """The people found by body (`status` tagged), or the bodies waiting in the body review queue (queued),
    of one person or of everyone, best score first. A body whose face is named since is left out: its face
    speaks for it."""
    validate_project_name(project)
    if status not in ("tagged", "queued"):
        raise ValueError(f"status: {status!r} is not tagged or queued")
    if person_id is not None:
        existing_person(runtime, project, person_id)
        every = runtime.graph.face_decisions(project, identities=[person_id])
    else:
        every = runtime.graph.face_decisions(project)
    wanted = {f: d for f, d in every.items() if d.method == BODY_METHOD
              and ((d.confirmed_as if status == "tagged" else d.suggested_as) or None) is not None
              and (person_id is None or (d.confirmed_as or d.suggested_as) == person_id)}
    bodies = {b.body_id: b for b in runtime.bodies.bodies_by_id(project, sorted(wanted))}
    named = _named_faces(runtime, project, [b.face_id for b in bodies.values() if b.face_id != NO_FACE])
    found = []
    for body_id, d in wanted.items():
        body = bodies.get(body_id)
        if body is None or body.face_id in named:
            continue
        found.append(BodyAppearance(body_id, d.confirmed_as or d.suggested_as or "", body.photo_id, body.box, status,
                                    d.score, d.references, body.face_id, d.face_score, d.actor, d.decided_at))
    return sorted(found, key=lambda a: (-(a.score or 0.0), a.body_id))


def _named_faces(runtime: Runtime, project: str, face_ids: Sequence[int]) -> set[int]:
    """The faces among these that are someone (a named cluster, or a decision confirming them)."""
    if not face_ids:
        return set()
    named_clusters = {c for p in runtime.graph.people(project) for c in p.cluster_ids}
    faces = runtime.vectors.faces_by_id(project, list(face_ids))
    decided = runtime.graph.face_decisions(project, face_ids=list(face_ids))
    return {f.face_id for f in faces if f.cluster_id in named_clusters} | \
        {f for f, d in decided.items() if d.confirmed_as}


@holding_project
def review_bodies(runtime: Runtime, project: str, body_ids: Sequence[int], *, accept: bool,
                  actor: str = "") -> BodyReview:
    """Accept (the body is the suggested person) or reject (it is not) bodies waiting in the body review
    queue, as one undoable action."""
    validate_project_name(project)
    wanted = [int(b) for b in body_ids]
    known = decisions_around(runtime, project, wanted)
    queued = {f: d for f, d in known.items() if f in wanted and d.method == BODY_METHOD and d.suggested_as}
    missing = [b for b in wanted if b not in queued]
    if not wanted or missing:
        raise Missing(f"bodies: {', '.join(map(str, missing)) or 'none given'}: not in the body review queue of "
                      f"project {project!r} (peoplegraph reid queue)")
    stamp = now()
    decisions = [FaceDecision(
        b, confirmed_as=queued[b].suggested_as if accept else None,
        removed_from=queued[b].removed_from | (frozenset() if accept else {queued[b].suggested_as}),  # type: ignore[arg-type]
        score=queued[b].score, references=queued[b].references, method=BODY_METHOD, actor=actor,
        face_score=queued[b].face_score, decided_at=stamp) for b in wanted]
    action = "accept bodies" if accept else "reject bodies"
    runtime.graph.set_face_decisions(project, decisions, action=action, actor=actor, decided_at=stamp)
    people = {queued[b].suggested_as for b in wanted}
    return BodyReview(action, project, wanted, next(iter(people)) if len(people) == 1 else None)

