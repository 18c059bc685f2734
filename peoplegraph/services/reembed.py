"""`peoplegraph models switch`: move a project to this process's face model pack.

Every face keeps its id, box, landmarks and cluster, and gets a new embedding from the new pack's
recognizer, aligned on the landmarks it was found with (faces are not detected again, so no decision, which
names face ids, can be lost). Photos are read where ingest found them (the path it recorded) or from the media
store (uploads); a photo whose file is gone or changed (its sha256 is its id) stops the switch.

Crash-safe by order: the new model's rows are written first (beside the old ones, in the new model's
collection), the project is bound to the new model in one graph write, and only then are the old rows
deleted. Until that write the project is on its old model; run the command again after a crash.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from peoplegraph.engine.decode import ImageRejected, decode_for_detection
from peoplegraph.engine.faces import Detections
from peoplegraph.identity.records import PhotoRecord
from peoplegraph.observations.factory import open_vector_store
from peoplegraph.observations.indexed import IndexedVectorStore
from peoplegraph.observations.model import FaceObservation, validate_project_name
from peoplegraph.services.photo_media import photo_bytes
from peoplegraph.services.runtime import Runtime

WRITE_PHOTOS = 200  # photos re-embedded between two writes to the store


@dataclass
class SwitchReport:
    project: str
    from_model: str
    to_model: str
    photos: int = 0
    faces: int = 0
    unavailable: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}: the switch stopped

    @property
    def switched(self) -> bool:
        return not self.unavailable and self.from_model != self.to_model

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "switched": self.switched}


def switch_face_model(runtime: Runtime, project: str,
                      progress: Callable[[SwitchReport, int], None] | None = None) -> SwitchReport:
    """Re-embed the project's faces with runtime's pack and bind the project to it (module docstring)."""
    validate_project_name(project)
    graph, pack = runtime.graph, runtime.pack
    target = runtime.vectors.unbound
    with runtime.locks.hold(project):
        recorded = graph.face_model(project)
        if recorded is None:
            raise ValueError(f"project {project!r} has no faces bound to a face model yet: nothing to switch (run "
                             "any command on it with the pack it was made with first)")
        old_id, old_dim = recorded
        report = SwitchReport(project, old_id, pack.model_id)
        if old_id == pack.model_id:
            return report
        old = IndexedVectorStore(open_vector_store(runtime.settings, old_id, old_dim), runtime.settings.face_index_path)
        try:
            faces = old.faces(project)
            by_photo: dict[str, list[FaceObservation]] = {}
            for face in faces:
                by_photo.setdefault(face.photo_id, []).append(face)
            photos = graph.photos_by_id(project, sorted(by_photo))
            target.drop_project(project)  # rows a switch to this model left before (an earlier switch away)
            pending: list[FaceObservation] = []
            for done, photo in enumerate(photos, 1):
                try:
                    pending += _reembedded(runtime, photo, by_photo[photo.photo_id])
                except ImageRejected as exc:
                    report.unavailable.append({"path": photo.path, "reason": exc.reason})
                report.photos = done
                if len(pending) and (done % WRITE_PHOTOS == 0 or done == len(photos)):
                    if not report.unavailable:
                        target.upsert(pending)
                    report.faces += len(pending)
                    pending = []
                if progress is not None:
                    progress(report, len(photos))
            if report.unavailable:
                target.drop_project(project)  # the project stays on its old model, as it was
                return report
            graph.set_face_model(project, pack.model_id, pack.embedding_dim)
            old.drop_project(project)
        finally:
            old.close()
    return report


def _reembedded(runtime: Runtime, photo: PhotoRecord, faces: list[FaceObservation]) -> list[FaceObservation]:
    """The photo's faces with the new pack's embeddings, aligned on their recorded landmarks."""
    settings = runtime.settings
    data = photo_bytes(runtime, photo)
    image = decode_for_detection(settings, data, photo.path)
    scale = image.scale
    detections = Detections(
        np.array([f.box for f in faces], np.float32).reshape(-1, 4) / scale,
        np.array([f.landmarks for f in faces], np.float32).reshape(-1, 5, 2) / scale,
        np.array([f.det_score for f in faces], np.float32))
    embedded = runtime.pack.embed(image.pixels, detections, scale)
    return [dataclasses.replace(f, embedding=e.embedding, age=f.age if e.age is None else float(e.age))
            for f, e in zip(faces, embedded)]
