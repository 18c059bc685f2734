"""Records to statement parameters and back, with the checks every written field passes (the field named
in each error)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from peoplegraph.identity.records import (
    INVERSE_RELATION, VISIBILITIES, FaceDecision, PersonRecord, PhotoRecord, RelationRecord, ShareLinkRecord,
)

WRITE_BATCH = 2000  # rows per UNWIND statement
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
NO_SCORE = -1.0  # stored for decisions without a score (the embedded dialect cannot type a null column)
NO_FACE_SCORE = -2.0  # the same for a body decision's face score, a cosine that may be -1
SEPARATOR = "\x1f"


def node_key(project: str, item: object) -> str:
    return f"{project}/{item}"


def batches(rows: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(rows), WRITE_BATCH):
        yield rows[start : start + WRITE_BATCH]


def decision_row(project: str, d: FaceDecision) -> dict[str, Any]:
    for person in [p for p in (d.confirmed_as, d.suggested_as, d.grouped_as) if p] + sorted(d.removed_from):
        checked_id(person)
    return {
        "key": node_key(project, int(d.face_id)), "face_id": int(d.face_id),
        "confirmed_as": d.confirmed_as or "", "removed_from": SEPARATOR.join(sorted(d.removed_from)),
        "ignored": bool(d.ignored), "suggested_as": d.suggested_as or "",
        "reference_faces": ",".join(str(int(f)) for f in d.references),
        "method": str(d.method), "actor": str(d.actor),
        "score": NO_SCORE if d.score is None else float(d.score), "decided_at": str(d.decided_at),
        "grouped_as": d.grouped_as or "", "source": str(d.source),
        "face_score": NO_FACE_SCORE if d.face_score is None else float(d.face_score),
    }


def decision_record(r: dict[str, Any]) -> FaceDecision:
    return FaceDecision(
        face_id=int(r["face_id"]), confirmed_as=r["confirmed_as"] or None,
        removed_from=frozenset(p for p in (r["removed_from"] or "").split(SEPARATOR) if p),
        ignored=bool(r["ignored"]), suggested_as=r["suggested_as"] or None,
        references=tuple(int(f) for f in (r["reference_faces"] or "").split(",") if f),
        method=r["method"], actor=r["actor"],
        score=None if r["score"] == NO_SCORE else float(r["score"]), decided_at=r["decided_at"],
        grouped_as=r.get("grouped_as") or None, source=r.get("source") or "",
        face_score=None if r.get("face_score") in (None, NO_FACE_SCORE) else float(r["face_score"]),
    )


def share_link_record(r: dict[str, Any]) -> ShareLinkRecord:
    return ShareLinkRecord(**{**r, "album": tuple(p for p in (r["album"] or "").split(",") if p)})


def photo_record(project: str, r: dict[str, Any]) -> PhotoRecord:
    return PhotoRecord(project, r["photo_id"], r["path"], int(r["width"]), int(r["height"]), int(r["face_count"]),
                       r["taken_at"] or "")


def checked_id(person_id: object, field: str = "person_id") -> str:
    if not isinstance(person_id, str) or not person_id.strip() or len(person_id) > 256:
        raise ValueError(f"{field}: must be a non-empty string of at most 256 characters, got {person_id!r}")
    return person_id


def checked_box(values: Sequence[float], what: str) -> list[float]:
    box = [float(v) for v in values]
    if len(box) != 4:
        raise ValueError(f"box: {what} needs 4 numbers, got {len(box)}")
    return box


def checked_text(value: object, field: str, *, limit: int = 1_000_000, empty: bool = True) -> str:
    if not isinstance(value, str) or len(value) > limit or (not empty and not value.strip()):
        raise ValueError(f"{field}: must be {'a' if empty else 'a non-empty'} string of at most {limit} "
                         f"characters, got {str(value)[:40]!r}")
    return value


def checked_date(value: str, field: str, *, partial: bool = False) -> str:
    """A date YYYY-MM-DD (or, `partial`, YYYY or YYYY-MM too), "" for unknown."""
    if value == "":
        return value
    pattern = _PARTIAL_DATE if partial else _DATE
    ok = isinstance(value, str) and pattern.fullmatch(value)
    if ok:
        try:  # a real month and day
            dt.date.fromisoformat((value + "-01-01")[:10] if len(value) < 10 else value)
        except ValueError:
            ok = None
    if not ok:
        shape = "YYYY, YYYY-MM or YYYY-MM-DD" if partial else "YYYY-MM-DD"
        raise ValueError(f"{field}: {value!r} is not a date {shape}")
    return value


def date_bound(value: str, *, upper: bool) -> str:
    """A partial date as the first (or last) day it can mean, comparable as text; "" is open-ended."""
    if not value:
        return "9999-99-99" if upper else "0000-00-00"
    return value + ("-99" if upper else "-00") * ((10 - len(value)) // 3)


def person_row(person: PersonRecord) -> dict[str, Any]:
    checked_id(person.person_id)
    checked_text(person.name, "name", limit=1000, empty=False)
    checked_date(person.born, "born")
    checked_date(person.died, "died")
    if person.born and person.died and person.died < person.born:
        raise ValueError(f"died: {person.died} is before born {person.born}")
    for alias in person.aliases:
        checked_text(alias, "aliases", limit=1000, empty=False)
        if SEPARATOR in alias:
            raise ValueError("aliases: must not contain control characters")
    for source, identifier in person.external_ids:
        checked_text(source, "external_ids", limit=100, empty=False)
        checked_text(identifier, "external_ids", limit=1000, empty=False)
    if len({source for source, _ in person.external_ids}) != len(person.external_ids):
        raise ValueError("external_ids: one id per source")
    if person.visibility not in VISIBILITIES:
        raise ValueError(f"visibility: {person.visibility!r} is not one of {', '.join(VISIBILITIES)}")
    return {
        "person_id": person.person_id, "name": person.name.strip(), "born": person.born, "died": person.died,
        "aliases": SEPARATOR.join(dict.fromkeys(a.strip() for a in person.aliases)),
        "biography": checked_text(person.biography, "biography"), "notes": checked_text(person.notes, "notes"),
        "external_ids": json.dumps(sorted(person.external_ids)), "visibility": person.visibility,
    }


def stored_way(relation: RelationRecord) -> RelationRecord:
    """Kinds with an inverse are stored one way only ("a is parent of b", never also "b is child of a")."""
    if relation.kind in INVERSE_RELATION and relation.kind != "parent":
        return replace(relation, person_id=relation.other_id, other_id=relation.person_id,
                       kind=INVERSE_RELATION[relation.kind])
    return relation


def person_record(project: str, r: dict[str, Any], cluster_ids: tuple[int, ...] = (), photo_count: int = 0) -> PersonRecord:
    return PersonRecord(
        project=project, person_id=r["person_id"], name=r["name"], cluster_ids=cluster_ids, photo_count=photo_count,
        born=r["born"] or "", died=r["died"] or "", aliases=tuple(a for a in (r["aliases"] or "").split(SEPARATOR) if a),
        biography=r["biography"] or "", notes=r["notes"] or "",
        external_ids=tuple(tuple(pair) for pair in json.loads(r["external_ids"] or "[]")),  # type: ignore[misc]
        visibility=r["visibility"] or "normal",
    )
