"""Recognition: embeddings in, the best confirmed person of each (with its score and references) out.

The scoring auto-matching uses (linking/matching.py), in a form that needs no stored face: each face is
scored against every person editors confirmed as the mean cosine to its `REFERENCES` most similar faces
confirmed as them (several references, not a centroid), and the best person wins. Only human
confirmations are references, so nothing the machine decided becomes evidence.

`peoplegraph sort` (services/folders.py) recognises the faces of photos that are never stored; `enroll`
scores a folder's faces against each other with `top_mean`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from peoplegraph.engine.decisions import HUMAN_METHODS
from peoplegraph.observations.model import validate_project_name

REFERENCES = 3  # confirmed faces per person a face is scored against (matching.py's REFERENCES)


@dataclass(frozen=True)
class ReferenceFaces:
    """The confirmed faces of each person as one matrix: person j's rows are spans[j]:spans[j + 1]."""

    people: list[str]  # person ids, sorted
    matrix: np.ndarray  # float32 (n, d), L2-normalised
    face_ids: list[int]  # the face id of each row
    spans: np.ndarray  # int (len(people) + 1,)

    def __len__(self) -> int:
        return len(self.people)

    @classmethod
    def of(cls, references: Mapping[str, Sequence[int]], faces) -> ReferenceFaces:
        """From person id -> confirmed face ids, with the embeddings read from `faces` (a ProjectFaces);
        faces the project no longer has are left out, and people left with none."""
        people, columns = [], []
        for person in sorted(references):
            found = faces.rows(list(references[person]))
            found = found[found >= 0]
            if found.size:
                people.append(person)
                columns.append(found)
        dim = faces.dim if len(faces) else 1
        if not columns:
            return cls([], np.zeros((0, dim), np.float32), [], np.zeros(1, int))
        rows = np.concatenate(columns)
        return cls(people, np.asarray(faces.embeddings[rows], np.float32), faces.face_ids[rows].tolist(),
                   np.cumsum([0] + [len(c) for c in columns]))


@dataclass(frozen=True)
class Recognition:
    person_id: str | None  # the best person (None: no person to score against)
    score: float  # mean cosine to that person's nearest references (-inf when none)
    references: tuple[int, ...]  # the confirmed faces the score was taken over

    def recognised(self, threshold: float) -> bool:
        return self.person_id is not None and self.score >= threshold


def confirmed_references(runtime, project: str) -> ReferenceFaces:
    """Every face editors confirmed (or imported) as a person, grouped by person, with its embedding."""
    validate_project_name(project)
    references: dict[str, list[int]] = {}
    for d in runtime.graph.human_confirmations(project).values():
        if d.method in HUMAN_METHODS and d.confirmed_as:
            references.setdefault(d.confirmed_as, []).append(d.face_id)
    return ReferenceFaces.of(references, runtime.vectors.project_faces(project))


def top_mean(similarity: np.ndarray, k: int = REFERENCES) -> tuple[np.ndarray, np.ndarray]:
    """For a block of similarities (m, n): the mean of each row's `k` largest (all of them when n < k),
    and their column indices (m, min(k, n)). A block with no column scores -inf."""
    similarity = np.asarray(similarity, np.float32)
    if not similarity.shape[1]:
        return np.full(similarity.shape[0], -np.inf, np.float32), np.zeros((similarity.shape[0], 0), int)
    top = np.argsort(-similarity, axis=1)[:, :k]
    return np.take_along_axis(similarity, top, axis=1).mean(axis=1), top


def score_people(embeddings: np.ndarray, references: ReferenceFaces) -> tuple[np.ndarray, list[np.ndarray]]:
    """The score of each face (rows of `embeddings`, L2-normalised) for each person: (m, people), and for
    each person the reference rows (into `references.matrix`) each face's score was taken over."""
    embeddings = np.asarray(embeddings, np.float32).reshape(-1, references.matrix.shape[1])
    similarity = embeddings @ references.matrix.T
    scores = np.full((len(embeddings), len(references.people)), -np.inf, np.float32)
    best: list[np.ndarray] = []
    for j in range(len(references.people)):
        start, end = int(references.spans[j]), int(references.spans[j + 1])
        scores[:, j], top = top_mean(similarity[:, start:end])
        best.append(top + start)
    return scores, best


def recognise(embeddings: np.ndarray, references: ReferenceFaces,
              excluded: np.ndarray | None = None) -> list[Recognition]:
    """The best person of each face and its score (the threshold is the caller's: `Recognition.recognised`).
    `excluded` (m, people) bool: pairs never matched (a photo taken outside a person's lifetime)."""
    if not len(references.people):
        return [Recognition(None, float("-inf"), ()) for _ in range(len(embeddings))]
    scores, best = score_people(embeddings, references)
    if excluded is not None:
        scores[np.asarray(excluded, bool)] = -np.inf
    found = []
    for row in range(scores.shape[0]):
        j = int(np.argmax(scores[row]))
        score = float(scores[row, j])
        if score == float("-inf"):
            found.append(Recognition(None, score, ()))
            continue
        used = tuple(int(references.face_ids[c]) for c in best[j][row])
        found.append(Recognition(references.people[j], score, used))
    return found
