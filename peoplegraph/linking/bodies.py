"""Body matching: people whose face is hidden (a back turned, a helmet, an arm) found by their body.

A body whose face is a person's (the face's cluster is named, or a decision confirms it), or that an editor
accepted as a person, carries that person: it is one of the person's reference bodies. A body without a
usable face (none found in its box, or one flagged as poor - blurry, small, in profile, occluded, dark - that
no one is named for) is compared with the reference bodies of the photos *in the same window* only: the same
event, or EXIF times at most `body_time_window_h` apart, since clothes change between days. A body whose face
is sharp and unnamed is left to the face: face matching found no one for it, and a body must not overrule
that. Only the pairs of one window are scored (`_windows`), so a run over a library of many events grows with
the library, not with its square. Its score for a person is its best cosine similarity to that person's
reference bodies there, each taken whole or below its face, whichever is closer (`body_similarity`: a body
whose head is hidden, blurred or cut away is closer to the reference's body under the face than to the whole
with a face in it); from `body_auto_threshold`, and ahead of the next person by `body_margin`, it is tagged;
from `body_review_threshold` it waits in the body review queue; below, nothing is decided.

Body decisions are face decisions about body ids (method `body`, the body score, the reference bodies and
the score of the body's own face if it has one), recorded as one undoable action like any other. They never
contradict a face decision: a person the body's face was removed from, or a person already in the photo by
face or by a better-scoring body, is never proposed, and a body whose face an editor ignored is left alone.
Each run looks again at what it decided before: a queued body is scored again, and a machine's tag or
suggestion that a face decision now contradicts (the face named, ignored or removed from that person, the
person found in the photo by face) is cleared. An editor's answer stays: accepted bodies are references, and a
rejected body is matched again to anyone but the people it was rejected as.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np

from peoplegraph.identity.records import ACCEPT_BODIES, BODY_MATCH, REJECT_BODIES, FaceDecision, now
from peoplegraph.linking.service import existing_person, existing_project
from peoplegraph.observations.face_index import ProjectFaces
from peoplegraph.observations.model import NO_FACE, BodyObservation, listed
from peoplegraph.reid.packs import body_pack
from peoplegraph.services.project_lock import holding_project
from peoplegraph.services.runtime import Runtime

BODY_METHOD = "body"
MATCHER = "peoplegraph"  # the actor of the decisions body matching takes on its own
REFERENCES_KEPT = 3  # reference bodies recorded with a decision, most similar first
CHUNK = 512  # candidate bodies compared at once (a chunk x references similarity matrix)


@dataclass(frozen=True)
class BodyMatchReport:
    references: int  # bodies that carry a person: by their face, or accepted by an editor
    candidates: int  # bodies without a usable face that were scored (queued ones again)
    tagged: int
    queued: int  # waiting in the review queue after this run (of those scored)
    cleared: int  # earlier machine decisions a face decision now contradicts, taken back
    without_window: int  # candidates whose photo has neither an event nor an EXIF time: never matched
    auto_threshold: float
    review_threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BodyReview:
    action: str  # accept bodies | reject bodies
    project: str
    bodies: list[int]  # those whose decision changed (not those an editor had accepted already)
    person_id: str | None  # the one person they were tagged or suggested as, None when several

    def to_dict(self) -> dict:
        """As JSON: ids as strings (63-bit: a browser's or jq's numbers would round them)."""
        return {**asdict(self), "bodies": [str(b) for b in self.bodies]}


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
        """As JSON: ids as strings (63-bit), the face's None when there is none."""
        return {**asdict(self), "body_id": str(self.body_id), "box": list(self.box),
                "references": [str(r) for r in self.references],
                "face_id": None if self.face_id == NO_FACE else str(self.face_id)}


@dataclass
class _Library:
    """What body matching reads of a project, once: the bodies of the photos it looks at and of their windows."""

    bodies: list[BodyObservation]
    candidates_from: set[str] | None  # the photos whose bodies may be matched (None: every photo)
    face_person: dict[int, str]  # face id -> the person it is (its cluster's name, or a decision's)
    face_removed: dict[int, frozenset[str]]  # face id -> people a decision says it is not
    ignored_faces: set[int]
    usable_faces: set[int]  # unnamed faces of these bodies with no quality flag: the face speaks for them
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
    unnamed = sorted({b.face_id for b in bodies if b.face_id != NO_FACE and b.face_id not in face_person})
    usable = {f.face_id for f in runtime.vectors.faces_by_id(project, unnamed) if not f.quality_flags}
    return _Library(bodies, wanted, face_person, face_removed, ignored, usable, photo_people, decisions, event_of,
                    hours_of, faces, {p: np.array(r) for p, r in person_faces.items()})


