"""`peoplegraph reid train` on this CPU: OSNet x0.25 fine-tuned from torchreid's MSMT17 weights (which never
saw Market-1501) on market1501-train, its last 100 identities held out (the same ones bench/reid_eval.py
scores packs on) and scored before and after with Market-1501's protocol. Needs the reid-train extra.

    python bench/reid_train.py [--epochs 3] [--no-report]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402

MODELS = SHARED_DATA.parent / "models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hold-out", type=int, default=100)
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    from peoplegraph.reid.training import train

    with tempfile.TemporaryDirectory(prefix="pg-train-") as scratch:
        card = train(SHARED_DATA / "market1501-train" / "bounding_box_train", Path(scratch) / "out",
                     init=MODELS / "reid" / "torchreid" / "osnet_x0_25_msmt17.pth", epochs=args.epochs,
                     hold_out=args.hold_out, progress=lambda e, s, loss: s % 20 or print(e, s, round(loss, 3), flush=True))
    rows = [[when, f"{s['rank1']:.1%}", f"{s['rank5']:.1%}", f"{s['mAP']:.1%}", int(s["queries"])]
            for when, s in (("before (MSMT17 weights)", card.before), (f"after {card.epochs} epochs", card.after))]
    table = markdown_table(["held-out identities", "rank-1", "rank-5", "mAP", "queries"], rows)
    note = (f"OSNet x0.25 from torchreid's MSMT17 checkpoint, fine-tuned on {card.identities} identities "
            f"({card.crops} crops) of market1501-train for {card.epochs} epochs (batch {card.batch}, lr "
            f"{card.learning_rate}) in {card.seconds / 60:.1f} min on the CPU; losses {card.losses}; the last "
            f"{card.held_out_identities} identities held out and scored with Market-1501's protocol.")
    publish("ReID fine-tuning (reid train)", note, table, report=not args.no_report)


if __name__ == "__main__":
    main()
