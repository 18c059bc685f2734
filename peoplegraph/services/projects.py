"""Deleting a project: everything of it in both stores and the media store.

The graph goes last: until it does, the project is still listed, and deleting it again finishes what a crash
interrupted."""

from __future__ import annotations

from peoplegraph.observations.model import validate_project_name
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
        runtime.graph.drop_project(project)
