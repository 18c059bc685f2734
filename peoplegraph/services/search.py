"""Selfie search: one photo of a person in, every photo of the project that person appears in out, ranked.

A face of the project matches when its cosine similarity to the selfie reaches the search threshold. The
person's cluster then reaches the photos whose face alone would miss (turned, older, badly lit): a cluster
holding a match is taken whole when the selfie's mean similarity to its faces is at least the threshold
less `ATTACH_MARGIN`, the same rule that lets a lone face join a cluster (engine/cluster.py), so one
look-alike match cannot pull in a stranger's whole cluster. A cluster so taken that is a named person's (and
not a hidden or private one's) brings the photos that person was tagged in by their body, their face hidden
there (linking/bodies.py): listed after the photos found by face, since a body tag is one more step from the
selfie.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from peoplegraph.engine.cluster import ATTACH_MARGIN, UNCLUSTERED
from peoplegraph.services.runtime import Runtime

# Nearest faces asked of the vector store per selfie before the clusters are added.
SEARCH_CANDIDATES = 2000


@dataclass(frozen=True)
class PhotoMatch:
    photo_id: str
    # cosine similarity of the selfie to the best face of this photo; via body, to the person's best face
    score: float
    face_id: int | None  # that face; None via body
    via: str  # "face": the face itself matched; "cluster": reached through the person's cluster; "body": the
    # person was tagged in this photo by their body
    body_id: int | None = None  # via body: that body

    def to_dict(self) -> dict:
        """As JSON: ids as strings (63-bit: a browser's numbers would round them)."""
        return {**asdict(self), "face_id": None if self.face_id is None else str(self.face_id),
                "body_id": None if self.body_id is None else str(self.body_id), "score": round(self.score, 4)}


class NoFaceInSelfie(ValueError):
    pass


def match_photos(query: np.ndarray, embeddings: np.ndarray, photo_ids: Sequence[str], face_ids: Sequence[int],
                 cluster_ids: np.ndarray, threshold: float) -> list[PhotoMatch]:
    """The photos of the candidate faces that show the selfie's person, best first.

    `embeddings` (n, d) L2-normalised, with the photo, face and cluster id of each candidate face; every
    member of a cluster that may be taken must be among the candidates.
    """
    if not len(embeddings):
        return []
    similarity = np.asarray(embeddings, np.float32) @ np.asarray(query, np.float32)
    cluster_ids = np.asarray(cluster_ids, np.int64)
    direct = similarity >= threshold
    taken = np.isin(cluster_ids, matched_clusters(similarity, cluster_ids, threshold))
    best: dict[str, PhotoMatch] = {}
    for index in np.flatnonzero(direct | taken):
        match = PhotoMatch(photo_ids[index], float(similarity[index]), int(face_ids[index]),
                           "face" if direct[index] else "cluster")
        known = best.get(match.photo_id)
        if known is None or match.score > known.score:
            best[match.photo_id] = match
    return sorted(best.values(), key=lambda m: (-m.score, m.photo_id))


def matched_clusters(similarity: np.ndarray, cluster_ids: np.ndarray, threshold: float) -> np.ndarray:
    """The clusters the selfie is taken to be: holding a face at least `threshold` similar to it, and at
    least `threshold` less ATTACH_MARGIN similar to their faces on average (every member among the rows)."""
    direct = similarity >= threshold
    hit = np.unique(cluster_ids[direct & (cluster_ids != UNCLUSTERED)])
    return np.asarray([c for c in hit.tolist() if similarity[cluster_ids == c].mean() >= threshold - ATTACH_MARGIN],
                      np.int64)


def selfie_embedding(runtime: Runtime, selfie: Path | bytes, name: str | None = None) -> np.ndarray:
    """The embedding of the selfie's largest face (the person who took it): a file, or bytes received
    under `name`. Raises ImageRejected (not an image, too large) or NoFaceInSelfie, both ValueErrors."""
    from peoplegraph.engine.analysis import describe_faces
    from peoplegraph.engine.decode import decode_for_detection

    settings = runtime.settings
    name = name or str(selfie)
    image = decode_for_detection(settings, selfie, name)
    faces = describe_faces(runtime.pack, image, settings, runtime.detection_threshold)
    if not faces:
        raise NoFaceInSelfie(f"{name}: no face found in the selfie")
    return max(faces, key=lambda d: d.face.width * d.face.height).face.embedding


def search_project(runtime: Runtime, project: str, query: np.ndarray) -> list[PhotoMatch]:
    """Selfie search against a project's stored faces: the nearest faces in the face index, then the
    clusters they belong to, ranked by `match_photos`."""
    from peoplegraph.linking.service import existing_project

    existing_project(runtime, project)
    threshold = runtime.search_similarity
    faces = runtime.vectors.project_faces(project)
    nearest, similarity = faces.nearest(np.asarray(query, np.float32)[None, :], SEARCH_CANDIDATES)
    hits = nearest[0][nearest[0] >= 0]
    clusters = faces.cluster_ids[hits[similarity[0][:hits.size] >= threshold]]
    rows = np.union1d(hits, faces.members(np.unique(clusters)))
    if not rows.size:
        return []
    found = match_photos(query, faces.embeddings[rows], [faces.photo_id(r) for r in rows.tolist()],
                         faces.face_ids[rows].tolist(), faces.cluster_ids[rows], threshold)
    if not runtime.settings.body_reid:  # a library without body ReID is not searched for body tags
        return found
    return found + _found_by_body(runtime, project, faces.embeddings[rows] @ np.asarray(query, np.float32),
                                  faces.cluster_ids[rows], threshold, {m.photo_id for m in found})


def _found_by_body(runtime: Runtime, project: str, similarity: np.ndarray, cluster_ids: np.ndarray,
                   threshold: float, seen: set[str]) -> list[PhotoMatch]:
    """The photos the people of the matched clusters were tagged in by body, and not found in by face."""
    from peoplegraph.linking.bodies import BODY_METHOD, body_appearances

    matched = set(matched_clusters(similarity, cluster_ids, threshold).tolist())
    people = [p for p in runtime.graph.people(project) if p.visibility == "normal" and matched & set(p.cluster_ids)]
    if not people:
        return []
    tagged = {d.confirmed_as for d in runtime.graph.face_decisions(
        project, identities=[p.person_id for p in people]).values() if d.method == BODY_METHOD}
    best: dict[str, PhotoMatch] = {}
    for person in (p for p in people if p.person_id in tagged):
        score = float(similarity[np.isin(cluster_ids, person.cluster_ids)].max())
        for body in body_appearances(runtime, project, person.person_id):
            known = best.get(body.photo_id)
            if body.photo_id not in seen and (known is None or score > known.score):
                best[body.photo_id] = PhotoMatch(body.photo_id, score, None, "body", body.body_id)
    return sorted(best.values(), key=lambda m: (-m.score, m.photo_id))