def _carried(library: _Library, body: BodyObservation) -> str | None:
    """The person the body is for sure: its face's, else the one an editor accepted it as."""
    person = library.face_person.get(body.face_id) if body.face_id != NO_FACE else None
    decided = library.decisions.get(body.body_id)
    if person is None and decided is not None and decided.confirmed_as and decided.actor != MATCHER:
        return decided.confirmed_as
    return person


def _contradicted(library: _Library, body: BodyObservation, person: str) -> bool:
    """Whether a face decision now says the body is not `person` (or leaves the body to its face)."""
    return (body.face_id in library.face_person or body.face_id in library.ignored_faces
            or body.face_id in library.usable_faces or person in library.face_removed.get(body.face_id, ())
            or person in library.photo_people.get(body.photo_id, ()))


def _open(library: _Library, body: BodyObservation, stale: set[int]) -> bool:
    """Whether the body is matched in this run: never decided, queued by the machine (scored again), or
    rejected by an editor (anyone but them); not a tag, which stays until undone, rejected or contradicted."""
    decided = library.decisions.get(body.body_id)
    if decided is None:
        return True
    return not decided.confirmed_as and body.body_id not in stale


@holding_project
def match_bodies(runtime: Runtime, project: str, photo_ids: Sequence[str] | None = None) -> BodyMatchReport:
    """Tag (or queue) the bodies without a usable face by the reference bodies of their window (module doc):
    those of every photo, or of `photo_ids` only (what an ingest brought: the photos of their windows are
    read, not the project)."""
    existing_project(runtime, project)
    settings = runtime.settings
    auto, review, margin = settings.body_auto_threshold, settings.body_review_threshold, settings.body_margin
    window = settings.body_time_window_h
    library = _read(runtime, project, photo_ids)
    references = [b for b in library.bodies if _carried(library, b)]
    machine = {b.body_id: b for b in library.bodies if b.body_id in library.decisions
               and library.decisions[b.body_id].actor == MATCHER}
    stale = [i for i, b in machine.items()
             if _contradicted(library, b, library.decisions[i].confirmed_as or library.decisions[i].suggested_as or "")]
    scored = [b for b in library.bodies if not _carried(library, b) and _open(library, b, set(stale))
              and (library.candidates_from is None or b.photo_id in library.candidates_from)
              and b.face_id not in library.ignored_faces and b.face_id not in library.usable_faces]
    timeless = [b for b in scored if b.photo_id not in library.event_of and b.photo_id not in library.hours_of]
    scored = [b for b in scored if b.photo_id in library.event_of or b.photo_id in library.hours_of]
    found = _decide(library, scored, references, auto, review, margin, window) if references and scored else []
    outcome = {d.face_id: d for d in found}
    # a queued body scored again: written only when its outcome changed, taken back when it fell below review
    earlier = {b.body_id: library.decisions[b.body_id] for b in scored if b.body_id in machine}
    changed = [d for d in found if d.face_id not in earlier or (earlier[d.face_id].suggested_as, earlier[d.face_id].
               confirmed_as, round(earlier[d.face_id].score or 0, 4)) != (d.suggested_as, d.confirmed_as, round(d.score or 0, 4))]
    cleared = stale + [i for i in earlier if i not in outcome]
    if changed or cleared:
        runtime.graph.set_face_decisions(project, changed, action=BODY_MATCH, cleared=cleared)
    tagged = sum(d.confirmed_as is not None for d in found)
    return BodyMatchReport(len(references), len(scored) + len(timeless), tagged, len(found) - tagged, len(cleared),
                           len(timeless), auto, review)


