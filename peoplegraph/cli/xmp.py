"""`peoplegraph xmp export`, and how `peoplegraph ingest` reports the names it read (services/xmp.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tqdm import tqdm

from peoplegraph.cli.common import Context, LocalPath, emit, project_command
from peoplegraph.services.xmp import MetadataImport, XmpExport, export_xmp


@click.group("xmp")
def xmp_group() -> None:
    """The people of photos as XMP (MWG face regions, PersonInImage, digiKam and Lightroom keywords)."""


@xmp_group.command("export")
@click.option("--person", "person_id", default=None, help="Only the photos of this person (id).")
@click.option("--to", "to", type=LocalPath(path_type=Path, file_okay=False), default=None,
              help="Write into this folder instead of beside the originals.")
@click.option("--embed", is_flag=True, help="Embed into a copy of each JPEG in --to instead of writing a sidecar "
              "(originals are never changed).")
@project_command()
def export_command(obj: Context, person_id: str | None, to: Path | None, embed: bool, project: str,
                   as_json: bool) -> None:
    """Write the named people of every photo (or of one person's photos) as XMP: merged into the sidecar
    beside the original (the one there is; else PEOPLEGRAPH_XMP_SIDECAR names it photo.jpg.xmp or
    photo.xmp) without dropping its other fields. Hidden and private people are never written."""
    with obj.runtime() as runtime, tqdm(unit="photo", desc="xmp", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = export_xmp(runtime, project, person_id=person_id, to=to, embed=embed, progress=progress)
    emit(as_json, report.to_dict(), _export_text(report, embed))


def _export_text(report: XmpExport, embed: bool) -> str:
    lines = [f"{report.photos} photos with named people: {len(report.written)} "
             f"{'copies' if embed else 'sidecars'} written, {len(report.skipped)} skipped"
             + (f"; {len(report.cleared)} sidecars of photos no one is named in now cleared of the names peoplegraph "
                "wrote there" if report.cleared else "")]
    lines += [f"  skipped {line}" for line in report.skipped]
    return "\n".join(lines)


def metadata_text(found: MetadataImport) -> str:
    lines = [f"metadata: {found.photos} photos name people; {found.confirmed} faces confirmed ({found.already} "
             f"already), {len(found.people_created)} new people"]
    for label, items in (("no detected face under the region", found.no_face),
                         ("named without a face region", found.without_region), ("conflict", found.conflicts),
                         ("unreadable", found.unreadable)):
        lines += [f"  {label}: {item}" for item in items]
    return "\n".join(lines)


COMMANDS = (xmp_group,)
