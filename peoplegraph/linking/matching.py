"""Auto-matching: new faces against the people editors confirmed, before clustering.

Every face without a cluster and without a decision is scored against each person: the mean cosine to
its `REFERENCES` most similar faces that a person confirmed as them (several references, not a centroid:
a person seen young and old, with and without glasses, keeps all those looks). The best person decides:

- score >= auto_threshold: the face is tagged as that person (a decision with method `auto`, the score
  and the reference faces), which every clustering run keeps, and which an editor can undo;
- review_threshold <= score < auto_threshold: the face waits in the review queue (`review`, suggested
  person, score, references);
- below: it stays unknown and waits for clustering.

Only human confirmations are references, so an automatic tag never becomes evidence for the next one. A
face already removed from a person is never matched to them, nor a face whose photo was taken (EXIF)
before the person's birth date or after their death.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from peoplegraph.identity.records import FaceDecision, now, outside_lifetime
from peoplegraph.observations.model import UNCLUSTERED, validate_project_name
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.project_lock import holding_project

REFERENCES = 3  # confirmed faces per person a match is scored against
CHUNK_ROWS = 4096


@dataclass(frozen=True)
class MatchReport:
    people: int  # people with confirmed faces to match against
    candidates: int  # faces without a cluster or a decision
    auto: int
    review: int
    unknown: int
    auto_threshold: float
    review_threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


@holding_project
def match_new_faces(runtime: Runtime, project: str, face_ids: Sequence[int] | None = None) -> MatchReport:
    """Match the faces without a cluster or a decision (only those among `face_ids` when given: the faces an
    ingest added) against the people editors confirmed."""
    validate_project_name(project)
    auto, review = runtime.auto_threshold, runtime.review_threshold
    references: dict[str, list[int]] = {}
    for d in runtime.graph.human_confirmations(project).values():
        references.setdefault(d.confirmed_as, []).append(d.face_id)  # type: ignore[arg-type]
    if not references:
        return MatchReport(0, 0, 0, 0, 0, auto, review)
    faces = runtime.vectors.project_faces(project)
    if face_ids is None:
        waiting = np.flatnonzero(faces.cluster_ids == UNCLUSTERED)
        decisions = runtime.graph.face_decisions(project)
    else:
        waiting = faces.rows(face_ids)
        waiting = waiting[(waiting >= 0) & (faces.cluster_ids[np.maximum(waiting, 0)] == UNCLUSTERED)]
        decisions = runtime.graph.face_decisions(project, face_ids=faces.face_ids[waiting].tolist())
    candidates = waiting[~np.isin(faces.face_ids[waiting], np.fromiter(decisions, np.int64, len(decisions)))]
    if not candidates.size:
        return MatchReport(len(references), 0, 0, 0, 0, auto, review)
    people = sorted(references)
    columns = []
    for person in people:
        found = faces.rows(references[person])
        columns.append(found[found >= 0])
    flat_rows = np.concatenate(columns)
    flat_ids = faces.face_ids[flat_rows].tolist()
    matrix = faces.embeddings[flat_rows]
    lifetime = {p.person_id: (p.born, p.died) for p in runtime.graph.people(project)}
    photo_of = [faces.photo_id(r) for r in candidates.tolist()]
    taken_at = {p.photo_id: p.taken_at for p in runtime.graph.photos_by_id(project, sorted(set(photo_of)))}
    spans = np.cumsum([0] + [len(c) for c in columns])
    stamp = now()
    new_decisions = []
    for start in range(0, len(candidates), CHUNK_ROWS):
        chunk = candidates[start:start + CHUNK_ROWS]
        photos = photo_of[start:start + CHUNK_ROWS]
        similarity = faces.embeddings[chunk] @ matrix.T
        scores = np.full((len(chunk), len(people)), -np.inf, np.float32)
        best_refs: list[np.ndarray] = []
        for j in range(len(people)):
            block = similarity[:, spans[j]:spans[j + 1]]
            if not block.shape[1]:
                best_refs.append(np.zeros((len(chunk), 0), int))
                continue
            top = np.argsort(-block, axis=1)[:, :REFERENCES]
            scores[:, j] = np.take_along_axis(block, top, axis=1).mean(axis=1)
            best_refs.append(top + spans[j])
            born, died = lifetime.get(people[j], ("", ""))
            if born or died:  # a photo taken before the person was born, or after they died, is never theirs
                outside = [outside_lifetime(taken_at.get(p, ""), born, died) for p in photos]
                scores[np.array(outside, bool), j] = -np.inf
        for row, face_id in enumerate(faces.face_ids[chunk].tolist()):
            j = int(np.argmax(scores[row]))
            score = float(scores[row, j])
            if score < review:
                continue
            used = tuple(int(flat_ids[c]) for c in best_refs[j][row])
            person = people[j]
            if score >= auto:
                new_decisions.append(FaceDecision(face_id, confirmed_as=person, method="auto",
                                                  actor="peoplegraph", score=score, references=used,
                                                  decided_at=stamp))
            else:
                new_decisions.append(FaceDecision(face_id, suggested_as=person, method="review",
                                                  actor="peoplegraph", score=score, references=used,
                                                  decided_at=stamp))
    if new_decisions:
        runtime.graph.set_face_decisions(project, new_decisions, action="auto-match")
    tagged = sum(d.method == "auto" for d in new_decisions)
    queued = len(new_decisions) - tagged
    return MatchReport(len(people), len(candidates), tagged, queued, len(candidates) - tagged - queued, auto, review)