def _decide(library: _Library, candidates: list[BodyObservation], references: list[BodyObservation], auto: float,
            review: float, margin: float, window: float) -> list[FaceDecision]:
    people = sorted({_carried(library, b) for b in references})  # type: ignore[type-var]
    taken = {p: set(found) for p, found in library.photo_people.items()}  # photo -> people in it, growing
    photo_of = {b.body_id: b.photo_id for b in library.bodies}
    for body_id, d in library.decisions.items():
        if d.confirmed_as and body_id in photo_of:
            taken.setdefault(photo_of[body_id], set()).add(d.confirmed_as)
    for body in references:  # a person a body carries is in that photo
        taken.setdefault(body.photo_id, set()).add(_carried(library, body))  # type: ignore[arg-type]
    stamp, out = now(), []
    proposals = _proposals(library, candidates, references, people, review, window)
    for top_score, second, index, person_column, kept in sorted(proposals, key=lambda p: -p[0]):
        body, person = candidates[index], people[person_column]
        if person in taken.get(body.photo_id, set()):
            continue  # one person once a photo: a better-scoring body there is them
        taken.setdefault(body.photo_id, set()).add(person)
        sure = sure_enough(top_score, second, auto, margin)
        out.append(FaceDecision(
            body.body_id, confirmed_as=person if sure else None, suggested_as=None if sure else person,
            removed_from=_rejected(library, body),
            references=tuple(references[r].body_id for r in kept.tolist()), method=BODY_METHOD, actor=MATCHER,
            score=top_score, face_score=_face_score(library, body, person), decided_at=stamp))
    return out


def _proposals(library: _Library, candidates: list[BodyObservation], references: list[BodyObservation],
               people: list[str], review: float, window: float) -> list[tuple[float, float, int, int, np.ndarray]]:
    """Each candidate's best person from `review` up, among the references of its window and the people it is
    not barred from: (score, the next person's score, candidate index, person's index in `people`, the
    reference rows most like it)."""
    column = {p: i for i, p in enumerate(people)}
    ref_person = np.array([column[_carried(library, b)] for b in references])  # type: ignore[index]
    ref_vectors = np.stack([b.embedding for b in references]).astype(np.float32)  # type: ignore[misc]
    ref_below = np.stack([b.embedding if b.below_face is None else b.below_face  # type: ignore[misc]
                          for b in references]).astype(np.float32)
    proposals = []
    for chunk, rows, eligible in _windows(library, candidates, references, window):
        bodies = np.stack([candidates[i].embedding for i in chunk.tolist()]).astype(np.float32)  # type: ignore[misc]
        similarity = np.where(eligible, body_similarity(bodies, ref_vectors[rows], ref_below[rows]), -np.inf)
        # each person's best reference: the rows grouped by person, the maximum of each group at once
        persons = ref_person[rows]
        order = np.argsort(persons, kind="stable")
        starts = np.flatnonzero(np.r_[True, persons[order][1:] != persons[order][:-1]])
        present = persons[order][starts]  # person columns, in the order of `best`'s columns
        best = np.maximum.reduceat(similarity[:, order], starts, axis=1)
        place = {int(c): j for j, c in enumerate(present.tolist())}
        for i, index in enumerate(chunk.tolist()):
            for person in _barred(library, candidates[index]):
                if column.get(person) in place:
                    best[i, place[column[person]]] = -np.inf
        top = best.argmax(axis=1)
        top_score = best[np.arange(len(chunk)), top]
        for i in np.flatnonzero(top_score >= review).tolist():
            second = float(np.max(np.delete(best[i], top[i]), initial=-np.inf))
            person_column = int(present[top[i]])
            mine = np.flatnonzero((persons == person_column) & np.isfinite(similarity[i]))
            kept = rows[mine[np.argsort(-similarity[i][mine])][:REFERENCES_KEPT]]
            proposals.append((float(top_score[i]), second, int(chunk[i]), person_column, kept))
    return proposals


def _barred(library: _Library, body: BodyObservation) -> frozenset[str] | set[str]:
    """The people a body is never proposed as: its face was removed from them, they are in its photo by face,
    or an editor rejected the body as them."""
    return (library.face_removed.get(body.face_id, frozenset()) | library.photo_people.get(body.photo_id, set())
            | _rejected(library, body))


def _rejected(library: _Library, body: BodyObservation) -> frozenset[str]:
    """The people an editor rejected the body as."""
    return library.decisions[body.body_id].removed_from if body.body_id in library.decisions else frozenset()


