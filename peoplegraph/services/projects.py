"""Deleting a project, or one photo of it: everything of it in both stores and the media store.

A project's graph goes last: until it does, the project is still listed, and deleting it again finishes what a
crash interrupted. A photo goes as an editor action does (`decide_and_place`): the graph first (the photo, its
appearances and the decisions about its faces, one transaction), then its faces, under a mark that `repair`
finishes from, then its clusters are summarised again; its media go last (a crash leaves only files)."""

from __future__ import annotations

from peoplegraph.observations.model import UNCLUSTERED, validate_project_name
from peoplegraph.services.clustering import ClusteringReport, decide_and_place, place_faces
from peoplegraph.services.project_lock import holding_project
from peoplegraph.services.runtime import Runtime


def delete_project(runtime: Runtime, project: str) -> None:
    validate_project_name(project)
    with runtime.locks.hold(project):
        if project not in runtime.graph.projects():
            raise KeyError(f"no project {project!r}")
        record = runtime.graph.face_model(project)
        if record is not None and record[0] != runtime.vectors.model_id:
            raise ValueError(f"project {project!r} holds faces of the model {record[0]}: delete it with the pack "
                             "it was made with (--model-pack), so that its faces go too")
        runtime.media.drop_project(project)
        runtime.vectors.unbound.drop_project(project)
        runtime.bodies.drop_project(project)
        runtime.graph.drop_project(project)


@holding_project
def delete_photo(runtime: Runtime, project: str, photo_id: str) -> ClusteringReport:
    """The photo, its faces and bodies, the decisions about them and its media; the clusters it was in lose
    those faces. KeyError when the project has no such photo."""
    validate_project_name(project)
    if runtime.graph.pending_clustering(project):  # a dead action's work first: a delete cut short, say
        place_faces(runtime, project)
    if not runtime.graph.photos_by_id(project, [photo_id]):
        raise KeyError(f"no photo {photo_id[:80]!r} in project {project!r}")
    faces = runtime.vectors.faces_of_photo(project, photo_id)
    ids = [f.face_id for f in faces]
    bodies = [b.body_id for b in runtime.bodies.bodies(project, photo_ids=[photo_id])]
    clusters = {f.cluster_id for f in faces} - {UNCLUSTERED}
    placed = decide_and_place(runtime, project, lambda: runtime.graph.delete_photo(project, photo_id, ids + bodies),
                              (), clusters, delete=ids)
    runtime.bodies.delete_photos(project, [photo_id])
    runtime.media.drop_photo(project, photo_id, ids)
    return placed
