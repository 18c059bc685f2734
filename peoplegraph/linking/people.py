"""Editing and merging people: the subjective layer's own actions, undoable like the linking ones.

A merge folds one person into another and drops nothing silently: the name of the person merged away
becomes an alias, aliases and external ids are combined, biographies and notes are kept one after the
other, memberships and relations move over, and every face decision naming the merged person names the
kept one. Where the two disagree (birth or death dates, an id from the same source, a face confirmed as
one and removed from the other) the merge is refused with the conflicts listed, until the editor says
whose values win (`prefer`); the values set aside are written into the kept person's notes. Two
memberships of the same organisation, role and start that end differently are a conflict too. Visibility
takes the more restrictive of the two (a person who asked to be private stays private).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from peoplegraph.identity.records import VISIBILITIES, FaceDecision, PersonRecord
from peoplegraph.identity.records import now
from peoplegraph.linking.service import LinkingResult, decisions_around, existing_person, settled
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services.clustering import named_groups, place_faces
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.project_lock import holding_project


class MergeConflictError(ValueError):
    """The two people disagree; `conflicts` lists (field, kept value, merged value)."""

    def __init__(self, kept: PersonRecord, merged: PersonRecord, conflicts: list[dict[str, str]]) -> None:
        self.conflicts = conflicts
        lines = "; ".join(f"{c['field']}: {kept.person_id} has {c['kept']!r}, {merged.person_id} has {c['merged']!r}"
                          for c in conflicts)
        super().__init__(f"merge: {kept.person_id} and {merged.person_id} disagree ({lines}); say whose values "
                         f"win with --prefer {kept.person_id} or --prefer {merged.person_id}")


@holding_project
def edit_person(runtime: Runtime, project: str, person_id: str, *, name: str | None = None, born: str | None = None,
                died: str | None = None, biography: str | None = None, notes: str | None = None,
                add_aliases: Sequence[str] = (), remove_aliases: Sequence[str] = (),
                external_ids: Mapping[str, str] | None = None, visibility: str | None = None,
                actor: str = "") -> PersonRecord:
    """Change the named fields (None leaves a field as it is; "" clears a date, biography or notes; an
    external id "" removes that source). Undoable (`peoplegraph undo`)."""
    validate_project_name(project)
    person = existing_person(runtime, project, person_id)
    missing = [a for a in remove_aliases if a not in person.aliases]
    if missing:
        raise ValueError(f"alias: {person_id} has no alias {', '.join(map(repr, missing))}")
    ids = dict(person.external_ids)
    for source, value in (external_ids or {}).items():
        if value:
            ids[source] = value
        else:
            ids.pop(source, None)
    changed = replace(
        person,
        name=person.name if name is None else name,
        born=person.born if born is None else born,
        died=person.died if died is None else died,
        biography=person.biography if biography is None else biography,
        notes=person.notes if notes is None else notes,
        aliases=tuple(dict.fromkeys([a for a in person.aliases if a not in remove_aliases] + list(add_aliases))),
        external_ids=tuple(sorted(ids.items())),
        visibility=person.visibility if visibility is None else visibility,
    )
    return runtime.graph.update_person(changed, action="edit", actor=actor, decided_at=now())


@holding_project
def merge_people(runtime: Runtime, project: str, kept_id: str, merged_id: str, *, prefer: str | None = None,
                 actor: str = "") -> LinkingResult:
    """Fold `merged_id` into `kept_id` (see the module's rules); refused with `MergeConflictError` while
    the two disagree and `prefer` does not say whose values win."""
    validate_project_name(project)
    if kept_id == merged_id:
        raise ValueError("merge: name two different people")
    kept, merged = existing_person(runtime, project, kept_id), existing_person(runtime, project, merged_id)
    if prefer not in (None, kept_id, merged_id):
        raise ValueError(f"prefer: must be {kept_id!r} or {merged_id!r}, got {prefer!r}")
    decisions = decisions_around(runtime, project, [], kept_id, merged_id)
    theirs = [replace(m, person_id=kept_id) for m in runtime.graph.memberships(project, person_id=merged_id)]
    mine = {m.same_as: m for m in runtime.graph.memberships(project, person_id=kept_id)}
    clashes = [m for m in theirs if m.same_as in mine and mine[m.same_as].until != m.until]
    conflicts = _conflicts(kept, merged, decisions) + [
        {"field": f"membership {m.organisation_id} {m.role!r} since {m.since or '?'}: until",
         "kept": mine[m.same_as].until, "merged": m.until} for m in clashes]
    if conflicts and prefer is None:
        raise MergeConflictError(kept, merged, conflicts)
    stamp = now()
    winner = merged if prefer == merged_id else kept
    combined = _combined(kept, merged, conflicts, winner=winner, stamp=stamp)
    moved = [m for m in theirs if winner is merged or m not in clashes]
    renamed = settled(decisions, renamed={merged_id: kept_id})
    runtime.graph.merge_people(combined, merged_id, renamed, moved, actor=actor, decided_at=stamp)
    return LinkingResult("merge people", project, [d.face_id for d in renamed], kept_id,
                         place_faces(runtime, project, [d.face_id for d in renamed]), conflicts)


def _conflicts(kept: PersonRecord, merged: PersonRecord, decisions: Mapping[int, FaceDecision]) -> list[dict[str, str]]:
    out = [{"field": f, "kept": getattr(kept, f), "merged": getattr(merged, f)} for f in ("born", "died")
           if getattr(kept, f) and getattr(merged, f) and getattr(kept, f) != getattr(merged, f)]
    born, died = kept.born or merged.born, kept.died or merged.died
    if not out and born and died and died < born:  # each has half of an impossible life
        out.append({"field": "lifetime", "kept": f"{kept.born or '?'}..{kept.died or '?'}",
                    "merged": f"{merged.born or '?'}..{merged.died or '?'}"})
    theirs = dict(merged.external_ids)
    out += [{"field": f"external_ids.{source}", "kept": value, "merged": theirs[source]}
            for source, value in kept.external_ids if theirs.get(source, value) != value]
    named = named_groups(decisions.values())
    for d in decisions.values():
        not_them = {named.get(p, p) for p in d.removed_from}  # removed from a group named as them: not them
        for a, b in ((kept, merged), (merged, kept)):
            if d.confirmed_as == a.person_id and b.person_id in not_them:
                out.append({"field": f"face {d.face_id}", "kept": "confirmed" if a is kept else "removed",
                            "merged": "confirmed" if a is merged else "removed"})
    return out


def _combined(kept: PersonRecord, merged: PersonRecord, conflicts: list[dict[str, str]], *, winner: PersonRecord,
              stamp: str) -> PersonRecord:
    values = {f: getattr(kept, f) or getattr(merged, f) for f in ("born", "died")}
    ids = dict(merged.external_ids) | dict(kept.external_ids)
    set_aside = []
    for c in conflicts:
        field = c["field"]
        chosen, other = (c["kept"], c["merged"]) if winner is kept else (c["merged"], c["kept"])
        if field == "lifetime":  # the winner's dates both, the other's set aside
            values = {f: getattr(winner, f) for f in ("born", "died")}
        elif field in values:
            values[field] = chosen
        elif field.startswith("external_ids."):
            ids[field.split(".", 1)[1]] = chosen
        elif field.startswith("membership "):
            pass  # the store keeps the winner's period (merge_people chose which memberships move)
        else:  # a face: the confirmation stands, the removal goes
            chosen, other = "confirmed", "removed"
        set_aside.append(f"{field} {other} (kept {chosen})")
    notes = _joined(kept.notes, merged.notes, merged)
    if set_aside:
        notes = (notes + "\n\n" if notes else "") + (f"Merged {merged.name} ({merged.person_id}) in on {stamp}; set "
                                                      f"aside: {'; '.join(set_aside)}.")
    return replace(
        kept, **values, external_ids=tuple(sorted(ids.items())), notes=notes,
        aliases=tuple(a for a in dict.fromkeys([*kept.aliases, merged.name, *merged.aliases]) if a != kept.name),
        biography=_joined(kept.biography, merged.biography, merged),
        visibility=max(kept.visibility, merged.visibility, key=VISIBILITIES.index),
    )


def _joined(mine: str, theirs: str, merged: PersonRecord) -> str:
    """Two texts kept one after the other, the second under a line naming where it came from."""
    if not theirs.strip() or theirs.strip() == mine.strip():
        return mine
    if not mine.strip():
        return theirs
    return f"{mine.rstrip()}\n\n---\n\n*From {merged.name} ({merged.person_id}):*\n\n{theirs.strip()}\n"
