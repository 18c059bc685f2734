"""`peoplegraph eval` on a labelled folder (default: all of lfw-devtrain) with each face model pack, side by
side in one run.

Runs the real command in a child process per pack (a throw-away data folder, the model cache shared):
clustering (BCubed and pairwise), identification (rank-1, TAR at FAR 1% and 0.1%), selfie search (recall and
precision), auto-matching, the thresholds it recommends, and the time per photo.

    python bench/lfw_eval.py [--folder DIR] [--pack yunet-sface --pack buffalo_s] [--model-source DIR] [--no-report]

buffalo_s is prepared from --model-source (default ../shared/models/insightface) when it is not in the model
cache yet.
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

LICENCES = {"yunet-sface": "Apache-2.0", "buffalo_s": "InsightFace: non-commercial research"}


def evaluate(folder: Path, pack: str, model_source: Path) -> tuple[dict, float]:
    command = [sys.executable, "-m", "peoplegraph.cli", "--model-pack", pack, "--model-source", str(model_source),
               "eval", str(folder), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"peoplegraph eval with {pack} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout), time.perf_counter() - started


def figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=SHARED_DATA / "lfw-devtrain")
    parser.add_argument("--pack", action="append", dest="packs", help="a model pack (repeat; default both)")
    parser.add_argument("--model-source", type=Path, default=SHARED_DATA.parent / "models" / "insightface")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    packs = args.packs or ["yunet-sface", "buffalo_s"]
    results = {pack: evaluate(args.folder, pack, args.model_source) for pack in packs}

    quality, thresholds = [], []
    for pack, (r, elapsed) in results.items():
        m, rec = r["matching"], r["recommended"]
        quality.append([
            pack, LICENCES.get(pack, "?"), r["photos"], r["clusters"],
            " / ".join(figure(r[k]) for k in ("bcubed_precision", "bcubed_recall", "bcubed_f")),
            " / ".join(figure(r[k]) for k in ("pairwise_precision", "pairwise_recall", "pairwise_f")),
            figure(r["rank1"]), figure(r["tar_at_far_1e-2"]), figure(r["tar_at_far_1e-3"]),
            f"{figure(r['selfie_recall'])} / {figure(r['selfie_precision'])}",
            f"{figure(m['auto_recall'])} / {figure(m['auto_precision'])}", f"{1000 * elapsed / r['photos']:.0f}"])
        thresholds.append([pack, f"{r['similarity']:.3f}", f"{rec['cluster_similarity']:.3f}",
                           f"{rec['auto_threshold']}", f"{rec['review_threshold']}",
                           f"{r['search_similarity']:.3f}", f"{rec['search_similarity']:.3f}",
                           figure(m["strangers_tagged"]), figure(m["strangers_in_review"])])
    first = next(iter(results.values()))[0]
    tables = [
        markdown_table(["pack", "licence", "photos", "clusters", "BCubed P/R/F", "pairwise P/R/F", "rank-1",
                        "TAR@FAR 1%", "TAR@FAR 0.1%", "selfie recall / precision",
                        "auto-tagged / rightly (at recommended)", "ms per photo (eval, all stages)"], quality),
        markdown_table(["pack", "cluster similarity (pack)", "recommended", "auto threshold (recommended)",
                        "review threshold (recommended)", "search similarity (pack)", "recommended",
                        "strangers auto-tagged", "strangers in review"], thresholds),
    ]
    m = first["matching"]
    note = (f"`peoplegraph --model-pack P eval {args.folder.name} --json` for each pack, in one run: each photo "
            f"labelled for its largest face; {first['identification_queries']} identification queries against the "
            f"first photo of each person with 2+ photos, {first['impostors']} people with one photo as impostors; "
            f"{first['selfies']} selfies at each pack's search similarity; auto-matching with {m['people']} people "
            f"of {m['references_per_person']} confirmed references, {m['new_faces']} new faces and {m['strangers']} "
            "strangers, at the recommended auto threshold (tags at least 99.9 % right, at most 0.1 % of strangers "
            "tagged; review from where at most 10 % of strangers score). ms per photo is the whole eval (ingest, "
            "clustering, scoring) over its photos.")
    publish("Face model packs on a labelled folder (peoplegraph eval)", note, *tables, report=not args.no_report)


if __name__ == "__main__":
    main()
