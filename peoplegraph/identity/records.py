"""Plain records that cross the `GraphStore` boundary."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PhotoRecord:
    project: str
    photo_id: str  # sha256 of the file's bytes
    path: str  # where it was first seen (file path or upload name)
    width: int
    height: int
    face_count: int
    taken_at: str = ""  # when the photo was taken (EXIF DateTimeOriginal, ISO 8601), "" unknown


@dataclass(frozen=True)
class ApiKeyRecord:
    """A key of the HTTP API (peoplegraph/access): the secret itself is never stored, only its sha256."""

    key_id: str  # the first 12 hex digits of the secret's sha256: how owners name a key
    name: str  # who holds it: the actor of every decision made with it
    project: str  # "" for an admin key (every project)
    role: str  # admin, owner, editor or viewer
    created_at: str
    revoked_at: str = ""


@dataclass(frozen=True)
class ShareLinkRecord:
    """A guest link to a project (or one event of it): the token itself is never stored, only its sha256."""

    link_id: str  # the first 12 hex digits of the token's sha256
    project: str
    event_id: str  # "" : the whole project
    created_by: str  # the name of the key that made it
    created_at: str
    expires_at: str = ""  # "" : never
    password: str = ""  # "scrypt$salt$hash" hex, "" : none
    revoked_at: str = ""
    album: tuple[str, ...] = ()  # photo ids: a link to these photos alone ("" event_id), empty: not an album


@dataclass(frozen=True)
class ClusterRecord:
    """A machine cluster: its faces live in the vector store (cluster id per face), its summary here."""

    project: str
    cluster_id: int
    size: int
    representative_face_id: int
    representative_photo_id: str
    representative_box: tuple[float, float, float, float]
    mean_confidence: float
    photo_ids: tuple[str, ...] = field(default=(), compare=False)  # distinct, sorted
    # faces of this cluster in each photo of photo_ids (same order); empty means one each
    faces_per_photo: tuple[int, ...] = field(default=(), compare=False)
    person_id: str | None = None


VISIBILITIES = ("normal", "hidden", "private")


@dataclass(frozen=True)
class PersonRecord:
    """A named person. `hidden` people are left out of lists and co-appearances unless asked for; `private`
    ones also keep their biography, notes, aliases, external ids and relations out of the API."""

    project: str
    person_id: str
    name: str
    cluster_ids: tuple[int, ...] = ()
    photo_count: int = 0
    born: str = ""  # birth date YYYY-MM-DD, "" unknown
    died: str = ""  # death date YYYY-MM-DD, "" unknown or alive
    aliases: tuple[str, ...] = ()
    biography: str = ""  # Markdown
    notes: str = ""  # the editors' own notes (merges record here what they set aside)
    external_ids: tuple[tuple[str, str], ...] = ()  # (source, id), e.g. ("wikidata", "Q76"), sorted
    visibility: str = "normal"  # one of VISIBILITIES


# The person fields an editor sets (`GraphStore.update_person`); the others are derived.
PERSON_FIELDS = ("name", "born", "died", "aliases", "biography", "notes", "external_ids", "visibility")


@dataclass(frozen=True)
class OrganisationRecord:
    """A team, club, company, band...: what people are MEMBER_OF."""

    project: str
    organisation_id: str
    name: str
    kind: str = ""  # free text: team, club, company...


@dataclass(frozen=True)
class MembershipRecord:
    """(Person)-[:MEMBER_OF]->(Organisation) for a period, in a role (a player's number, a position)."""

    project: str
    person_id: str
    organisation_id: str
    role: str = ""
    since: str = ""  # YYYY, YYYY-MM or YYYY-MM-DD; "" unknown
    until: str = ""  # same; "" still a member (or unknown)

    @property
    def same_as(self) -> tuple[str, str, str]:
        """What makes two memberships one (the store keeps one of each; its end may change)."""
        return self.organisation_id, self.role, self.since


RELATION_KINDS = ("parent", "child", "sibling", "spouse", "partner", "relative", "colleague", "teammate",
                  "friend", "other")
INVERSE_RELATION = {"parent": "child", "child": "parent"}  # the others read the same both ways


@dataclass(frozen=True)
class RelationRecord:
    """(Person)-[:RELATED_TO {kind}]->(Person): `person_id` is `kind` of `other_id` (a parent of...)."""

    project: str
    person_id: str
    other_id: str
    kind: str


@dataclass(frozen=True)
class EventRecord:
    """A match, a premiere, a wedding: photos TOOK_PLACE_AT it; it may be PART_OF a larger one."""

    project: str
    event_id: str
    name: str
    date: str = ""  # YYYY, YYYY-MM or YYYY-MM-DD; "" unknown
    place: str = ""
    part_of: str = ""  # the id of the larger event, "" none


@dataclass(frozen=True)
class Appearance:
    """(Person)-[:APPEARS_IN]->(Photo): one face of the person in the photo, and how it came to be named."""

    person_id: str
    photo_id: str
    face_id: int
    box: tuple[float, float, float, float]
    cluster_id: int
    method: str  # confirmed / auto / imported: the face's own decision; cluster: it joined a named cluster
    score: float | None = None  # the auto-matching score, for auto


MERGE_PEOPLE = "merge"  # the action that folds one person into another (`GraphStore.merge_people`)
# The actions about bodies (body matching and its review): their decisions are about body ids, not faces.
BODY_MATCH, ACCEPT_BODIES, REJECT_BODIES = "body-match", "accept bodies", "reject bodies"
BODY_ACTIONS = frozenset({BODY_MATCH, ACCEPT_BODIES, REJECT_BODIES})


@dataclass(frozen=True)
class ActionRecord:
    """An editor action (or an auto-matching run) as recorded for undo."""

    project: str
    seq: int  # 1, 2, ... in the order the actions were taken
    action: str
    actor: str
    decided_at: str
    face_ids: tuple[int, ...]  # body ids for an action `about_bodies`
    person_ids: tuple[str, ...] = ()  # the people it created, changed or merged away
    # the decision each face had before it (None: no decision); filled by `GraphStore.actions`, and by
    # `latest_action` when asked
    replaced: Mapping[int, FaceDecision | None] = field(default_factory=dict, compare=False)

    @property
    def about_bodies(self) -> bool:
        return self.action in BODY_ACTIONS


@dataclass(frozen=True)
class FaceDecision:
    """What a person (or the machine, with `method` auto) decided about one face: the current decision, by
    face id, so that no clustering run can undo it (engine/decisions.py turns these into constraints)."""

    face_id: int
    confirmed_as: str | None = None  # person id: this face is that person
    removed_from: frozenset[str] = frozenset()  # person ids: this face is not those people
    ignored: bool = False  # a background extra: never in a cluster
    suggested_as: str | None = None  # person id proposed by auto-matching, waiting in the review queue
    references: tuple[int, ...] = ()  # the confirmed faces an automatic match was scored against
    method: str = "confirmed"  # confirmed (a person decided), auto (matched), review (waiting), imported (read from a
    # photo's metadata, `source` names the file)
    actor: str = ""  # who decided
    score: float | None = None  # the match score, for auto decisions
    decided_at: str = ""  # ISO 8601, UTC
    # an unnamed individual ("group:N"): faces an editor put together (merge, split, remove) before anyone
    # named them; must-link like `confirmed_as`, and `removed_from` may name groups too
    grouped_as: str | None = None
    source: str = ""  # where an imported decision came from (the file it was read from); "" otherwise
    # body decisions (method `body`, about a body id): the cosine of the body's own face to the person's faces,
    # None when the body has no face or the decision is about a face
    face_score: float | None = None


def date_span(value: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day a date as people write it means (YYYY, YYYY-MM or YYYY-MM-DD, or the date of
    an ISO 8601 time); None when it is empty or not a date."""
    parts = value[:10].split("-")
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 1:
            return dt.date(numbers[0], 1, 1), dt.date(numbers[0], 12, 31)
        if len(numbers) == 2:
            return dt.date(numbers[0], numbers[1], 1), dt.date(numbers[0], numbers[1],
                                                              calendar.monthrange(numbers[0], numbers[1])[1])
        if len(numbers) == 3:
            day = dt.date(*numbers)
            return day, day
    except (ValueError, OverflowError, calendar.IllegalMonthError):
        pass
    return None


def outside_lifetime(taken_at: str, born: str, died: str) -> bool:
    """Whether a photo taken at `taken_at` surely falls before `born` or after `died` (compared as dates;
    an unknown date never excludes)."""
    taken, birth, death = date_span(taken_at), date_span(born), date_span(died)
    if taken is None:
        return False
    return (birth is not None and taken[1] < birth[0]) or (death is not None and taken[0] > death[1])


def now() -> str:
    """This moment in UTC, to the second, as decisions and backups record it (2026-11-27T21:35:00Z)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
