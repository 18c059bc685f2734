"""Read-side queries shared by the CLI, the REST API and GraphQL."""

from __future__ import annotations

from peoplegraph.engine.quality import flags_from_bits
from peoplegraph.identity.records import ClusterRecord, PersonRecord, PhotoRecord
from peoplegraph.observations.model import UNKNOWN_AGE, FaceObservation, validate_project_name
from peoplegraph.services.runtime import Runtime


def clusters(runtime: Runtime, project: str) -> list[ClusterRecord]:
    validate_project_name(project)
    return sorted(runtime.graph.clusters(project), key=lambda c: (-c.size, c.cluster_id))


def people(runtime: Runtime, project: str) -> list[PersonRecord]:
    validate_project_name(project)
    return runtime.graph.people(project)


def photos(runtime: Runtime, project: str, limit: int, offset: int) -> list[PhotoRecord]:
    validate_project_name(project)
    return runtime.graph.photos(project, limit=limit, offset=offset)


def faces_of_photo(runtime: Runtime, project: str, photo_id: str) -> list[FaceObservation]:
    validate_project_name(project)
    return runtime.vectors.faces_of_photo(project, photo_id)


def faces(runtime: Runtime, project: str) -> list[FaceObservation]:
    validate_project_name(project)
    return runtime.vectors.faces(project)


def cluster_to_dict(cluster: ClusterRecord) -> dict:
    return {
        "id": cluster.cluster_id,
        "size": cluster.size,
        "representative": {
            "face_id": cluster.representative_face_id,
            "photo_id": cluster.representative_photo_id,
            "box": list(cluster.representative_box),
        },
        "mean_confidence": round(cluster.mean_confidence, 4),
        "photos": len(cluster.photo_ids),
        "person_id": cluster.person_id,
    }


def face_to_dict(face: FaceObservation) -> dict:
    return {
        "face_id": face.face_id,
        "photo_id": face.photo_id,
        "box": [round(v, 1) for v in face.box],
        "landmarks": [round(v, 1) for v in face.landmarks],
        "confidence": round(face.det_score * 100, 1),
        "cluster_id": face.cluster_id,
        "pose": {"yaw": round(face.yaw, 1), "pitch": round(face.pitch, 1), "roll": round(face.roll, 1)},
        "quality": {"score": round(face.quality_score, 1), **flags_from_bits(face.quality_flags)},
        "age": None if face.age == UNKNOWN_AGE else round(face.age, 1),
    }
