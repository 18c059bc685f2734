"""Body matching on real group photos whose people hid their face: tagged (or queued) as the right person?

The test set (`hidden_face_set`): the group photos of ../shared/data/faces-misc/group-photos are ingested with
bodies and every face found is named as a person of its own. For each photo, copies are written in which one
person's face (the largest face tied to a body) is hidden, once in each of three ways (`HIDINGS`): blurred
away as a privacy blur does, cut out with a flat grey patch, or cut out and filled from around it as a photo
editor's content-aware fill does (the head's shape goes too); the copies are ingested too, their visible
faces matched by face. Then:

- without an event and with no time window, body matching must tag no one;
- with every photo in one event, each hidden-face person should be tagged or queued as the person named
  on their face in the original (target: at least 90 %), and none as anyone else.

    python bench/body_fusion.py [--person-input-side 416 512] [--no-report]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, markdown_table, publish  # noqa: E402

MODELS = SHARED_DATA.parent / "models"
GROUP_PHOTOS = SHARED_DATA / "faces-misc" / "group-photos"
PROJECT = "fusion"
EVENT = "match-day"
HIDE_GROWTH = 1.35  # the face box grown by this much before it is hidden (hair, chin, ears)
HIDINGS = ("blurred", "grey patch", "filled")
GREY = 128
BODY_HEADS = 2.5
OVERLAP = 0.35


@dataclass(frozen=True)
class HiddenFace:
    copy: str  # the copy's file name
    how: str  # one of HIDINGS
    box: tuple[float, float, float, float]  # the person's body box in the original
    face: tuple[float, float, float, float]  # the face hidden
    person_id: str  # who the face in the original was named as


def _iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _covered(a, b) -> float:
    """The share of box a that box b covers."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    area = (a[2] - a[0]) * (a[3] - a[1])
    return max(0.0, x2 - x1) * max(0.0, y2 - y1) / area if area > 0 else 0.0


def _hide(image: np.ndarray, face, how: str) -> np.ndarray:
    x1, y1, x2, y2 = face
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * HIDE_GROWTH, (y2 - y1) * HIDE_GROWTH
    left, top = max(0, int(cx - w / 2)), max(0, int(cy - h / 2))
    right, bottom = min(image.shape[1], int(cx + w / 2)), min(image.shape[0], int(cy + h / 2))
    out = image.copy()
    patch = out[top:bottom, left:right]
    if how == "blurred":  # as a privacy blur does it: no face left, the head's shape and colours kept
        out[top:bottom, left:right] = cv2.GaussianBlur(patch, (0, 0), max(2.0, w / 8))
    elif how == "grey patch":
        out[top:bottom, left:right] = GREY
    else:  # filled from around it, as a photo editor's content-aware fill does: no face, nor a head, is left
        mask = np.zeros(image.shape[:2], np.uint8)
        mask[top:bottom, left:right] = 255
        out = cv2.inpaint(out, mask, max(3, int(w / 10)), cv2.INPAINT_TELEA)
    return out


