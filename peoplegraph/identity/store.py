"""The `GraphStore` protocol: the subjective layer as the rest of the code sees it.

Written for two adapters: the embedded engine (default, a local file) and Neo4j (bolt:// or neo4j://).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from peoplegraph.identity.records import ActionRecord, ClusterRecord, FaceDecision, PersonRecord, PhotoRecord


class GraphStore(Protocol):
    def ensure_project(self, project: str) -> None: ...

    def projects(self) -> list[str]: ...

    def has_photo(self, project: str, photo_id: str) -> bool: ...

    def add_photo(self, photo: PhotoRecord) -> None:
        """Record a processed photo (idempotent by project + photo id)."""

    def add_photos(self, photos: Sequence[PhotoRecord]) -> None:
        """Record many processed photos in one transaction (idempotent; the project is created if missing)."""

    def photos(self, project: str, *, limit: int | None = None, offset: int = 0) -> list[PhotoRecord]: ...

    def photos_by_id(self, project: str, photo_ids: Sequence[str]) -> list[PhotoRecord]:
        """The project's photos among `photo_ids` (unknown ids left out)."""

    def photo_count(self, project: str) -> int: ...

    def replace_clusters(self, project: str, clusters: Sequence[ClusterRecord]) -> None:
        """Replace the project's machine clusters (and their SEEN_IN photo edges) in one transaction."""

    def clusters(self, project: str) -> list[ClusterRecord]: ...

    def add_person(self, project: str, person_id: str, name: str) -> PersonRecord: ...

    def set_born(self, project: str, person_id: str, born: str) -> None:
        """Set (or, with "", clear) a person's birth date, YYYY-MM-DD."""

    def link_cluster(self, project: str, cluster_id: int, person_id: str) -> None:
        """Name a cluster: its photos then show the person (APPEARS_IN)."""

    def people(self, project: str) -> list[PersonRecord]: ...

    def set_face_decisions(self, project: str, decisions: Sequence[FaceDecision], *, action: str = "") -> None:
        """Record the current decision about each face (replacing an earlier one), in one transaction; with
        `action` named, keep the decisions it replaces for `undo_last_action`."""

    def undo_last_action(self, project: str) -> ActionRecord | None:
        """Put back what the latest recorded action replaced; None when there is nothing to undo."""

    def face_decisions(self, project: str) -> dict[int, FaceDecision]:
        """The current decision about every decided face of the project, by face id."""

    def co_appearances(self, project: str, person_id: str) -> list[tuple[str, str, int]]:
        """The people who appear in photos with this person: (person id, name, photos together), most first."""

    def co_appearance_chain(self, project: str, first: str, last: str,
                            max_steps: int = 6) -> tuple[list[str], list[str]] | None:
        """The shortest chain of co-appearances between two people (person ids, linking photo ids), or None."""

    def photos_with_all(self, project: str, person_ids: Sequence[str]) -> list[PhotoRecord]:
        """The photos in which every one of these people appears, ordered by path."""

    def drop_project(self, project: str) -> None:
        """Delete the project and everything under it (photos, clusters, people)."""

    def close(self) -> None: ...
