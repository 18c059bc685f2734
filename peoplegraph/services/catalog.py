"""Read-side queries shared by the CLI, the REST API and GraphQL."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from peoplegraph.engine.quality import flags_from_bits
from peoplegraph.identity.records import (
    ClusterRecord, EventRecord, MembershipRecord, OrganisationRecord, PersonRecord, PhotoRecord,
)
from peoplegraph.linking.bodies import body_appearances
from peoplegraph.linking.service import existing_project
from peoplegraph.engine.decode import read_photo_file, sha256_of
from peoplegraph.observations.model import UNKNOWN_AGE, FaceObservation, listed, validate_project_name
from peoplegraph.services.ingest import UNREADABLE_FOLDER, SkippedFile, walk_images
from peoplegraph.services.runtime import Runtime


def clusters(runtime: Runtime, project: str) -> list[ClusterRecord]:
    existing_project(runtime, project)
    return sorted(runtime.graph.clusters(project), key=lambda c: (-c.size, c.cluster_id))


def cluster_page(runtime: Runtime, project: str, status: str, limit: int, offset: int) -> tuple[list[ClusterRecord], int]:
    """A page of clusters, largest first, `status` all, unnamed or confirmed; and the total of that status."""
    validate_project_name(project)
    return runtime.graph.cluster_page(project, status, limit, offset)


def cluster_face_page(runtime: Runtime, project: str, cluster_id: int, limit: int, offset: int
                      ) -> tuple[list[FaceObservation], int]:
    """A page of a cluster's faces (by face id) and how many it has: only the page is read from the store."""
    validate_project_name(project)
    faces = runtime.vectors.project_faces(project)
    members = np.sort(faces.face_ids[faces.members([cluster_id])])
    return runtime.vectors.faces_by_id(project, members[offset:offset + limit].tolist()), len(members)


def people(runtime: Runtime, project: str, search: str = "") -> list[PersonRecord]:
    """The project's people by name; with `search`, those whose name or an alias holds it (any case)."""
    existing_project(runtime, project)
    found = runtime.graph.people(project)
    wanted = search.strip().casefold()
    if not wanted:
        return found
    return [p for p in found if any(wanted in n.casefold() for n in (p.name, *p.aliases))]


def photos(runtime: Runtime, project: str, limit: int, offset: int) -> list[PhotoRecord]:
    validate_project_name(project)
    return runtime.graph.photos(project, limit=limit, offset=offset)


PHOTO_ID_PREFIX = 8  # characters of a photo id that may name it, when no other photo's id starts with them


def photos_named(runtime: Runtime, project: str, names: Sequence[str],
                 cwd: Path | None = None) -> tuple[list[str], list[str]]:
    """The ids of the photos these name: a photo id, the start of one (at least PHOTO_ID_PREFIX characters,
    as `reid appearances` prints them), a photo file, or a folder of them (its photos the project has: by the
    path they were ingested from, else by their bytes), relative to `cwd`; and the photo files in those
    folders that are not the project's (not ingested yet). ValueError naming each name that is none of
    these, or names no photo of the project (nothing is named then)."""
    existing_project(runtime, project)
    every = runtime.graph.photos(project)
    ids = sorted(p.photo_id for p in every)
    known, by_path = set(ids), {p.path: p.photo_id for p in every}
    found, unknown, outside = [], [], []
    for name in names:
        if not name.strip():  # an unset "$DIR" in a script: never the whole folder
            unknown.append("'' (an empty name)")
            continue
        path = Path(name) if Path(name).is_absolute() else (cwd or Path.cwd()) / name
        if path.exists():
            passed: list[SkippedFile] = []  # other formats beside the photos (a clip, notes), and unreadable folders
            files = [path] if path.is_file() else list(walk_images(path, passed))  # as ingest walks it
            unreadable = [p for p in passed if p.reason.startswith(UNREADABLE_FOLDER)]
            if unreadable:
                unknown.append(f"{name} ({unreadable[0].path}: {unreadable[0].reason})")
                continue
            of_file = {f: _photo_of_file(f, by_path, known, runtime.settings.max_file_bytes) for f in files}
            named = [n for n in of_file.values() if n]
            if not named:
                unknown.append(f"{name} (no photo of the project {'is' if path.is_file() else 'is in'} it)")
            found += named
            outside += [str(f) for f, n in of_file.items() if n is None]
            continue
        prefix = name.strip().lower()  # photo ids are lower-case hex
        start = bisect.bisect_left(ids, prefix)
        matching = [i for i in ids[start:start + 2] if i.startswith(prefix)]
        if len(matching) == 1 and len(prefix) >= PHOTO_ID_PREFIX:
            found.append(matching[0])
        else:
            unknown.append(f"{name} (" + ("the start of more than one photo id" if len(matching) > 1 else
                                          f"too short: give {PHOTO_ID_PREFIX} or more characters of a photo id"
                                          if matching else "no such photo or file") + ")")
    if unknown:
        raise ValueError(f"photos: {listed(unknown)} in project {project!r}: nothing was changed")
    return list(dict.fromkeys(found)), outside


