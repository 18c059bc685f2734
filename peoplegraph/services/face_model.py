"""One face model per project: embeddings of two models are never compared.

A project is bound to the model of its first faces (the graph's Project node records the model id and its
embedding dimension). A process whose pack makes another model's embeddings is refused on that project,
reads included: clustering an empty collection would otherwise rewrite the project's clusters from
nothing. Projects made before the record existed are bound on first use when this model holds their faces,
and refused when their photos hold faces but none of this model's. `switch_face_model` moves a project to
another pack (services/reembed.py).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from peoplegraph.identity.store import GraphStore
from peoplegraph.observations.indexed import IndexedVectorStore
from peoplegraph.observations.model import FaceObservation

# IndexedVectorStore's calls whose first argument is a project
PROJECT_CALLS = frozenset({"project_faces", "rebuild_index", "set_clusters", "delete_faces", "faces_of_clusters",
                           "faces", "faces_by_id", "faces_of_photo", "count", "search"})


class ProjectFaceModelError(ValueError):
    """The project's faces were made by another face model than this process's pack."""


def mismatch_message(project: str, recorded: str, model_id: str, pack: str) -> str:
    return (f"project {project!r} holds faces of the model {recorded}, and the pack {pack!r} makes {model_id}: "
            "embeddings of two models are never compared. Use the pack the project was made with "
            f"(--model-pack / PEOPLEGRAPH_MODEL_PACK), or move the project to {pack!r} with "
            f"`peoplegraph --model-pack {pack} models switch --project {project}` (its faces re-embedded, every "
            "decision kept)")


class ModelBoundVectors:
    """The vector store of one face model, refusing the projects another model's faces are in."""

    def __init__(self, vectors: IndexedVectorStore, graph: GraphStore, pack: str) -> None:
        self.unbound = vectors  # for the switch, which writes a project's faces before it is bound
        self._graph = graph
        self._pack = pack
        self._bound: set[str] = set()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.unbound, name)
        if name not in PROJECT_CALLS:
            return attribute

        def checked(project: str, *args: Any, **kwargs: Any) -> Any:
            self.check(project)
            return attribute(project, *args, **kwargs)

        return checked

    def upsert(self, observations: Sequence[FaceObservation]) -> None:
        for project in {face.project for face in observations}:
            self.check(project, writing=True)
        self.unbound.upsert(observations)

    def drop_project(self, project: str) -> None:
        self.unbound.drop_project(project)
        with self._lock:
            self._bound.discard(project)

    def check(self, project: str, writing: bool = False) -> None:
        """Refuse a project bound to another model; bind an unbound one to this model when it writes faces
        (or, made before the record existed, already holds this model's faces)."""
        if project in self._bound:
            return
        model_id, dim = self.unbound.model_id, self.unbound.dim
        recorded = self._graph.face_model(project)
        if recorded is not None:
            if recorded[0] != model_id:
                raise ProjectFaceModelError(mismatch_message(project, recorded[0], model_id, self._pack))
        elif self.unbound.count(project):
            self._graph.set_face_model(project, model_id, dim)
        elif self._graph.face_total(project):
            raise ProjectFaceModelError(
                f"project {project!r} holds photos with faces but none of the model {model_id} (pack {self._pack!r}): it "
                "was made with another face model pack. Use that pack (--model-pack / PEOPLEGRAPH_MODEL_PACK); "
                "the project is then bound to it")
        elif writing:
            self._graph.set_face_model(project, model_id, dim)
        else:
            return  # nothing stored yet: bound by its first faces
        with self._lock:
            self._bound.add(project)