def _windows(library: _Library, candidates: list[BodyObservation], references: list[BodyObservation],
             window: float) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The candidates in chunks (indices) of one event and near times, each with the reference rows that may
    share a window with them (their event's, and those within `window` hours of the chunk's times) and which
    pairs do (chunk x rows, bool): a library of many events compares each body with its own events' bodies,
    not with every body of the project."""
    events = {e: i for i, e in enumerate(sorted(set(library.event_of.values())))}
    ref_event = np.array([events.get(library.event_of.get(b.photo_id, ""), -1) for b in references])
    ref_hours = np.array([library.hours_of.get(b.photo_id, math.nan) for b in references])
    event_rows = {int(e): np.flatnonzero(ref_event == e) for e in np.unique(ref_event[ref_event >= 0])}
    timed = np.flatnonzero(np.isfinite(ref_hours))
    timed = timed[np.argsort(ref_hours[timed], kind="stable")]
    cand_event = np.array([events.get(library.event_of.get(b.photo_id, ""), -1) for b in candidates])
    cand_hours = np.array([library.hours_of.get(b.photo_id, math.nan) for b in candidates])
    order = np.lexsort((np.nan_to_num(cand_hours, nan=np.inf), cand_event))
    for event in np.unique(cand_event).tolist():
        for chunk in _chunks(order[cand_event[order] == event], cand_hours, 2 * max(window, 1.0)):
            hours = cand_hours[chunk]
            near = np.zeros(0, np.int64)
            if window > 0 and np.isfinite(hours).any():
                # a hair wider than the window: `eligible` below keeps the exact pairs, whatever the rounding
                low = np.searchsorted(ref_hours[timed], np.nanmin(hours) - window - 1e-6, side="left")
                high = np.searchsorted(ref_hours[timed], np.nanmax(hours) + window + 1e-6, side="right")
                near = timed[low:high]
            rows = np.union1d(event_rows.get(event, np.zeros(0, np.int64)), near)
            if not rows.size:
                continue
            eligible = (cand_event[chunk][:, None] == ref_event[rows][None, :]) & (cand_event[chunk][:, None] >= 0)
            if window > 0:
                eligible |= np.abs(hours[:, None] - ref_hours[rows][None, :]) <= window
            yield chunk, rows, eligible


def _chunks(indices: np.ndarray, hours: np.ndarray, span: float) -> Iterator[np.ndarray]:
    """`indices` (sorted by their `hours`, unknown ones last) in runs of at most CHUNK whose known hours lie
    within `span` of each other, so that each run's time window holds few references."""
    start = 0
    for i in range(1, len(indices) + 1):
        if i == len(indices) or i - start == CHUNK or (
                np.isfinite(hours[indices[i]]) and hours[indices[i]] - hours[indices[start]] > span) or (
                np.isfinite(hours[indices[start]]) != np.isfinite(hours[indices[i]])):
            yield indices[start:i]
            start = i


def sure_enough(top: float, second: float, auto: float, margin: float) -> bool:
    """Whether a body's best score for a person tags it (else it waits for review): from `auto`, and ahead of
    the next person by `margin`."""
    return top >= auto and top - second >= margin