def hidden_face_set(runtime, folder: Path, photos: Path = GROUP_PHOTOS, everyone: bool = False,
                    hidings: Sequence[str] = HIDINGS) -> list[HiddenFace]:
    """Ingest the group photos with bodies, name every face, write and ingest the copies with one face hidden
    each (into `folder`), once in each of `hidings`: of each photo's person with the most body to see, or
    (`everyone`) of each of its people whose body shows; the hidden people, with who they are."""
    from peoplegraph.engine.decode import decode_image
    from peoplegraph.linking.matching import match_new_faces
    from peoplegraph.linking.service import NamedFace, name_faces
    from peoplegraph.services.clustering import cluster_new_faces
    from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources

    report = IngestReport()
    originals = collect_sources([photos], report)
    report = IngestService(runtime).ingest(PROJECT, originals, report=report)
    faces = runtime.vectors.faces_by_id(PROJECT, report.face_ids)
    named = name_faces(runtime, PROJECT, [NamedFace(f.face_id, f"person {i}", f.photo_id) for i, f in enumerate(faces)],
                       action="name everyone")
    person_of_face = {f.face_id: named.person_ids[f"person {i}"] for i, f in enumerate(faces)}
    face_box = {f.face_id: f.box for f in faces}
    settings = runtime.settings
    hidden, copies = [], []
    for source in (s for s in originals if s.path is not None):
        photo_id = next((p for p, s in zip(report.photo_ids, originals) if s is source), None)
        # people whose body shows: its box at least BODY_HEADS face heights tall (a head alone is no body to
        # match), and at most OVERLAP of it under another person's box (a body behind others is not seen)
        people = runtime.bodies.bodies(PROJECT, photo_ids=[photo_id])
        bodies = [b for b in people if b.face_id in person_of_face
                  and b.box[3] - b.box[1] >= BODY_HEADS * (face_box[b.face_id][3] - face_box[b.face_id][1])
                  and max((_covered(b.box, o.box) for o in people if o is not b), default=0.0) <= OVERLAP]
        if not bodies:
            continue
        bodies.sort(key=lambda b: -(b.box[2] - b.box[0]) * (b.box[3] - b.box[1]))  # the most body to see first
        image = decode_image(source.path, name=source.name, max_pixels=settings.max_image_pixels,
                             max_bytes=settings.max_file_bytes, max_side=100_000).pixels
        for k, chosen in enumerate(bodies if everyone else bodies[:1]):
            for how in hidings:
                copy = folder / f"{source.path.stem}-{k}-{how.replace(' ', '-')}.jpg"
                cv2.imwrite(str(copy), _hide(image, face_box[chosen.face_id], how), [cv2.IMWRITE_JPEG_QUALITY, 92])
                copies.append(copy)
                hidden.append(HiddenFace(copy.name, how, chosen.box, face_box[chosen.face_id],
                                         person_of_face[chosen.face_id]))
    more = IngestReport()
    sources = collect_sources(copies, more)
    more = IngestService(runtime).ingest(PROJECT, sources, report=more)
    match_new_faces(runtime, PROJECT, more.face_ids)
    cluster_new_faces(runtime, PROJECT, more.face_ids)
    return hidden


def _headless(case: HiddenFace) -> tuple[float, float, float, float]:
    """The hidden person's box from the middle of their face down: what a detector still boxes of someone
    whose head was cut out."""
    x1, y1, x2, y2 = case.box
    return x1, max(y1, (case.face[1] + case.face[3]) / 2), x2, y2


def _overlap(box, case: HiddenFace) -> float:
    return max(_iou(box, case.box), _iou(box, _headless(case)))


def outcomes(runtime, hidden: list[HiddenFace]) -> dict[str, list[str]]:
    """Each hidden person's outcome: tagged, queued (as the right person), wrong (as anyone else), face (their
    face was still found and named), or none."""
    from peoplegraph.linking.bodies import body_appearances

    tagged = {a.body_id: a for a in body_appearances(runtime, PROJECT)}
    queued = {a.body_id: a for a in body_appearances(runtime, PROJECT, status="queued")}
    photos = {Path(p.path).name: p.photo_id for p in runtime.graph.photos(PROJECT)}
    found: dict[str, list[str]] = {}
    for case in hidden:
        bodies = runtime.bodies.bodies(PROJECT, photo_ids=[photos[case.copy]])
        body = max(bodies, key=lambda b: _overlap(b.box, case), default=None)
        if body is None or _overlap(body.box, case) < 0.5:
            outcome = "none"
        elif body.body_id in tagged or body.body_id in queued:
            got = (tagged.get(body.body_id) or queued[body.body_id])
            outcome = ("tagged" if body.body_id in tagged else "queued") if got.person_id == case.person_id else "wrong"
        elif body.face_id != -1 and any(d.confirmed_as == case.person_id for d in
                                       runtime.graph.face_decisions(PROJECT, face_ids=[body.face_id]).values()):
            outcome = "face"
        else:
            outcome = "none"
        found.setdefault(outcome, []).append(case.copy)
    return found


