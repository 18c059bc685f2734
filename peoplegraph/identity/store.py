"""The `GraphStore` protocol: the subjective layer as the rest of the code sees it.

Written for two adapters: the embedded engine (default, a local file) and Neo4j (bolt:// or neo4j://).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from peoplegraph.identity.records import (
    MERGE_PEOPLE, ActionRecord, ApiKeyRecord, Appearance, ClusterRecord, EventRecord, FaceDecision, MembershipRecord,
    OrganisationRecord, PersonRecord, PhotoRecord, RelationRecord, ShareLinkRecord,
)


CLUSTER_STATUSES = ("all", "unnamed", "confirmed")  # a cluster named as a person (confirmed) or not


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

    def set_photo_paths(self, project: str, paths: Mapping[str, str]) -> None:
        """Record where photos are now (photo id -> path): their files were moved since they were ingested."""

    def set_body_model(self, project: str, photo_ids: Sequence[str], model_id: str) -> None:
        """Record that the body model `model_id` has looked for people in these photos."""

    def body_scanned(self, project: str, model_id: str) -> set[str]:
        """The photos the body model `model_id` has looked for people in."""

    def photo_count(self, project: str) -> int: ...

    def face_total(self, project: str) -> int:
        """The faces the project's photos were found to hold, by their records (whatever model found them)."""

    def replace_clusters(self, project: str, clusters: Sequence[ClusterRecord],
                         appearances: Sequence[Appearance] = (), *,
                         gone: Mapping[int, Sequence[int]] | None = None) -> None:
        """Replace the project's machine clusters (SEEN_IN edges, each record's person) and the APPEARS_IN
        edges, in one transaction; `gone`: the ids that went, each with some of its faces; clears the mark
        `mark_clustering` set."""

    def update_clusters(self, project: str, clusters: Sequence[ClusterRecord], *, removed: Sequence[int] = (),
                        faces: Sequence[tuple[str, int]] = (), appearances: Sequence[Appearance] = (),
                        gone: Mapping[int, Sequence[int]] | None = None) -> None:
        """Write what a partial run changed in one transaction: `clusters` replace those of their ids,
        `removed` ids go (`gone`: some faces of each), the APPEARS_IN edges of `faces` ((photo id, face id))
        become `appearances`; clears the mark `mark_clustering` set."""

    def highest_gone_cluster(self, project: str) -> int:
        """The highest id of a cluster a run removed, -1 when none."""

    def gone_cluster_faces(self, project: str, cluster_id: int) -> list[int] | None:
        """Some faces of a cluster a run removed; None when no run removed that id."""

    def mark_clustering(self, project: str, mode: str) -> None:
        """Mark a clustering run as started, before it writes the vector store."""

    def pending_clustering(self, project: str) -> str:
        """The mode of a clustering run that started and never wrote the graph, "" when none."""

    def face_model(self, project: str) -> tuple[str, int] | None:
        """The face model (id, embedding dimension) of the project's faces; None until its first faces."""

    def set_face_model(self, project: str, model_id: str, dim: int) -> None: ...

    def add_api_key(self, key: ApiKeyRecord, secret_hash: str) -> None: ...

    def api_keys(self, project: str | None = None) -> list[ApiKeyRecord]:
        """The keys of a project ("" : the admin keys), or every key when None; revoked ones included."""

    def api_key(self, key_id: str) -> tuple[ApiKeyRecord, str] | None:
        """The key and the sha256 of its secret, to compare with."""

    def revoke_api_key(self, key_id: str, when: str) -> None: ...

    def add_share_link(self, link: ShareLinkRecord, token_hash: str) -> None: ...

    def share_links(self, project: str) -> list[ShareLinkRecord]: ...

    def share_link(self, token_hash: str) -> ShareLinkRecord | None: ...

    def revoke_share_link(self, project: str, link_id: str, when: str) -> None: ...

    def clusters(self, project: str) -> list[ClusterRecord]: ...

    def cluster_page(self, project: str, status: str, limit: int, offset: int) -> tuple[list[ClusterRecord], int]:
        """A page of the clusters, largest first (then by id), of a CLUSTER_STATUSES status, and how many
        clusters have it: a review screen's list, read without reading every cluster."""

    def add_person(self, project: str, person_id: str, name: str) -> PersonRecord:
        """Create the person, or rename it when the id exists."""

    def update_person(self, person: PersonRecord, *, action: str = "", actor: str = "",
                      decided_at: str = "") -> PersonRecord:
        """Create the person or replace its editable fields (checked: the field is named in any error);
        undoable with `action` named."""

    def has_person(self, project: str, person_id: str) -> bool: ...

    def person(self, project: str, person_id: str) -> PersonRecord | None: ...

    def people(self, project: str) -> list[PersonRecord]: ...

    def merge_people(self, kept: PersonRecord, merged_id: str, decisions: Sequence[FaceDecision],
                     memberships: Sequence[MembershipRecord] | None = None, *, action: str = MERGE_PEOPLE,
                     actor: str = "", decided_at: str = "") -> None:
        """Fold one person into another in one undoable transaction (memberships and relations move)."""

    def set_face_decisions(self, project: str, decisions: Sequence[FaceDecision], *, action: str = "",
                           people: Sequence[PersonRecord] = (), cleared: Sequence[int] = (), actor: str = "",
                           decided_at: str = "") -> None:
        """Record the current decision about each face (replacing an earlier one), forget those of the
        `cleared` faces and write `people`, in one transaction; with `action` named, keep what they replace
        for `undo_last_action`."""

    def latest_action(self, project: str, *, replaced: bool = False) -> ActionRecord | None:
        """The action `undo_last_action` would undo, left in place (with `replaced`, the decisions it replaced
        too); None when there is none."""

    def actions(self, project: str) -> list[ActionRecord]:
        """Every action that can still be undone, first first, each with the decisions it replaced."""

    def undo_last_action(self, project: str) -> ActionRecord | None:
        """Put back what the latest recorded action replaced; None when there is nothing to undo."""

    def face_decisions(self, project: str, *, face_ids: Sequence[int] | None = None,
                       identities: Sequence[str] | None = None) -> dict[int, FaceDecision]:
        """The current decisions by face id: every one, or those about `face_ids` and those naming any of
        `identities` (confirmed, grouped, suggested or removed from)."""

    def ignored_face_ids(self, project: str) -> set[int]: ...

    def group_names(self, project: str) -> set[str]:
        """Every unnamed group any decision names."""

    def human_confirmations(self, project: str) -> dict[int, FaceDecision]:
        """The faces editors confirmed (or imported) as a person, by face id."""

    def add_organisation(self, organisation: OrganisationRecord) -> OrganisationRecord: ...

    def organisations(self, project: str) -> list[OrganisationRecord]: ...

    def add_membership(self, membership: MembershipRecord) -> None: ...

    def remove_membership(self, membership: MembershipRecord) -> None: ...

    def memberships(self, project: str, *, person_id: str = "", organisation_id: str = "", since: str = "",
                    until: str = "") -> list[MembershipRecord]:
        """A person's memberships, or an organisation's, overlapping the period since..until."""

    def add_relation(self, relation: RelationRecord) -> None: ...

    def remove_relation(self, relation: RelationRecord) -> None: ...

    def relations(self, project: str, person_id: str) -> list[RelationRecord]: ...

    def add_event(self, event: EventRecord) -> EventRecord: ...

    def events(self, project: str) -> list[EventRecord]: ...

    def set_photo_event(self, project: str, photo_ids: Sequence[str], event_id: str) -> int:
        """Photos TOOK_PLACE_AT an event ("" for none); returns how many of them the project has."""

    def event_photos(self, project: str, event_id: str) -> list[PhotoRecord]: ...

    def events_of_photos(self, project: str, photo_ids: Sequence[str]) -> dict[str, str]:
        """The event each of these photos took place at (photos at none left out)."""

    def photos_taken_between(self, project: str, start: str, end: str) -> list[PhotoRecord]:
        """The photos whose EXIF time (ISO 8601) lies from `start` to `end`, both included."""

    def person_photos(self, project: str, person_id: str, *, limit: int = 50,
                      offset: int = 0) -> list[tuple[PhotoRecord, list[Appearance]]]:
        """A page of a person's photos, each with the person's faces in it."""

    def people_photos(self, project: str, person_ids: Sequence[str], *, limit: int = 50,
                      offset: int = 0) -> dict[str, list[tuple[PhotoRecord, list[Appearance]]]]:
        """`person_photos` of each of these people, at once."""

    def person_events(self, project: str, person_id: str) -> list[tuple[EventRecord, int]]: ...

    def co_appearances(self, project: str, person_id: str, *, everyone: bool = False) -> list[tuple[str, str, int]]:
        """The people who appear in photos with this person: (person id, name, photos together), most first;
        hidden and private people only with `everyone`."""

    def co_appearance_chain(self, project: str, first: str, last: str,
                            max_steps: int = 6) -> tuple[list[str], list[str]] | None:
        """The shortest chain of co-appearances between two people (person ids, linking photo ids), or None."""

    def photos_with_all(self, project: str, person_ids: Sequence[str]) -> list[PhotoRecord]:
        """The photos in which every one of these people appears, ordered by path."""

    def delete_photo(self, project: str, photo_id: str, face_ids: Sequence[int]) -> None:
        """The photo (its appearances and event tags) and the decisions about its faces, in one transaction."""

    def drop_project(self, project: str) -> None:
        """Delete the project and everything under it (photos, clusters, people)."""

    def close(self) -> None: ...
