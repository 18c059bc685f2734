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
    itself, for `BodyScanner.observations` to embed below the faces it was not given (a photo stored before,
    whose faces are read from the store on the main thread)."""

    boxes: np.ndarray  # float32 (n, 4)
    scores: np.ndarray  # float32 (n,)
    embeddings: np.ndarray = field(repr=False)  # float32 (n, dim), L2-normalised
    below_face: dict[tuple[int, tuple[int, ...]], np.ndarray] = field(default_factory=dict, repr=False)
    image: DecodedImage | None = field(default=None, repr=False)


def _face_key(box: Sequence[float]) -> tuple[int, ...]:
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
                detector = PersonDetector(found["detector"], settings.person_input_side)
                detector.prepare(settings.threads)
                embedder = BodyEmbedder(self.spec, settings.models_path, settings.model_source)
                embedder.prepare(settings.threads)
                self._detector, self._embedder = detector, embedder
        return self

    def _models(self) -> tuple[PersonDetector, BodyEmbedder]:
        if self._embedder is None:
            self.prepare()
        assert self._detector is not None and self._embedder is not None
        return self._detector, self._embedder

    def find(self, image: DecodedImage, face_boxes: Sequence[Sequence[float]] = ()) -> PeopleFound:
        """The photo's people; with the faces found in it (full-size boxes), their bodies below those faces
        too, embedded here rather than once the faces are stored (this runs in ingest's decode threads)."""
        detector, embedder = self._models()
        found = detector.get(image.pixels, self.settings.person_threshold)
        people = PeopleFound(found.boxes * np.float32(image.scale), found.scores, np.zeros((0, self.dim), np.float32),
                             image=image)
        faces = np.asarray(face_boxes, np.float32).reshape(-1, 4)
        below, keys = self._below_face_boxes(people, faces, tie_faces(people.boxes, faces))
        if len(found):  # one batch for the whole bodies and the parts below their faces
            embedded = embedder.get(person_crops(image.pixels, np.concatenate([found.boxes, below])))
            people.embeddings = embedded[:len(found)]
            people.below_face = dict(zip(keys, embedded[len(found):]))
        return people

    @staticmethod
    def _below_face_boxes(people: PeopleFound, faces: np.ndarray, tied: np.ndarray,
                          ) -> tuple[np.ndarray, list[tuple[int, tuple[int, ...]]]]:
        """The boxes below the tied faces that `people` has no embedding for yet, in its image's pixels, and
        their keys (person, face box)."""
        below = below_face_boxes(people.boxes, faces, tied)
        wanted = [(int(i), (int(i), _face_key(faces[tied[i]]))) for i in np.flatnonzero(~np.isnan(below[:, 0]))]
        wanted = [(i, key) for i, key in wanted if key not in people.below_face]
        scale = np.float32(people.image.scale if people.image is not None else 1.0)
        return below[[i for i, _ in wanted]].reshape(-1, 4) / scale, [key for _, key in wanted]

    def observations(self, project: str, photo_id: str, people: PeopleFound, face_boxes: Sequence[Sequence[float]],
                     face_ids: Sequence[int]) -> list[BodyObservation]:
        """The photo's bodies, each tied to the face inside its box (the faces' boxes in the same full-size
        pixels), with the embedding of its part below that face (made here for a tie `find` did not see)."""
        faces = np.asarray(face_boxes, np.float32).reshape(-1, 4)
        tied = tie_faces(people.boxes, faces)
        below, keys = self._below_face_boxes(people, faces, tied)
        if keys and people.image is not None:
            people.below_face.update(zip(keys, self._models()[1].get(person_crops(people.image.pixels, below))))
        bodies = []
        for i, (box, score, embedding, face) in enumerate(zip(people.boxes, people.scores, people.embeddings,
                                                              tied.tolist())):
            rounded = tuple(round(float(v), 1) for v in box)
            below_face = people.below_face.get((i, _face_key(faces[face]))) if face >= 0 else None
            bodies.append(BodyObservation(face_id_for(project, photo_id, self.model_id, rounded), project, photo_id,
                                          rounded, float(score), int(face_ids[face]) if face >= 0 else NO_FACE,
                                          embedding, below_face))
        return bodies
