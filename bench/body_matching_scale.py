"""Body matching at library scale: the time of one whole-project run (`peoplegraph reid match`) as a library
of many events grows, against scoring every body without a face against every reference body.

A synthetic library (no photos: the scoring step alone, `linking.bodies._decide`, on the bodies it would read):
events of EVENT_PHOTOS photos with BODIES_PER_PHOTO bodies each, every event with its own EVENT_PEOPLE people
(a match: two squads) and each photo taken within the event's day (EXIF hours); a person's bodies are their
kit's embedding plus noise, so that matching finds and decides. A third of the bodies have no usable face
(candidates), the rest carry their person (references). Body matching compares a body only with the references
of its own window (the same event, or `body_time_window_h` hours), so its work should grow with the library,
not with its square; the all-pairs baseline scores every candidate against every reference and then keeps
the pairs of one window, as body matching did before, and must propose the same person, score and next
person's score for every candidate.

    python bench/body_matching_scale.py [--bodies 10000 30000 100000] [--baseline-up-to 30000] [--no-report]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown_table, publish  # noqa: E402

EVENT_PHOTOS = 200
BODIES_PER_PHOTO = 5
EVENT_PEOPLE = 40
NOISE = 0.04  # per dimension, around a person's unit embedding: two bodies of one person at cosine about 0.7
DIM = 256


def library(bodies: int, seed: int = 0):
    """(library, candidates, references) of about `bodies` bodies (module doc)."""
    from peoplegraph.linking.bodies import _Library
    from peoplegraph.observations.model import NO_FACE, BodyObservation

    rng = np.random.default_rng(seed)
    events = max(1, bodies // (EVENT_PHOTOS * BODIES_PER_PHOTO))
    event_of, hours_of, found = {}, {}, []
    for event in range(events):
        kits = rng.standard_normal((EVENT_PEOPLE, DIM)).astype(np.float32)
        kits /= np.linalg.norm(kits, axis=1, keepdims=True)
        for shot in range(EVENT_PHOTOS):
            photo = f"e{event}-p{shot}"
            event_of[photo] = f"event-{event}"
            hours_of[photo] = event * 24.0 + rng.uniform(0, 10)
            for person in rng.choice(EVENT_PEOPLE, BODIES_PER_PHOTO, replace=False).tolist():
                vector = kits[person] + rng.normal(0, NOISE, DIM).astype(np.float32)
                body_id = len(found)
                face = NO_FACE if rng.random() < 1 / 3 else 10**9 + body_id
                found.append((BodyObservation(body_id, "bench", photo, (0, 0, 1, 1), 0.9, face,
                                              vector / np.linalg.norm(vector)), f"e{event}-person{person}"))
    face_person = {b.face_id: who for b, who in found if b.face_id != NO_FACE}
    bodies_only = [b for b, _ in found]
    lib = _Library(bodies_only, None, face_person, {}, set(), set(), {}, {}, event_of, hours_of, None, {})
    return lib, [b for b in bodies_only if b.face_id == NO_FACE], [b for b in bodies_only if b.face_id != NO_FACE]


def all_pairs(lib, candidates, references, people: list[str], review: float, window: float) -> dict[int, tuple]:
    """Each candidate's best person from review up, and the next person's score, by scoring every candidate
    against every reference and keeping the pairs of one window (by candidate index)."""
    column = np.array([people.index(lib.face_person[r.face_id]) for r in references])
    refs = np.stack([r.embedding for r in references])
    ref_event = np.array([lib.event_of.get(r.photo_id, "") for r in references])
    ref_hours = np.array([lib.hours_of.get(r.photo_id, math.nan) for r in references])
    out = {}
    for start in range(0, len(candidates), 512):
        chunk = candidates[start:start + 512]
        similarity = np.stack([c.embedding for c in chunk]) @ refs.T
        events = np.array([lib.event_of.get(c.photo_id, "") for c in chunk])
        same = (events[:, None] == ref_event[None, :]) & (events[:, None] != "")
        hours = np.array([lib.hours_of.get(c.photo_id, math.nan) for c in chunk])
        close = np.abs(hours[:, None] - ref_hours[None, :]) <= window if window > 0 else np.zeros_like(same)
        similarity = np.where(same | close, similarity, -np.inf)
        for i in range(len(chunk)):
            best = np.full(len(people), -np.inf)
            np.maximum.at(best, column, similarity[i])
            order = np.argsort(-best)
            if best[order[0]] >= review:
                out[start + i] = (int(order[0]), float(best[order[0]]), float(best[order[1]]))
    return out


def main() -> None:
    from peoplegraph.linking import bodies
    from peoplegraph.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--baseline-up-to", type=int, default=30_000,
                        help="largest library the all-pairs baseline runs on")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    auto, review, margin = settings.body_auto_threshold, settings.body_review_threshold, settings.body_margin
    window = settings.body_time_window_h
    bodies._face_score = lambda *_args: None  # no face index in a synthetic library
    rows = []
    for size in args.bodies:
        lib, candidates, references = library(size)
        began = time.perf_counter()
        found = bodies._decide(lib, candidates, references, auto, review, margin, window)
        seconds = time.perf_counter() - began
        pairs = sum(int(eligible.size) for _, _, eligible in bodies._windows(lib, candidates, references, window))
        baseline, same = "-", "-"
        if size <= args.baseline_up_to:
            people = sorted(set(lib.face_person.values()))
            proposed = {index: (person, score, second) for score, second, index, person, _ in
                        bodies._proposals(lib, candidates, references, people, review, window)}
            began = time.perf_counter()
            expected = all_pairs(lib, candidates, references, people, review, window)
            baseline = f"{time.perf_counter() - began:.1f}"
            same = "yes" if proposed.keys() == expected.keys() and all(
                proposed[k][0] == expected[k][0] and math.isclose(proposed[k][1], expected[k][1], abs_tol=1e-4)
                and math.isclose(proposed[k][2], expected[k][2], abs_tol=1e-4) for k in proposed) else "NO"
        rows.append([len(lib.bodies), len(candidates), len(references), len(set(lib.event_of.values())),
                     f"{pairs / (len(candidates) * len(references)):.1%}", f"{seconds:.2f}", baseline,
                     sum(d.confirmed_as is not None for d in found), sum(d.suggested_as is not None for d in found),
                     same])
        print(rows[-1], flush=True)
    table = markdown_table(["bodies", "without a face", "references", "events", "pairs scored (of all)",
                            "matching s", "all-pairs baseline s", "tagged", "queued", "same as all-pairs"], rows)
    note = (f"Synthetic library: events of {EVENT_PHOTOS} photos x {BODIES_PER_PHOTO} bodies, {EVENT_PEOPLE} people "
            f"an event, photos within the event's day; window: the event, or {window} h; thresholds {auto} / "
            f"{review}, margin {margin}. The scoring step of `reid match` on every body of the project; reading "
            "the bodies from the store is not included.")
    publish("Body matching at library scale", note, table, report=not args.no_report)


if __name__ == "__main__":
    main()
