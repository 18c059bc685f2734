"""`peoplegraph xmp export` at two sizes: sidecars written beside the photos, then written again once a tenth of
the people were made private (their names taken out again, and the sidecars of photos no one is named in any
more cleared).

Copies of lfw-devtrain photos (in a scratch folder: an export writes beside the originals) are ingested, and
every cluster of two faces or more is confirmed as a person.

    python bench/xmp_export.py [--photos 200 800] [--no-report]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402


def main() -> None:
    from peoplegraph.linking.people import edit_person
    from peoplegraph.linking.service import confirm_cluster
    from peoplegraph.services.clustering import cluster_new_faces
    from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
    from peoplegraph.services.runtime import Runtime
    from peoplegraph.services.xmp import export_xmp
    from peoplegraph.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, nargs="+", default=[200, 800])
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    every = sorted((SHARED_DATA / "lfw-devtrain").glob("*/*.jpg"))
    random.Random(1).shuffle(every)
    rows = []
    for size in args.photos:
        with tempfile.TemporaryDirectory(prefix="pg-xmp-") as scratch:
            folder = Path(scratch) / "photos"
            folder.mkdir()
            for photo in every[:size]:
                shutil.copy(photo, folder / photo.name)
            with Runtime(Settings(data_dir=Path(scratch) / "data", read_metadata=False)) as runtime:
                report = IngestService(runtime).ingest("bench", collect_sources([folder], IngestReport()))
                cluster_new_faces(runtime, "bench", report.face_ids)
                clusters = runtime.vectors.project_faces("bench").cluster_ids
                found, counts = np.unique(clusters[clusters >= 0], return_counts=True)
                people = [confirm_cluster(runtime, "bench", int(c), name=f"Person {i}").person_id
                          for i, c in enumerate(found[counts >= 2].tolist())]
                began = time.perf_counter()
                first = export_xmp(runtime, "bench")
                first_s = time.perf_counter() - began
                for person in people[::10]:
                    edit_person(runtime, "bench", person, visibility="private")
                began = time.perf_counter()
                again = export_xmp(runtime, "bench")
                again_s = time.perf_counter() - began
        rows.append([size, len(people), len(first.written), f"{first_s:.2f}", len(again.written), len(again.cleared),
                     f"{again_s:.2f}"])
        print(rows[-1], flush=True)
    table = markdown_table(["photos", "people", "sidecars written", "export s", "written again", "cleared",
                            "again s"], rows)
    publish("XMP export beside the photos", "Copies of lfw-devtrain photos; every cluster of two faces or more "
            "confirmed as a person; the second export after a tenth of them were made private.", table,
            report=not args.no_report)


if __name__ == "__main__":
    main()
