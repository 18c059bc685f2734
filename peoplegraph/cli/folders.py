"""`peoplegraph enroll` and `peoplegraph sort`: the folder-per-person workflows (services/folders.py).

Both run through a running `peoplegraph serve` like every other command (cli/main.py forwards them, with
their paths resolved against the client's folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from peoplegraph.cli.common import Context, LocalPath, emit, project_command
from peoplegraph.services.folders import EnrollReport, SortReport, enroll, sort_folder
from peoplegraph.services.ingest import IngestReport


@click.command("enroll")
@click.argument("persons_dir", type=LocalPath(path_type=Path, file_okay=False, exists=True))
@project_command(actor=True)
def enroll_command(obj: Context, persons_dir: Path, project: str, actor: str, as_json: bool) -> None:
    """Make a confirmed person of each sub-folder of PERSONS_DIR (PERSONS_DIR/Ann_Lee/photo.jpg: "Ann Lee"):
    its photos are ingested and the person's face in each is confirmed (the one face, or the one face of a
    group photo that agrees with the folder's others). Photos without a face, faces that disagree with
    their folder and group photos where no single face agrees are reported. Enrolling again adds nothing."""
    with obj.runtime() as runtime:
        with tqdm(unit="photo", desc="enroll", file=sys.stderr, dynamic_ncols=True) as bar:
            def progress(current: IngestReport, total: int) -> None:
                bar.total = total
                bar.update(current.processed - bar.n)
                bar.set_postfix(faces=current.faces, skipped=len(current.skipped), refresh=False)

            report = enroll(runtime, project, persons_dir, actor=actor, progress=progress)
    emit(as_json, report.to_dict(), _enroll_text(report))


def _enroll_text(report: EnrollReport) -> str:
    lines = [f"{len(report.people)} people from {report.ingest.photos} photos "
             f"({report.ingest.new_photos} new, {report.ingest.faces} faces found)"]
    for p in report.people:
        who = f"{p.name} ({p.person_id}{', new' if p.created else ''})" if p.person_id else f"{p.name} (no person: no face confirmed)"
        lines.append(f"  {who}: {p.confirmed} of {p.photos} photos confirmed ({p.new} now)")
        for label, paths in (("no face", p.no_face), ("disagrees with the folder", p.disagreeing),
                             ("ambiguous (several faces, none or two agree)", p.ambiguous), ("conflict", p.conflicts)):
            lines += [f"    {label}: {path}" for path in paths]
    if report.ingest.skipped:
        lines.append(f"skipped: {len(report.ingest.skipped)}")
        lines += [f"  {s.path}: {s.reason}" for s in report.ingest.skipped]
    return "\n".join(lines)


@click.command("sort")
@click.argument("in_dir", type=LocalPath(path_type=Path, file_okay=False, exists=True))
@click.argument("out_dir", type=LocalPath(path_type=Path, dir_okay=True, file_okay=False))
@click.option("--move", is_flag=True, help="Move the photos instead of copying them (a group photo: copies into "
              "every person's folder but the last, moved there).")
@click.option("--dry-run", is_flag=True, help="Write nothing: print what would go where.")
@project_command()
def sort_command(obj: Context, in_dir: Path, out_dir: Path, project: str, move: bool, dry_run: bool,
                 as_json: bool) -> None:
    """Sort the photos under IN_DIR (recursively) into OUT_DIR/<person>/ for each confirmed person of the
    project recognised in them (one copy per person), OUT_DIR/Unknown/ (faces no one matched) and
    OUT_DIR/NoFace/. Nothing is added to the project. Never overwrites (a suffix instead); OUT_DIR/sort.csv
    lists what went where with scores, and a rerun skips the photos it lists."""
    with obj.runtime() as runtime:
        with tqdm(unit="photo", desc="sort", file=sys.stderr, dynamic_ncols=True) as bar:
            def progress(current: SortReport, total: int) -> None:
                bar.total = total
                bar.update(current.processed - bar.n)
                bar.set_postfix(people=sum(current.people.values()), unknown=current.unknown,
                                no_face=current.no_face, refresh=False)

            report = sort_folder(runtime, project, in_dir, out_dir, move=move, dry_run=dry_run, progress=progress)
    emit(as_json, report.to_dict(), _sort_text(report))


def _sort_text(report: SortReport) -> str:
    verb = "would be" if report.dry_run else "were"
    lines = []
    if report.dry_run:
        lines += [f"{r.source} -> {r.destination}" + (f"  ({r.person} {r.score:.3f})" if r.person else "")
                  for r in report.plan]
    lines += [f"photos sorted: {report.photos} ({report.copied} {verb} copied, {report.moved} moved; "
              f"threshold {report.threshold:.3f})",
              *(f"  {name}: {n}" for name, n in sorted(report.people.items())),
              f"  Unknown: {report.unknown}", f"  NoFace: {report.no_face}"]
    if report.already_sorted:
        lines.append(f"already sorted (listed in {report.csv}): {report.already_sorted}")
    if report.skipped:
        lines.append(f"skipped: {len(report.skipped)}")
        lines += [f"  {s.path}: {s.reason}" for s in report.skipped]
    if not report.dry_run:
        lines.append(f"what went where: {report.csv}")
    return "\n".join(lines)


COMMANDS = (enroll_command, sort_command)
