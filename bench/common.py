"""What every benchmark shares: the machine's description and appending a dated table to docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO / "docs" / "benchmarks.md"
SHARED_DATA = Path(os.environ.get("PEOPLEGRAPH_SHARED", REPO.parent / "shared")) / "data"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def append_report(title: str, body: str) -> None:
    BENCHMARKS_MD.parent.mkdir(parents=True, exist_ok=True)
    if not BENCHMARKS_MD.exists():
        BENCHMARKS_MD.write_text("# Benchmarks\n\nFigures appended by the scripts in bench/, newest last.\n")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with BENCHMARKS_MD.open("a") as out:
        out.write(f"\n## {title}\n\n{stamp} on {machine()}\n\n{body}\n")


def publish(title: str, note: str, *parts: str, report: bool = True) -> None:
    """Print a benchmark's table (and verdict), and append them to docs/benchmarks.md under `title` with the
    note saying what was measured (unless `report` is off: --no-report)."""
    print("\n\n".join(parts))
    if report:
        append_report(title, "\n\n".join([note, *parts]))


def labelled_project_arguments(doc: str, sizes: list[int] | None = None, switches: dict[str, str] | None = None):
    """The command line of a script that reads an ingested labelled project: --project, --data-dir,
    --folder, --no-report, --sizes (library sizes, default `sizes`) when `sizes` is given, and the on/off
    `switches` (name: help)."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default="lfw")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--folder", type=Path, default=SHARED_DATA / "lfw-devtrain")
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    if sizes is not None:
        parser.add_argument("--sizes", type=int, nargs="+", default=sizes)
    for name, help_text in (switches or {}).items():
        parser.add_argument(f"--{name}", action="store_true", help=help_text)
    return parser.parse_args()


def labelled_library(args):
    """The faces of the ingested labelled project the arguments name (`lfw_faces`), with the settings and
    the clustering threshold; exits with a message when the project has no faces."""
    import sys

    from peoplegraph.services.runtime import Runtime
    from peoplegraph.settings import Settings

    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    with Runtime(settings) as runtime:
        faces, identity, _ = lfw_faces(runtime, args.project, args.folder)
        similarity = runtime.cluster_similarity
    if not faces:
        sys.exit(f"project {args.project!r} in {settings.data_dir} has no faces: ingest {args.folder} first")
    return settings, faces, identity, similarity


def lfw_faces(runtime, project: str, folder: Path):
    """The faces of an ingested labelled project (a folder per person with labels.csv, as lfw-devtrain):
    (faces in face id order, the identity index of each face or -1, the identity names).

    Each photo is labelled for its central face, so the face nearest the photo's centre carries the label
    and other faces (bystanders) carry -1: they are clustered like any face but left out of the scores.
    """
    import csv
    import hashlib

    import numpy as np

    identity_of: dict[str, str] = {}
    with (folder / "labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            identity_of[hashlib.sha256((folder / row["path"]).read_bytes()).hexdigest()] = row["identity"]
    photos = {p.photo_id: p for p in runtime.graph.photos(project)}
    faces = runtime.vectors.faces(project, with_embeddings=True)
    central: dict[str, tuple[float, int]] = {}
    for index, face in enumerate(faces):
        photo = photos.get(face.photo_id)
        if photo is None or face.photo_id not in identity_of:
            continue
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        distance = (cx - photo.width / 2) ** 2 + (cy - photo.height / 2) ** 2
        if face.photo_id not in central or distance < central[face.photo_id][0]:
            central[face.photo_id] = (distance, index)
    names = sorted({identity_of[p] for p in central})
    number = {name: i for i, name in enumerate(names)}
    identity = np.full(len(faces), -1, np.int64)
    for photo_id, (_, index) in central.items():
        identity[index] = number[identity_of[photo_id]]
    return faces, identity, names
