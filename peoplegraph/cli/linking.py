"""`peoplegraph clusters | faces | review | people | organisations | events | undo | repair`: the editor's
commands (all with `--json`), thin over linking/ and the graph store."""

from __future__ import annotations

from pathlib import Path

import click

from peoplegraph.cli.common import (
    Context, IdOf, LocalPath, clustering_text, clusters_table, emit, link, project_command,
)
from peoplegraph.identity.records import (
    RELATION_KINDS, VISIBILITIES, EventRecord, MembershipRecord, OrganisationRecord, RelationRecord,
)
from peoplegraph.linking import people as people_service
from peoplegraph.linking import service as linking
from peoplegraph.linking.repair import repair
from peoplegraph.observations.model import listed
from peoplegraph.services import catalog

FACES_ARGUMENT = click.argument("face_ids", nargs=-1, required=True, type=IdOf("face"))


@click.group()
def clusters() -> None:
    """The machine's clusters and what editors decide about them."""


@clusters.command("list")
@project_command()
def clusters_list(obj: Context, project: str, as_json: bool) -> None:
    """Clusters, largest first: id, size, representative face, average detection confidence."""
    with obj.runtime() as runtime:
        found = catalog.clusters(runtime, project)
    emit(as_json, [catalog.cluster_to_dict(c) for c in found], clusters_table(found))


@clusters.command("confirm")
@click.argument("cluster", type=int)
@click.option("--name", help="A new person's name.")
@click.option("--person", "person_id", help="An existing person's id (peoplegraph people list).")
@project_command(actor=True)
def clusters_confirm(obj: Context, cluster: int, project: str, name: str | None, person_id: str | None, actor: str,
                     as_json: bool) -> None:
    """Confirm a cluster as a person: every face of it is that person from now on, whatever later runs do."""
    link(obj, as_json, linking.confirm_cluster, project, cluster, name=name, person_id=person_id, actor=actor)


@clusters.command("ignore")
@click.argument("cluster", type=int)
@project_command(actor=True)
def clusters_ignore(obj: Context, cluster: int, project: str, actor: str, as_json: bool) -> None:
    """Ignore a cluster (background extras, crew): its faces never seed or join a cluster again."""
    link(obj, as_json, linking.ignore_cluster, project, cluster, actor=actor)