def body_similarity(bodies: np.ndarray, references: np.ndarray, below_face: np.ndarray) -> np.ndarray:
    """Cosine similarities (n, m) of bodies (n, dim) to reference bodies, each the closer of the reference
    whole (m, dim) and its part below the face (m, dim: the whole again where it has none); L2-normalised."""
    bodies = np.asarray(bodies, np.float32)
    return np.maximum(bodies @ np.asarray(references, np.float32).T, bodies @ np.asarray(below_face, np.float32).T)


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
    of one person or of everyone, best score first. A body whose face a decision speaks for now (named,
    ignored, or removed from that person) is left out: the face wins. `status` all: both."""
    existing_project(runtime, project)
    if status not in ("tagged", "queued", "all"):
        raise ValueError(f"status: {status!r} is not tagged, queued or all")
    if person_id is not None:
        existing_person(runtime, project, person_id)
        every = runtime.graph.face_decisions(project, identities=[person_id])
    else:
        every = runtime.graph.face_decisions(project)
    wanted = {f: d for f, d in every.items() if d.method == BODY_METHOD
              and (d.confirmed_as if status == "tagged" else d.suggested_as if status == "queued"
                   else d.confirmed_as or d.suggested_as)
              and (person_id is None or (d.confirmed_as or d.suggested_as) == person_id)}
    if not wanted:  # a library without bodies has no body collection to open; the pack named must still exist
        body_pack(runtime.settings.body_pack)
        return []
    bodies = {b.body_id: b for b in runtime.bodies.bodies_by_id(project, sorted(wanted))}
    settled, removed = _face_verdicts(runtime, project, [b.face_id for b in bodies.values() if b.face_id != NO_FACE])
    found = []
    for body_id, d in wanted.items():
        body = bodies.get(body_id)
        person = d.confirmed_as or d.suggested_as or ""
        if body is None or body.face_id in settled or person in removed.get(body.face_id, ()):
            continue
        found.append(BodyAppearance(body_id, person, body.photo_id, body.box,
                                    "tagged" if d.confirmed_as else "queued", d.score, d.references,
                                    body.face_id, d.face_score, d.actor, d.decided_at))
    return sorted(found, key=lambda a: (-(a.score or 0.0), a.body_id))


def _face_verdicts(runtime: Runtime, project: str, face_ids: Sequence[int]) -> tuple[set[int], dict[int, frozenset[str]]]:
    """Among these faces: those a decision speaks for whole (named, or ignored), and the people the others were
    removed from."""
    if not face_ids:
        return set(), {}
    named_clusters = {c for p in runtime.graph.people(project) for c in p.cluster_ids}
    settled = {f.face_id for f in runtime.vectors.faces_by_id(project, list(face_ids)) if f.cluster_id in named_clusters}
    removed = {}
    for face_id, d in runtime.graph.face_decisions(project, face_ids=list(face_ids)).items():
        if d.confirmed_as or d.ignored:
            settled.add(face_id)
        elif d.removed_from:
            removed[face_id] = d.removed_from
    return settled, removed


@holding_project
def review_bodies(runtime: Runtime, project: str, body_ids: Sequence[int], *, accept: bool,
                  actor: str = "") -> BodyReview:
    """Accept (the body is the person it was tagged or suggested as) or reject (it is not: never that person
    again) bodies found by body matching, as one undoable action. Ids that name no body found so are a bad
    request (400), as faces not in the face review queue are."""
    existing_project(runtime, project)
    wanted = list(dict.fromkeys(int(b) for b in body_ids))
    if not wanted:
        raise ValueError("bodies: no body id given (the ids `peoplegraph reid queue` or `reid appearances` list)")
    known = runtime.graph.face_decisions(project, face_ids=wanted)
    decided = {b: d for b, d in known.items() if d.method == BODY_METHOD and (d.suggested_as or d.confirmed_as)}
    rejected = {b: d for b, d in known.items() if d.method == BODY_METHOD and b not in decided and d.removed_from}
    if accept and rejected:
        raise ValueError(f"bodies: {listed(sorted(rejected))}: rejected already, as "
                         f"{', '.join(sorted(set().union(*(d.removed_from for d in rejected.values()))))}: nothing "
                         "to accept (body matching may suggest someone else for them)")
    missing = [b for b in wanted if b not in decided and b not in rejected]
    if missing:
        raise ValueError(f"bodies: {listed(missing)}: neither tagged nor queued by body matching in "
                         f"project {project!r} (peoplegraph reid queue, reid appearances)")
    stored = {b.body_id for b in runtime.bodies.bodies_by_id(project, wanted)}
    gone = [b for b in wanted if b not in stored]
    if gone:
        raise ValueError(f"bodies: {listed(gone)}: no body of pack {runtime.settings.body_pack!r} in project "
                         f"{project!r}: found by another body pack (PEOPLEGRAPH_BODY_PACK), or its photo was deleted")
    person = {b: d.confirmed_as or d.suggested_as for b, d in decided.items()}
    people = set(person.values())
    action = ACCEPT_BODIES if accept else REJECT_BODIES
    # accepting what an editor accepted, or rejecting what is rejected, changes nothing: no new action to undo
    wanted = [b for b in wanted if b in decided
              and not (accept and decided[b].confirmed_as and decided[b].actor != MATCHER)]
    if not wanted:
        return BodyReview(action, project, [], next(iter(people)) if len(people) == 1 else None)
    stamp = now()
    decisions = [FaceDecision(
        b, confirmed_as=person[b] if accept else None,
        removed_from=decided[b].removed_from | (frozenset() if accept else {person[b]}),  # type: ignore[arg-type]
        score=decided[b].score, references=decided[b].references, method=BODY_METHOD, actor=actor,
        face_score=decided[b].face_score, decided_at=stamp) for b in wanted]
    runtime.graph.set_face_decisions(project, decisions, action=action, actor=actor, decided_at=stamp)
    return BodyReview(action, project, wanted, next(iter(people)) if len(people) == 1 else None)