def _photo_of_file(path: Path, by_path: dict[str, str], ids: set[str], max_bytes: int) -> str | None:
    known = by_path.get(str(path.resolve())) or by_path.get(str(path))
    if known is not None:
        return known
    try:
        digest = sha256_of(read_photo_file(path, str(path), max_bytes))
    except (OSError, ValueError):  # not readable, or too large to be a photo of the project
        return None
    return digest if digest in ids else None


def faces_of_photo(runtime: Runtime, project: str, photo_id: str) -> list[FaceObservation]:
    validate_project_name(project)
    return runtime.vectors.faces_of_photo(project, photo_id)


def faces(runtime: Runtime, project: str) -> list[FaceObservation]:
    validate_project_name(project)
    return runtime.vectors.faces(project)


def cluster_to_dict(cluster: ClusterRecord) -> dict:
    """The cluster as JSON: face ids as strings (63-bit: a browser's numbers would round them), confidence
    0-100 as a face's."""
    return {
        "id": cluster.cluster_id,
        "size": cluster.size,
        "representative": {
            "face_id": str(cluster.representative_face_id),
            "photo_id": cluster.representative_photo_id,
            "box": list(cluster.representative_box),
        },
        "mean_confidence": round(100 * cluster.mean_confidence, 2),
        "photos": len(cluster.photo_ids),
        "person_id": cluster.person_id,
    }


def cluster_quality(runtime: Runtime, project: str, cluster_ids: Sequence[int]) -> dict[int, dict]:
    """For each cluster: its faces' mean quality score (0-100) and how many are under the seed threshold
    (blurred, tiny, turned away: they may join a cluster, never start one), from the face index."""
    faces = runtime.vectors.project_faces(project)
    rows = faces.members(cluster_ids)
    found, group = np.unique(faces.cluster_ids[rows], return_inverse=True)
    quality = faces.quality[rows].astype(np.float64)
    counts = np.bincount(group, minlength=found.size)
    sums = np.bincount(group, weights=quality, minlength=found.size)
    low = np.bincount(group, weights=quality < runtime.settings.cluster_seed_min_quality, minlength=found.size)
    return {int(c): {"mean_quality": round(float(s / n), 1), "low_quality_faces": int(lo)}
            for c, s, n, lo in zip(found.tolist(), sums, counts, low)}


def face_to_dict(face: FaceObservation) -> dict:
    return {
        "face_id": str(face.face_id),  # 63-bit: a string, as everywhere ids leave peoplegraph
        "photo_id": face.photo_id,
        "box": [round(v, 1) for v in face.box],
        "landmarks": [round(v, 1) for v in face.landmarks],
        "confidence": round(face.det_score * 100, 1),
        "cluster_id": face.cluster_id,
        "pose": {"yaw": round(face.yaw, 1), "pitch": round(face.pitch, 1), "roll": round(face.roll, 1)},
        "quality": {"score": round(face.quality_score, 1), **flags_from_bits(face.quality_flags)},
        "age": None if face.age == UNKNOWN_AGE else round(face.age, 1),
    }


def person_summary(person: PersonRecord) -> dict:
    return {"id": person.person_id, "name": person.name, "born": person.born or None,
            "clusters": list(person.cluster_ids), "photos": person.photo_count, "visibility": person.visibility}


def person_details(person: PersonRecord) -> dict:
    return {**person_summary(person), "died": person.died or None, "aliases": list(person.aliases),
            "biography": person.biography, "notes": person.notes, "external_ids": dict(person.external_ids)}


def person_text(person: PersonRecord) -> str:
    life = f"{person.born or '?'}..{person.died or ''}" if person.born or person.died else "dates unknown"
    lines = [f"{person.name} ({person.person_id}), {life}, {person.visibility}"]
    if person.aliases:
        lines.append("also known as: " + ", ".join(person.aliases))
    if person.external_ids:
        lines.append("ids: " + ", ".join(f"{s}={i}" for s, i in person.external_ids))
    if person.biography:
        lines += ["", person.biography.rstrip()]
    if person.notes:
        lines += ["", "notes: " + person.notes.rstrip()]
    return "\n".join(lines)