@clusters.command("merge")
@click.argument("cluster_ids", nargs=-1, required=True, type=int)
@project_command(actor=True)
def clusters_merge(obj: Context, cluster_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """Merge clusters (A B ...) into one: the person one is confirmed as, or an unnamed individual."""
    link(obj, as_json, linking.merge_clusters, project, cluster_ids, actor=actor)


@clusters.command("split")
@click.argument("cluster", type=int)
@click.option("--faces", "face_ids", multiple=True, required=True, type=IdOf("face"),
              help="A face to move out (repeat the option, or give several after one --faces).")
@project_command(actor=True)
def clusters_split(obj: Context, cluster: int, face_ids: tuple[int, ...], project: str, actor: str,
                   as_json: bool) -> None:
    """Split a cluster in two: the chosen faces become a cluster of their own, never joined to the rest."""
    link(obj, as_json, linking.split_cluster, project, cluster, face_ids, actor=actor)


@clusters.command("reset")
@click.argument("cluster", type=int, required=False)
@project_command(actor=True)
def clusters_reset(obj: Context, cluster: int | None, project: str, actor: str, as_json: bool) -> None:
    """Recompute the machine's work on one cluster (or, without CLUSTER, on every face); every confirmation,
    removal, merge, split and ignored cluster is kept."""
    link(obj, as_json, linking.reset, project, cluster, actor=actor)


@click.command("undo")
@project_command()
def undo_command(obj: Context, project: str, as_json: bool) -> None:
    """Undo the latest action (confirm, ignore, remove, merge, split, reset, review, person edit or merge,
    auto-matching run); again for the one before."""
    link(obj, as_json, linking.undo, project)


@click.command("repair")
@project_command()
def repair_command(obj: Context, project: str, as_json: bool) -> None:
    """Check that the vector store, the graph and the decisions agree (after a crash, say) and fix them."""
    with obj.runtime() as runtime:
        report = repair(runtime, project)
    text = "\n".join([*(f"found: {p}" for p in report.problems),
                      clustering_text(report.clustering) if report.clustering else f"{project}: the stores agree"])
    emit(as_json, report.to_dict(), text)


@click.group()
def faces() -> None:
    """Faces: take wrongly grouped faces out of their cluster; ignored faces."""


@faces.command("remove")
@FACES_ARGUMENT
@project_command(actor=True)
def faces_remove(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """Take faces out of their cluster: they never join its person (or, unnamed, its other faces) again."""
    link(obj, as_json, linking.remove_faces, project, face_ids, actor=actor)


@faces.command("ignored")
@project_command()
def faces_ignored(obj: Context, project: str, as_json: bool) -> None:
    """The faces editors ignored (background extras), most recently ignored first."""
    with obj.runtime() as runtime:
        found = linking.ignored_faces(runtime, project)
        photo_of = {f.face_id: f.photo_id for f in runtime.vectors.faces_by_id(project, [d.face_id for d in found])}
    rows = [{"face_id": d.face_id, "photo_id": photo_of.get(d.face_id), "actor": d.actor, "decided_at": d.decided_at}
            for d in found]
    emit(as_json, rows, "\n".join(f"{r['face_id']:>20} {str(r['photo_id'])[:12]} {r['actor']} {r['decided_at']}"
                                  for r in rows) or f"no ignored faces in {project}")


@faces.command("unignore")
@FACES_ARGUMENT
@project_command(actor=True)
def faces_unignore(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """Ignored faces may seed and join clusters again."""
    link(obj, as_json, linking.unignore_faces, project, face_ids, actor=actor)


@click.group()
def review() -> None:
    """The review queue: new faces auto-matching suggests for a person but did not tag on its own."""


@review.command("list")
@project_command()
def review_list(obj: Context, project: str, as_json: bool) -> None:
    """Queued faces, best score first: face, suggested person, score, the confirmed faces it was scored on."""
    with obj.runtime() as runtime:
        queued = linking.review_queue(runtime, project)
    rows = [f"{d.face_id:>20} {d.suggested_as:<24} {d.score:.3f}  {list(d.references)}" for d in queued]
    emit(as_json, [{"face_id": d.face_id, "person_id": d.suggested_as, "score": d.score,
                    "references": list(d.references)} for d in queued],
         "\n".join(rows) or f"the review queue of {project} is empty")


@review.command("accept")
@FACES_ARGUMENT
@project_command(actor=True)
def review_accept(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued faces are the person suggested for them."""
    link(obj, as_json, linking.review_faces, project, face_ids, accept=True, actor=actor)


@review.command("reject")
@FACES_ARGUMENT
@project_command(actor=True)
def review_reject(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued faces are not the person suggested for them (never suggested or matched to them again)."""
    link(obj, as_json, linking.review_faces, project, face_ids, accept=False, actor=actor)


@click.group()
def people() -> None:
    """Named people: list, show, edit, merge, memberships and relations."""


@people.command("list")
@click.option("--all", "everyone", is_flag=True, help="Hidden and private people too.")
@project_command()
def people_list(obj: Context, project: str, everyone: bool, as_json: bool) -> None:
    """The project's people: id, name, number of photos, clusters."""
    with obj.runtime() as runtime:
        found = [p for p in catalog.people(runtime, project) if everyone or p.visibility == "normal"]
    rows = [f"{p.person_id:<24} {p.name:<30} {p.photo_count:>6} photos, clusters {list(p.cluster_ids)}" for p in found]
    emit(as_json, [catalog.person_summary(p) for p in found], "\n".join(rows) or f"no people in {project} yet")


@people.command("show")
@click.argument("person_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(0, 10_000), help="Photos per page.")
@click.option("--offset", default=0, type=click.IntRange(0), help="Photos to skip (paging).")
@project_command()
def people_show(obj: Context, person_id: str, project: str, limit: int, offset: int, as_json: bool) -> None:
    """A person: biography, aliases, dates, ids, teams, relations, events, a page of photos (with the
    person's faces and how each was named) and who appears with them."""
    with obj.runtime() as runtime:
        page = catalog.person_page(runtime, project, person_id, limit=limit, offset=offset)
    emit(as_json, page, catalog.person_page_text(page))


@people.command("edit")
@click.argument("person_id")
@click.option("--name", help="The person's name.")
@click.option("--born", help="Birth date YYYY-MM-DD ('' clears it): photos taken before it are never auto-matched.")
@click.option("--died", help="Death date YYYY-MM-DD ('' clears it): photos taken after it are never auto-matched.")
@click.option("--bio-file", type=LocalPath(exists=True, dir_okay=False, path_type=Path),
              help="A Markdown file: the biography (UTF-8; an empty file clears it).")
@click.option("--notes", help="The editors' notes ('' clears them).")
@click.option("--alias", "aliases", multiple=True, help="Add an alias (repeatable).")
@click.option("--remove-alias", "removed_aliases", multiple=True, help="Remove an alias (repeatable).")
@click.option("--external-id", "external_ids", multiple=True, metavar="SOURCE=ID",
              help="An id elsewhere, e.g. wikidata=Q76 (repeatable; SOURCE= removes it).")
@click.option("--visibility", type=click.Choice(VISIBILITIES),
              help="hidden: left out of lists and co-appearances; private: also no biography, notes, aliases, "
                   "ids or relations through the API.")
@project_command(actor=True)
def people_edit(obj: Context, person_id: str, project: str, name: str | None, born: str | None, died: str | None,
                bio_file: Path | None, notes: str | None, aliases: tuple[str, ...], removed_aliases: tuple[str, ...],
                external_ids: tuple[str, ...], visibility: str | None, actor: str, as_json: bool) -> None:
    """Edit a person (undoable with `peoplegraph undo`)."""
    ids = {}
    for pair in external_ids:
        source, sep, value = pair.partition("=")
        if not sep or not source.strip():
            raise ValueError(f"--external-id: {pair!r} is not SOURCE=ID")
        ids[source.strip()] = value.strip()
    biography = None
    if bio_file is not None:
        try:
            biography = bio_file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"--bio-file: {bio_file} is not UTF-8 text ({exc.reason})") from None
    with obj.runtime() as runtime:
        person = people_service.edit_person(
            runtime, project, person_id, name=name, born=born, died=died, biography=biography, notes=notes,
            add_aliases=aliases, remove_aliases=removed_aliases, external_ids=ids, visibility=visibility,
            actor=actor)
    emit(as_json, catalog.person_details(person), catalog.person_text(person))


@people.command("merge")
@click.argument("kept_id")
@click.argument("merged_id")
@click.option("--prefer", help="Whose values win where the two disagree (KEPT_ID or MERGED_ID).")
@project_command(actor=True)
def people_merge(obj: Context, kept_id: str, merged_id: str, project: str, prefer: str | None, actor: str,
                 as_json: bool) -> None:
    """Merge MERGED_ID into KEPT_ID: names, aliases, biographies, notes, ids, memberships, relations and faces
    combined; refused, with the conflicts listed, until --prefer says whose values win."""
    link(obj, as_json, people_service.merge_people, project, kept_id, merged_id, prefer=prefer, actor=actor)


@people.command("join")
@click.argument("person_id")
@click.argument("organisation_id")
@click.option("--role", default="", help="E.g. 'No. 10, forward', 'drummer'.")
@click.option("--since", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--until", default="", help="YYYY, YYYY-MM or YYYY-MM-DD (none: still a member).")
@project_command()
def people_join(obj: Context, person_id: str, organisation_id: str, project: str, role: str, since: str, until: str,
                as_json: bool) -> None:
    """Record that a person is (or was) a member of an organisation or team, in a role, for a period."""
    membership = MembershipRecord(project, person_id, organisation_id, role, since, until)
    with obj.runtime() as runtime:
        runtime.graph.add_membership(membership)
    emit(as_json, catalog.membership_to_dict(membership),
         f"{person_id} member of {organisation_id} {role} {since or '?'}..{until or 'now'}")


@people.command("relate")
@click.argument("person_id")
@click.argument("kind", type=click.Choice(RELATION_KINDS))
@click.argument("other_id")
@project_command()
def people_relate(obj: Context, person_id: str, kind: str, other_id: str, project: str, as_json: bool) -> None:
    """Record that PERSON_ID is KIND of OTHER_ID (e.g. `ann parent bob`: Ann is Bob's parent)."""
    relation = RelationRecord(project, person_id, other_id, kind)
    with obj.runtime() as runtime:
        runtime.graph.add_relation(relation)
    emit(as_json, {"person_id": person_id, "kind": kind, "other_id": other_id}, f"{person_id} {kind} of {other_id}")


@click.group()
def organisations() -> None:
    """Organisations and teams people are members of."""


@organisations.command("add")
@click.argument("organisation_id")
@click.option("--name", required=True)
@click.option("--kind", default="", help="team, club, company, band...")
@project_command()
def organisations_add(obj: Context, organisation_id: str, project: str, name: str, kind: str, as_json: bool) -> None:
    """Create an organisation (or rename it)."""
    with obj.runtime() as runtime:
        runtime.graph.add_organisation(OrganisationRecord(project, organisation_id, name, kind))
    emit(as_json, {"id": organisation_id, "name": name, "kind": kind}, f"{organisation_id}: {name}")


@organisations.command("members")
@click.argument("organisation_id")
@click.option("--since", default="", help="Members at any time from this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--until", default="", help="... up to this date.")
@project_command()
def organisations_members(obj: Context, organisation_id: str, project: str, since: str, until: str,
                          as_json: bool) -> None:
    """The people who were members in a period, with their roles."""
    with obj.runtime() as runtime:
        _, members = catalog.members(runtime, project, organisation_id, since=since, until=until)
    found = [{**catalog.membership_to_dict(m), "name": person.name} for m, person in members]
    emit(as_json, found, "\n".join(f"{m['person_id']:<24} {m['name']:<30} {m['role']:<20} "
                                   f"{m['since'] or '?'}..{m['until'] or 'now'}" for m in found)
         or "no members in that period")


@click.group()
def events() -> None:
    """Events photos were taken at (a match, a premiere), possibly part of larger ones."""


@events.command("add")
@click.argument("event_id")
@click.option("--name", required=True)
@click.option("--date", default="", help="YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--place", default="")
@click.option("--part-of", default="", help="The id of a larger event.")
@project_command()
def events_add(obj: Context, event_id: str, project: str, name: str, date: str, place: str, part_of: str,
               as_json: bool) -> None:
    """Create an event (or change it)."""
    event = EventRecord(project, event_id, name, date, place, part_of)
    with obj.runtime() as runtime:
        runtime.graph.add_event(event)
    emit(as_json, catalog.event_to_dict(event), f"{event_id}: {name} {date} {place}")


@events.command("tag")
@click.argument("event_id")
@click.argument("photos", nargs=-1, required=True)
@project_command()
def events_tag(obj: Context, event_id: str, photos: tuple[str, ...], project: str, as_json: bool) -> None:
    """Say these photos were taken at the event: photo ids (or their first 8 or more characters), photo files,
    or folders of them (the project's photos in them: a folder per match or per wedding)."""
    with obj.runtime() as runtime:
        photo_ids, outside = catalog.photos_named(runtime, project, photos, obj.cwd)
        known = runtime.graph.set_photo_event(project, photo_ids, event_id)
    passed = (f"\n{len(outside)} photo file(s) in those folders are not in project {project!r} (ingest them, then "
              f"tag again): {listed(outside)}") if outside else ""
    emit(as_json, {"event_id": event_id, "photos": known, "not_in_project": outside},
         f"{known} photos at {event_id}{passed}")


GROUPS = (clusters, faces, review, people, organisations, events, undo_command, repair_command)
