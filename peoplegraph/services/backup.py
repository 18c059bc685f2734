"""Backup and restore of a data folder's embedded stores: milvus-lite, the graph, the face index.

Consistent, not online: milvus-lite and the embedded graph allow one process at a time, so a backup opens
both (which fails clearly while `peoplegraph serve` or a worker holds them), lets them settle (the graph
checkpoints its log when closed), closes them and copies the files, and refuses the copy when any file
changed while it was read. Every file goes into the backup's manifest with its size and sha256, and a restore
checks them all before it writes anything, into a data folder that holds no library yet. The model cache
and the job queue are not copied (models are prepared again; jobs are not data).

With servers, use their own tools: milvus-backup for a Milvus server, `neo4j-admin database dump` for Neo4j.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from peoplegraph.identity.records import now
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

MANIFEST = "peoplegraph-backup.json"
FORMAT = 1
# What of DATA_DIR a library is: the vector store, the graph (its log too, should one be left), the media
# (copied as they are: encrypted ones stay encrypted, the key is not in the backup) and the face index (a
# cache, rebuilt from the vector store when missing: copied to spare a large library that rebuild).
STORE_PATHS = ("milvus.db", "graph.lbug", "graph.lbug.wal", "media", "face-index")


class BackupError(ValueError):
    """A backup or restore that cannot be made as asked; nothing was written."""


@dataclass
class BackupReport:
    folder: str
    created: str
    files: int
    bytes: int
    projects: dict[str, dict[str, int]] = field(default_factory=dict)  # photos and faces of each

    def to_dict(self) -> dict:
        return asdict(self)


def backup(settings: Settings, destination: Path) -> BackupReport:
    """Copy the data folder's library into `destination` (a new folder)."""
    _require_embedded(settings)
    destination = Path(destination).expanduser().resolve()
    if destination.exists():
        raise BackupError(f"{destination}: already exists; name a new folder for the backup")
    projects = _census(settings)  # opens the stores: refused while another process holds them
    sources = _library_files(settings.data_dir)
    if not sources:
        raise BackupError(f"{settings.data_dir}: no library to back up (no {' or '.join(STORE_PATHS[:2])})")
    before = {p: _signature(p) for p in sources}
    staging = destination.with_name(f".{destination.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    files = {}
    for source in sources:
        relative = source.relative_to(settings.data_dir).as_posix()
        files[relative] = _copy(source, staging / relative)
    changed = [p for p in sources if _signature(p) != before[p]]
    if changed or set(_library_files(settings.data_dir)) != set(sources):
        shutil.rmtree(staging, ignore_errors=True)
        raise BackupError(f"{settings.data_dir}: the library changed while it was copied ({changed[0] if changed else 'files came or went'}); "
                          "stop every peoplegraph process using it and back up again")
    created = now()
    manifest = {"format": FORMAT, "created": created, "files": files, "projects": projects}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(staging, destination)
    return BackupReport(str(destination), created, len(files), sum(f["size"] for f in files.values()), projects)


def restore(settings: Settings, source: Path) -> BackupReport:
    """Check every file of the backup in `source`, then copy them into the data folder, which must hold no
    library; then open the stores and compare each project's photos and faces with the backup's."""
    _require_embedded(settings)
    source = Path(source).expanduser().resolve()
    try:
        manifest = json.loads((source / MANIFEST).read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError) as exc:
        raise BackupError(f"{source}: not a peoplegraph backup ({MANIFEST} missing or unreadable: {exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: backup format {manifest.get('format')!r}; this peoplegraph reads format {FORMAT}")
    for relative, expected in sorted(files.items()):
        path = source / relative
        if not path.is_file() or path.stat().st_size != expected["size"] or _copy(path) != expected:
            raise BackupError(f"{path}: missing or not as backed up (size or sha256 differ); nothing was restored")
    target = settings.data_dir
    present = [name for name in STORE_PATHS if (target / name).exists()]
    if present:
        raise BackupError(f"{target}: already holds a library ({', '.join(present)}); restore into an empty data "
                          "folder (PEOPLEGRAPH_DATA_DIR or --data-dir)")
    target.mkdir(parents=True, exist_ok=True)
    staging = target / ".restore.partial"
    shutil.rmtree(staging, ignore_errors=True)
    for relative in sorted(files):
        _copy(source / relative, staging / relative)
    for name in STORE_PATHS:  # each store moved into place whole
        if (staging / name).exists():
            os.replace(staging / name, target / name)
    shutil.rmtree(staging, ignore_errors=True)
    projects = _census(settings)
    recorded = manifest["projects"]  # a backup made before bodies were counted records photos and faces only
    if {p: {k: counts[k] for k in recorded.get(p, counts)} for p, counts in projects.items()} != recorded:
        raise BackupError(f"{target}: the restored library does not hold what the backup recorded "
                          f"({projects} against {manifest['projects']})")
    return BackupReport(str(target), manifest["created"], len(files), sum(f["size"] for f in files.values()),
                        projects)


def _require_embedded(settings: Settings) -> None:
    if not settings.milvus_is_embedded or settings.graph_is_server:
        raise BackupError("backup and restore copy the embedded stores; with a Milvus server use milvus-backup, "
                          "with Neo4j `neo4j-admin database dump`")
    data_dir = settings.data_dir
    if Path(settings.milvus_target).resolve() != data_dir / "milvus.db" or \
            Path(settings.graph_target).resolve() != data_dir / "graph.lbug":
        raise BackupError(f"backup and restore copy the stores in the data folder {data_dir}; "
                          "PEOPLEGRAPH_MILVUS_URI or PEOPLEGRAPH_GRAPH_URI puts one elsewhere")


def _census(settings: Settings) -> dict[str, dict[str, int]]:
    """The photos, faces and bodies of every project, opening (and closing) the stores."""
    with Runtime(settings) as runtime:
        return {project: {"photos": runtime.graph.photo_count(project), "faces": runtime.vectors.count(project),
                          "bodies": runtime.bodies.count(project)}
                for project in runtime.graph.projects()}


def _library_files(data_dir: Path) -> list[Path]:
    found = []
    for name in STORE_PATHS:
        path = data_dir / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.name != ".lock" and p.name != "LOCK")
    return found


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_size, info.st_mtime_ns


def _copy(source: Path, target: Path | None = None) -> dict[str, object]:
    """The file's size and sha256 (read once), copied to `target` on the way when one is given."""
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reader, contextlib.ExitStack() as stack:
        writer = None
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            writer = stack.enter_context(open(target, "wb"))
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            if writer is not None:
                writer.write(chunk)
        if writer is not None:
            writer.flush()
            os.fsync(writer.fileno())
    return {"size": size, "sha256": digest.hexdigest()}
