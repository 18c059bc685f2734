"""Auto-matching: new faces against the people editors confirmed, before clustering.

Every face without a cluster and without a decision is scored against each person (linking/recognition.py):
the mean cosine to its `REFERENCES` most similar faces that a person confirmed as them (several references, not a centroid:
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
from peoplegraph.linking.recognition import confirmed_references, recognise
from peoplegraph.observations.model import UNCLUSTERED, validate_project_name
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.project_lock import holding_project

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
    references = confirmed_references(runtime, project)
    if not len(references):
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
    lifetime = {p.person_id: (p.born, p.died) for p in runtime.graph.people(project)}
    photo_of = [faces.photo_id(r) for r in candidates.tolist()]
    taken_at = {p.photo_id: p.taken_at for p in runtime.graph.photos_by_id(project, sorted(set(photo_of)))}
    stamp = now()
    new_decisions = []
    for start in range(0, len(candidates), CHUNK_ROWS):
        chunk = candidates[start:start + CHUNK_ROWS]
        photos = photo_of[start:start + CHUNK_ROWS]
        # a photo taken before a person was born, or after they died, is never theirs
        outside = np.zeros((len(chunk), len(references)), bool)
        for j, person in enumerate(references.people):
            born, died = lifetime.get(person, ("", ""))
            if born or died:
                outside[:, j] = [outside_lifetime(taken_at.get(p, ""), born, died) for p in photos]
        found = recognise(faces.embeddings[chunk], references, outside)
        for face_id, match in zip(faces.face_ids[chunk].tolist(), found):
            if match.person_id is None or match.score < review:
                continue
            if match.score >= auto:
                new_decisions.append(FaceDecision(face_id, confirmed_as=match.person_id, method="auto",
                                                  actor="peoplegraph", score=match.score,
                                                  references=match.references, decided_at=stamp))
            else:
                new_decisions.append(FaceDecision(face_id, suggested_as=match.person_id, method="review",
                                                  actor="peoplegraph", score=match.score,
                                                  references=match.references, decided_at=stamp))
    if new_decisions:
        runtime.graph.set_face_decisions(project, new_decisions, action="auto-match")
    tagged = sum(d.method == "auto" for d in new_decisions)
    queued = len(new_decisions) - tagged
    return MatchReport(len(references), len(candidates), tagged, queued, len(candidates) - tagged - queued, auto,
                       review)