def membership_to_dict(m: MembershipRecord) -> dict:
    return {"person_id": m.person_id, "organisation_id": m.organisation_id, "role": m.role, "since": m.since,
            "until": m.until}


def event_to_dict(e: EventRecord) -> dict:
    return {"id": e.event_id, "name": e.name, "date": e.date, "place": e.place, "part_of": e.part_of or None}


def members(runtime: Runtime, project: str, organisation_id: str, *, since: str = "",
            until: str = "") -> tuple[OrganisationRecord, list[tuple[MembershipRecord, PersonRecord]]]:
    """An organisation and its members whose membership overlaps since..until, each with the person."""
    validate_project_name(project)
    organisation = next((o for o in runtime.graph.organisations(project) if o.organisation_id == organisation_id),
                        None)
    if organisation is None:
        raise ValueError(f"organisation: no organisation {organisation_id!r} in project {project!r}")
    people = {p.person_id: p for p in runtime.graph.people(project)}
    found = runtime.graph.memberships(project, organisation_id=organisation_id, since=since, until=until)
    return organisation, [(m, people[m.person_id]) for m in found if m.person_id in people]


def person_page(runtime: Runtime, project: str, person_id: str, *, limit: int = 50, offset: int = 0) -> dict:
    """Everything known about a person, with one page of their photos: what `people show` prints."""
    validate_project_name(project)
    graph = runtime.graph
    person = graph.person(project, person_id)
    if person is None:
        raise ValueError(f"person: no person {person_id!r} in project {project!r}")
    organisations = {o.organisation_id: o for o in graph.organisations(project)}
    found_by_body = body_appearances(runtime, project, person_id, status="all")
    return {
        **person_details(person),
        "photo_count": person.photo_count,  # "photos" is the page of them below
        "memberships": [{**membership_to_dict(m), "organisation": organisations[m.organisation_id].name}
                        for m in graph.memberships(project, person_id=person_id)],
        "relations": [{"person_id": r.person_id, "kind": r.kind, "other_id": r.other_id}
                      for r in graph.relations(project, person_id)],
        "events": [{**event_to_dict(e), "photos": n} for e, n in graph.person_events(project, person_id)],
        "photos": [{"photo_id": p.photo_id, "path": p.path, "taken_at": p.taken_at or None,
                    "faces": [{"face_id": str(a.face_id), "box": list(a.box), "cluster_id": a.cluster_id,
                               "method": a.method, "score": a.score} for a in faces]}
                   for p, faces in graph.person_photos(project, person_id, limit=limit, offset=offset)],
        "photos_offset": offset,
        "appears_with": [{"id": p, "name": n, "photos": k}
                         for p, n, k in graph.co_appearances(project, person_id)],  # hidden people left out
        # apart from the photos above (found by face): where their body was found, and what waits for review
        "found_by_body": {status: sum(a.status == status for a in found_by_body) for status in ("tagged", "queued")},
    }


def person_page_text(page: dict) -> str:
    person = PersonRecord("", page["id"], page["name"], tuple(page["clusters"]), page["photo_count"], page["born"] or "",
                          page["died"] or "", tuple(page["aliases"]), page["biography"], page["notes"],
                          tuple(page["external_ids"].items()), page["visibility"])
    lines = [person_text(person), f"clusters {page['clusters']}, {page['photo_count']} photos"]
    lines += [f"member of {m['organisation']} ({m['organisation_id']}) {m['role']} {m['since'] or '?'}.."
              f"{m['until'] or 'now'}" for m in page["memberships"]]
    lines += [f"{r['person_id']} is {r['kind']} of {r['other_id']}" for r in page["relations"]]
    lines += [f"at {e['name']} ({e['id']}) {e['date']}: {e['photos']} photos" for e in page["events"]]
    first = page["photos_offset"] + 1
    lines.append(f"photos {first}..{first + len(page['photos']) - 1}:" if page["photos"] else "no photos on this page")
    lines += [f"  {p['path']}  faces " + ", ".join(f"{f['face_id']} ({f['method']})" for f in p["faces"])
              for p in page["photos"]]
    lines.append("appears with:")
    lines += [f"  {a['name']} ({a['id']}): {a['photos']} photos" for a in page["appears_with"]]
    body = page["found_by_body"]
    if body["tagged"] or body["queued"]:
        lines.append(f"found by body (apart from the photos above): {body['tagged']} tagged, {body['queued']} waiting "
                     f"for review (peoplegraph reid appearances --person {page['id']})")
    return "\n".join(lines)
