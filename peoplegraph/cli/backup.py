"""`peoplegraph backup DEST` and `peoplegraph restore SRC`: a whole data folder's library, checked."""

from __future__ import annotations

from pathlib import Path

import click

from peoplegraph.cli.common import JSON_OPTION, Context, LocalPath, emit, fail_clearly
from peoplegraph.services import backup as service


def _text(verb: str, report: service.BackupReport) -> str:
    projects = ", ".join(f"{name} ({c['photos']} photos, {c['faces']} faces)" for name, c in report.projects.items())
    return (f"{verb} {report.folder}: {report.files} files, {report.bytes / 2**20:.1f} MiB, made {report.created}\n"
            f"projects: {projects or 'none'}")


@click.command("backup")
@click.argument("destination", type=LocalPath(path_type=Path))
@JSON_OPTION
@click.pass_obj
@fail_clearly
def backup_command(obj: Context, destination: Path, as_json: bool) -> None:
    """Copy the library of the data folder (vector store, graph, face index) into DESTINATION, a new folder,
    with a manifest of every file's sha256. Stop `peoplegraph serve` and workers first: the embedded stores
    allow one process."""
    report = service.backup(obj.settings(), destination)
    emit(as_json, report.to_dict(), _text("backed up into", report))


@click.command("restore")
@click.argument("source", type=LocalPath(path_type=Path, exists=True, file_okay=False))
@JSON_OPTION
@click.pass_obj
@fail_clearly
def restore_command(obj: Context, source: Path, as_json: bool) -> None:
    """Restore a backup made by `peoplegraph backup` into the data folder, which must hold no library: every
    file is checked against the manifest first, and each project's photos and faces after."""
    report = service.restore(obj.settings(), source)
    emit(as_json, report.to_dict(), _text("restored into", report))


COMMANDS = (backup_command, restore_command)
