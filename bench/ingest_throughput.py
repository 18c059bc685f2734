"""Ingest throughput of the embedded default: photos/s, faces/s and peak memory of `peoplegraph ingest`.

Runs the real CLI in a child process on a fresh data folder (the model pack cache is reused), so the
figures include decoding, detection, embedding and both stores, and the peak RSS is the child's own. Each
size runs with one switch on and off, side by side: reading the photos' XMP (`--compare xmp`, the default)
or finding their people's bodies (`--compare bodies`: person detection and body embeddings, the
body_pack from ../shared/models). `--repeat K` ingests K copies of each photo, each with other bytes (a
trailer after the image), so that a small folder (the group photos) makes a larger library.

    python bench/ingest_throughput.py --photos 200 1000 [--folder ../shared/data/lfw-devtrain]
    python bench/ingest_throughput.py --compare bodies --folder ../shared/data/faces-misc/group-photos \
        --photos 0 --repeat 2 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402


def pick_photos(folder: Path, count: int) -> list[Path]:
    photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if count and len(photos) > count:
        step = len(photos) / count
        photos = [photos[int(i * step)] for i in range(count)]
    return photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=SHARED_DATA / "lfw-devtrain")
    parser.add_argument("--photos", type=int, nargs="+", default=[1000],
                        help="photos to ingest, spread over the folder (0: all); several sizes run one after another")
    parser.add_argument("--repeat", type=int, nargs="+", default=[1],
                        help="copies of each photo (other bytes each); several run one after another")
    parser.add_argument("--compare", choices=sorted(SWITCHES), default="xmp",
                        help="the switch run on and off side by side")
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = parser.parse_args()
    if not args.folder.is_dir():
        sys.exit(f"{args.folder} is not a folder (the benchmark reads ../shared/data)")
    label, _ = SWITCHES[args.compare]
    rows, rates, sizes = [], {}, []
    for count in args.photos:
        for repeat in args.repeat:
            photos = pick_photos(args.folder, count)
            size = len(photos) * repeat
            sizes.append(size)
            for on in (True, False):
                row, rate = _run(photos, repeat, args.compare, on)
                rows.append(row)
                rates[(size, on)] = rate
                print(row, flush=True)
    header = ["photos", label, "new", "faces", "bodies", "skipped", "wall s", "photos/s", "faces/s", "peak RSS MiB"]
    parts = [markdown_table(header, rows)]
    for size in sizes:
        parts.append(f"At {size} photos, with {label} on: {rates[(size, True)] / rates[(size, False)]:.2f}x the "
                     "photos/s of off.")
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        parts.append(f"Growth for {last / first:.0f}x photos: wall time "
                     f"{(last / rates[(last, True)]) / (first / rates[(first, True)]):.1f}x with {label} on, "
                     f"{(last / rates[(last, False)]) / (first / rates[(first, False)]):.1f}x off.")
    note = (f"`peoplegraph ingest --no-cluster` (model pack {os.environ.get('PEOPLEGRAPH_MODEL_PACK', 'yunet-sface')}, "
            f"embedded milvus-lite + LadybugDB) on photos of `{args.folder.name}`, wall time including process "
            f"start and model loading; {label} on and off side by side.")
    publish("Ingest throughput", note, *parts, report=not args.no_report)


# what --compare switches: its name in the table, and the environment that turns it on or off
SWITCHES = {
    "xmp": ("XMP read", lambda on: {"PEOPLEGRAPH_READ_METADATA": str(on).lower()}),
    "bodies": ("bodies found", lambda on: {"PEOPLEGRAPH_BODY_REID": str(on).lower(),
                                           "PEOPLEGRAPH_MODEL_SOURCE": str(SHARED_DATA.parent / "models")}),
}


def _run(photos: list[Path], repeat: int, switch: str, on: bool) -> tuple[list, float]:
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as tmp:
        listing = Path(tmp) / "photos"
        listing.mkdir()
        for copy in range(repeat):
            for i, photo in enumerate(photos):
                target = listing / f"{copy:03d}-{i:06d}{photo.suffix.lower()}"
                if repeat == 1:
                    target.symlink_to(photo.resolve())
                else:  # other bytes, the same image: a trailer after the image's end
                    target.write_bytes(photo.read_bytes() + f"copy {copy}".encode())
        env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(Path(tmp) / "data"), **SWITCHES[switch][1](on))
        env.setdefault("PEOPLEGRAPH_MODEL_DIR", str(_default_model_dir()))
        command = [sys.executable, "-m", "peoplegraph.cli", "ingest", str(listing), "--project", "bench",
                   "--no-cluster", "--json"]
        started = time.perf_counter()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
            _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not every child's so far
            elapsed = time.perf_counter() - started
            out.seek(0), err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ingest failed:\n{stderr[-3000:]}")
    report = json.loads(stdout)
    peak_mib = usage.ru_maxrss / 1024
    rate = report["new_photos"] / elapsed
    return [len(photos) * repeat, "yes" if on else "no", report["new_photos"], report["faces"], report["bodies"],
            len(report["skipped"]), f"{elapsed:.1f}", f"{rate:.2f}", f"{report['faces'] / elapsed:.2f}",
            f"{peak_mib:.0f}"], rate


def _default_model_dir() -> Path:
    from peoplegraph.settings import Settings

    return Settings().models_path


if __name__ == "__main__":
    main()
