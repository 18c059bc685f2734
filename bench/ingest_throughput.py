"""Ingest throughput of the embedded default: photos/s, faces/s and peak memory of `peoplegraph ingest`.

Runs the real CLI in a child process on a fresh data folder (the model pack cache is reused), so the
figures include decoding, detection, embedding and both stores, and the peak RSS is the child's own. Each
size runs with reading the photos' XMP on (the default) and off, side by side.

    python bench/ingest_throughput.py --photos 200 1000 [--folder ../shared/data/lfw-devtrain]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = parser.parse_args()
    if not args.folder.is_dir():
        sys.exit(f"{args.folder} is not a folder (the benchmark reads ../shared/data)")
    rows, rates = [], {}
    for count in args.photos:
        for metadata in (True, False):
            row, rate = _run(pick_photos(args.folder, count), metadata)
            rows.append(row)
            rates[(count, metadata)] = rate
            print(row, flush=True)
    header = ["photos", "XMP read", "new", "faces", "skipped", "wall s", "photos/s", "faces/s", "peak RSS MiB"]
    parts = [markdown_table(header, rows)]
    if len(args.photos) > 1:
        first, last = args.photos[0], args.photos[-1]
        parts.append(f"Growth for {last / first:.0f}x photos: wall time "
                     f"{(last / rates[(last, True)]) / (first / rates[(first, True)]):.1f}x with XMP read, "
                     f"{(last / rates[(last, False)]) / (first / rates[(first, False)]):.1f}x without; reading XMP "
                     f"costs {100 * (rates[(last, False)] / rates[(last, True)] - 1):+.1f} % of the time at {last} "
                     "photos.")
    note = (f"`peoplegraph ingest --no-cluster` (model pack {os.environ.get('PEOPLEGRAPH_MODEL_PACK', 'yunet-sface')}, "
            f"embedded milvus-lite + LadybugDB) on photos of `{args.folder.name}`, wall time including process "
            "start and model loading; with `--read-metadata` (the default: each photo's sidecar looked for and its "
            "XMP read) and `--no-read-metadata`.")
    publish("Ingest throughput", note, *parts, report=not args.no_report)


def _run(photos: list[Path], metadata: bool) -> tuple[list, float]:
    with tempfile.TemporaryDirectory(prefix="pg-bench-") as tmp:
        listing = Path(tmp) / "photos"
        listing.mkdir()
        for i, photo in enumerate(photos):
            (listing / f"{i:06d}{photo.suffix.lower()}").symlink_to(photo.resolve())
        env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(Path(tmp) / "data"))
        env.setdefault("PEOPLEGRAPH_MODEL_DIR", str(_default_model_dir()))
        command = [sys.executable, "-m", "peoplegraph.cli", "ingest", str(listing), "--project", "bench",
                   "--no-cluster", "--json", "--read-metadata" if metadata else "--no-read-metadata"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"ingest failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    peak_mib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    rate = report["new_photos"] / elapsed
    return [len(photos), "yes" if metadata else "no", report["new_photos"], report["faces"], len(report["skipped"]),
            f"{elapsed:.1f}", f"{rate:.2f}", f"{report['faces'] / elapsed:.2f}", f"{peak_mib:.0f}"], rate


def _default_model_dir() -> Path:
    from peoplegraph.settings import Settings

    return Settings().models_path


if __name__ == "__main__":
    main()