def run(runtime, folder: Path, photos: Path = GROUP_PHOTOS, everyone: bool = False,
        hidings: Sequence[str] = HIDINGS) -> tuple[list[HiddenFace], dict, dict, dict, dict]:
    """The set; body matching without a window (then undone), and with the event: (hidden, outcomes and
    report without, outcomes and report with)."""
    from peoplegraph.identity.records import EventRecord
    from peoplegraph.linking.bodies import match_bodies
    from peoplegraph.linking.service import undo

    hidden = hidden_face_set(runtime, folder, photos, everyone, hidings)
    windowless = runtime.settings
    runtime.settings = windowless.model_copy(update={"body_time_window_h": 0.0})
    without = match_bodies(runtime, PROJECT)
    without_outcomes = outcomes(runtime, hidden)
    if without.tagged or without.queued:
        undo(runtime, PROJECT)
    runtime.settings = windowless
    runtime.graph.add_event(EventRecord(PROJECT, EVENT, "Match day"))
    runtime.graph.set_photo_event(PROJECT, [p.photo_id for p in runtime.graph.photos(PROJECT)], EVENT)
    began = time.perf_counter()
    with_event = match_bodies(runtime, PROJECT)
    seconds = time.perf_counter() - began
    return hidden, without_outcomes, without.to_dict(), outcomes(runtime, hidden), {**with_event.to_dict(),
                                                                                   "seconds": seconds}


def fusion_runtime(data_dir: Path, models: Path = MODELS, **settings):
    from peoplegraph.services.runtime import Runtime
    from peoplegraph.settings import Settings

    return Runtime(Settings(**{"data_dir": data_dir, "model_source": models, "body_reid": True, "read_metadata": False,
                               **settings}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--person-input-side", type=int, nargs="+", default=[416, 512],
                        help="person detector sides to compare (pixels, multiples of 32)")
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    args = parser.parse_args()
    rows, notes, settings = [], [], None
    for side in args.person_input_side:
        for everyone, label in ((False, "the person with the most body in each photo"),
                                (True, "every person whose body shows")):
            with tempfile.TemporaryDirectory(prefix="pg-fusion-") as scratch, \
                    fusion_runtime(Path(scratch) / "data", person_input_side=side) as runtime:
                folder = Path(scratch) / "copies"
                folder.mkdir()
                hidden, without, without_report, found, report = run(runtime, folder, everyone=everyone)
                settings = runtime.settings
            how = {case.copy: case.how for case in hidden}
            right = set(found.get("tagged", [])) | set(found.get("queued", []))
            by_hiding = ", ".join(f"{h} {sum(c.copy in right for c in hidden if c.how == h)}/"
                                  f"{sum(c.how == h for c in hidden)}" for h in HIDINGS)
            for window, got, tagged, seconds in (("no event, no time window", without, without_report["tagged"], "-"),
                                                 ("one event", found, report["tagged"], f"{report['seconds']:.2f}")):
                rows.append([side, label, window, len(hidden), len(got.get("tagged", [])), len(got.get("queued", [])),
                             len(got.get("wrong", [])), len(got.get("face", [])), tagged, seconds])
            missed = "; ".join(f"{outcome}: {', '.join(f'{name} ({how[name]})' for name in names)}"
                               for outcome, names in sorted(found.items()) if outcome not in ("tagged", "queued"))
            notes.append(f"Detector side {side}, {label}: right {len(right)}/{len(hidden)} "
                         f"({len(right) / max(len(hidden), 1):.0%}) with the event ({by_hiding}); not found right: "
                         f"{missed or 'none'}.")
            print(rows[-2:], notes[-1], flush=True)
    table = markdown_table(["detector side", "hidden", "window", "hidden faces", "tagged right", "queued right",
                            "wrong", "face still found", "bodies tagged (all)", "matching s"], rows)
    note = (f"Copies of the group photos, one face each hidden in each of three ways ({', '.join(HIDINGS)}), among "
            f"the people whose body shows (at least {BODY_HEADS} face heights tall, at most {OVERLAP:.0%} under "
            f"another's box, as the person detector boxes them in the original: the set depends on its side); body "
            f"pack {settings.body_pack}, thresholds auto {settings.body_auto_threshold} / review "
            f"{settings.body_review_threshold}, margin {settings.body_margin} (chosen on market1501-train's held-out "
            "identities, not on this set).")
    publish("Body matching: hidden faces in group photos", note, table, "\n\n".join(notes),
            report=not args.no_report)


if __name__ == "__main__":
    main()
