"""Finding a photo's bodies on ingest: the person detector and the body (ReID) pack of one process.

`BodyScanner.find` is the heavy part (detection and embedding: it runs in ingest's decode threads);
`observations` ties each person to the face inside it once the photo's faces are known, and names the bodies
with deterministic ids, so that ingesting a photo again adds nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from peoplegraph.engine.decode import DecodedImage
from peoplegraph.observations.model import NO_FACE, BodyObservation, face_id_for
from peoplegraph.reid.detector import PersonDetector
from peoplegraph.reid.packs import DETECTOR, DETECTOR_PACK, BodyEmbedder, body_pack, pack_files
from peoplegraph.reid.people import person_crops, tie_faces
from peoplegraph.settings import Settings


@dataclass
class PeopleFound:
    """The people in one photo: boxes in its full-size upright pixels, detector scores, body embeddings."""

    boxes: np.ndarray  # float32 (n, 4)
    scores: np.ndarray  # float32 (n,)
    embeddings: np.ndarray = field(repr=False)  # float32 (n, dim), L2-normalised


class BodyScanner:
    """`prepare` loads the detector and the pack named by the settings (files checked, fetched once); `find`
    answers the people in a decoded photo. Safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.spec = body_pack(settings.body_pack)
        self.model_id, self.dim = self.spec.model_id, self.spec.dim
        self._lock = threading.Lock()
        self._detector: PersonDetector | None = None
        self._embedder: BodyEmbedder | None = None

    def prepare(self) -> BodyScanner:
        with self._lock:
            if self._embedder is None:
                settings = self.settings
                found = pack_files(DETECTOR_PACK, (DETECTOR,), settings.models_path, settings.model_source)
                detector = PersonDetector(found["detector"])
                detector.prepare(settings.threads)
                embedder = BodyEmbedder(self.spec, settings.models_path, settings.model_source)
                embedder.prepare(settings.threads)
                self._detector, self._embedder = detector, embedder
        return self

    def find(self, image: DecodedImage) -> PeopleFound:
        if self._embedder is None:
            self.prepare()
        assert self._detector is not None and self._embedder is not None
        found = self._detector.get(image.pixels, self.settings.person_threshold)
        embeddings = self._embedder.get(person_crops(image.pixels, found.boxes)) if len(found) else \
            np.zeros((0, self.dim), np.float32)
        return PeopleFound(found.boxes * np.float32(image.scale), found.scores, embeddings)


def observations(project: str, photo_id: str, model_id: str, people: PeopleFound,
                 face_boxes: Sequence[Sequence[float]], face_ids: Sequence[int]) -> list[BodyObservation]:
    """The photo's bodies, each tied to the face inside its box (the faces' boxes in the same pixels)."""
    tied = tie_faces(people.boxes, np.asarray(face_boxes, np.float32).reshape(-1, 4))
    bodies = []
    for box, score, embedding, face in zip(people.boxes, people.scores, people.embeddings, tied.tolist()):
        rounded = tuple(round(float(v), 1) for v in box)
        bodies.append(BodyObservation(face_id_for(project, photo_id, model_id, rounded), project, photo_id, rounded,
                                      float(score), int(face_ids[face]) if face >= 0 else NO_FACE, embedding))
    return bodies
