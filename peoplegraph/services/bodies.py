"""Finding a photo's bodies on ingest: the person detector and the body (ReID) pack of one process.

`BodyScanner.find` is the heavy part (detection and embedding: it runs in ingest's decode threads);
`BodyScanner.observations` ties each person to the face inside it once the photo's faces are known, embeds
the body below that face, and names the bodies with deterministic ids, so that ingesting a photo again adds
nothing twice.
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
from peoplegraph.reid.people import below_face_boxes, person_crops, tie_faces
from peoplegraph.settings import Settings


@dataclass
class PeopleFound:
    """The people in one photo: boxes in its full-size upright pixels, detector scores, body embeddings, the
    embeddings of their bodies below the faces found with them (by person and face box), and the photo
    itself until its faces are stored (see `BodyScanner.observations`)."""

    boxes: np.ndarray  # float32 (n, 4)
    scores: np.ndarray  # float32 (n,)
    embeddings: np.ndarray = field(repr=False)  # float32 (n, dim), L2-normalised
    below_face: dict[tuple[int, tuple[float, ...]], np.ndarray] = field(default_factory=dict, repr=False)
    image: DecodedImage | None = field(default=None, repr=False)


def _face_key(box: Sequence[float]) -> tuple[float, ...]:
    return tuple(round(float(v)) for v in box)  # a face box in full-size pixels, as ingest stores it to a pixel


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

    def find(self, image: DecodedImage, face_boxes: Sequence[Sequence[float]] = ()) -> PeopleFound:
        """The photo's people; with the faces found in it (full-size boxes), their bodies below those faces
        too, embedded here rather than once the faces are stored (this runs in ingest's decode threads)."""
        if self._embedder is None:
            self.prepare()
        assert self._detector is not None and self._embedder is not None
        found = self._detector.get(image.pixels, self.settings.person_threshold)
        embeddings = self._embedder.get(person_crops(image.pixels, found.boxes)) if len(found) else \
            np.zeros((0, self.dim), np.float32)
        people = PeopleFound(found.boxes * np.float32(image.scale), found.scores, embeddings, image=image)
        people.below_face = self._below_face(people, np.asarray(face_boxes, np.float32).reshape(-1, 4))
        return people

    def _below_face(self, people: PeopleFound, faces: np.ndarray,
                    tied: np.ndarray | None = None) -> dict[tuple[int, tuple[float, ...]], np.ndarray]:
        """The embeddings of the people's bodies below their faces (`tied` as `tie_faces` answers, worked out
        when not given), those `people` holds already taken from it."""
        tied = tie_faces(people.boxes, faces) if tied is None else tied
        below = below_face_boxes(people.boxes, faces, tied)
        keys = {int(i): (int(i), _face_key(faces[tied[i]])) for i in np.flatnonzero(~np.isnan(below[:, 0]))}
        out = {key: people.below_face[key] for key in keys.values() if key in people.below_face}
        todo = [i for i, key in keys.items() if key not in out]
        if todo and people.image is not None:
            if self._embedder is None:
                self.prepare()
            assert self._embedder is not None
            crops = person_crops(people.image.pixels, below[todo] / np.float32(people.image.scale))
            out.update(zip((keys[i] for i in todo), self._embedder.get(crops)))
        return out

    def observations(self, project: str, photo_id: str, people: PeopleFound, face_boxes: Sequence[Sequence[float]],
                     face_ids: Sequence[int]) -> list[BodyObservation]:
        """The photo's bodies, each tied to the face inside its box (the faces' boxes in the same full-size
        pixels), with the embedding of its part below that face (made here for a tie `find` did not see)."""
        faces = np.asarray(face_boxes, np.float32).reshape(-1, 4)
        tied = tie_faces(people.boxes, faces)
        below_face = self._below_face(people, faces, tied)
        bodies = []
        for i, (box, score, embedding, face) in enumerate(zip(people.boxes, people.scores, people.embeddings,
                                                              tied.tolist())):
            rounded = tuple(round(float(v), 1) for v in box)
            below = below_face.get((i, _face_key(faces[face]))) if face >= 0 else None
            bodies.append(BodyObservation(face_id_for(project, photo_id, self.model_id, rounded), project, photo_id,
                                          rounded, float(score), int(face_ids[face]) if face >= 0 else NO_FACE,
                                          embedding, below))
        return bodies
