"""`peoplegraph eval` on a labelled folder (default: all of lfw-devtrain), its figures as a table.

Runs the real command in a child process (a throw-away data folder, the model cache shared): clustering
(BCubed and pairwise), identification (rank-1, TAR at FAR 1% and 0.1%) and selfie search (recall and
precision), with the recommended clustering threshold.

    python bench/lfw_eval.py [--folder DIR] [--no-report]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=SHARED_DATA / "lfw-devtrain")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "peoplegraph.cli", "eval", str(args.folder), "--json"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"peoplegraph eval failed:\n{done.stderr[-3000:]}")
    r = json.loads(done.stdout)
    elapsed = time.perf_counter() - started

    def figure(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    header = ["photos", "people (2+)", "clusters", "BCubed P/R/F", "pairwise P/R/F", "rank-1", "TAR@FAR 1%",
              "TAR@FAR 0.1%", "selfie recall", "selfie precision", "recommended", "wall s"]
    row = [r["photos"], f"{r['people']} ({r['people_with_2_or_more_photos']})", r["clusters"],
           " / ".join(figure(r[k]) for k in ("bcubed_precision", "bcubed_recall", "bcubed_f")),
           " / ".join(figure(r[k]) for k in ("pairwise_precision", "pairwise_recall", "pairwise_f")),
           figure(r["rank1"]), figure(r["tar_at_far_1e-2"]), figure(r["tar_at_far_1e-3"]),
           figure(r["selfie_recall"]), figure(r["selfie_precision"]),
           f"{r['recommended']['cluster_similarity']:.3f}", f"{elapsed:.0f}"]
    table = markdown_table(header, [row])
    note = (f"`peoplegraph eval {args.folder.name} --json`: each photo labelled for its largest face; "
            f"{r['identification_queries']} identification queries against the first photo of each person with "
            f"2+ photos, {r['impostors']} people with one photo as impostors; {r['selfies']} selfies at search "
            f"similarity {r['search_similarity']:.2f}. LFW's impostors include twins, sisters and one person "
            "filed under two spellings, so FAR 0.1% (the top 3 impostors) sets a threshold no real stranger needs.")
    publish("Evaluation on a labelled folder (peoplegraph eval)", note, table, report=not args.no_report)


if __name__ == "__main__":
    main()
