"""`peoplegraph eval`: how well peoplegraph groups and recognises the people of a user's own labelled photos.

The folder holds one subfolder per person (`Person/photo.jpg`, the layout people already keep). Its photos
are ingested into a throw-away data folder (the user's stores are never touched; the model cache is
shared), clustered as every run clusters, and scored. Each photo is labelled for its largest face (the
person the folder is about; bystanders are clustered like any face but not scored).

- clustering: BCubed and pairwise precision/recall/F of the clusters against the people (faces left
  unclustered count as singletons), and the number of clusters against the number of people;
- identification: the first photo (by path) of each person with two or more is enrolled, the others are
  queries; rank-1 is the share of queries whose most similar enrolled face is their own person. TAR at FAR
  1% and 0.1%: the people with one photo are impostors (never enrolled); the threshold lets that share of
  them match someone; TAR is the share of queries matched to their own person at or above it;
- selfie search: each enrolled face is a selfie; recall is the share of the person's other photos found,
  precision the share of found photos that show the person (services/search.py);
- a sweep of the clustering threshold around the pack's, and the recommended value (best BCubed F,
  then best pairwise F). A photo whose face was not found counts against recall and rank-1;
- auto-matching as `linking/matching.py` scores it: the first REFERENCES photos of each person with more
  are confirmed references, their other photos are new faces, the people with one photo are strangers. The
  recommended auto threshold is the lowest at which tags are at least AUTO_PRECISION right and at most
  AUTO_STRANGERS of the strangers are tagged; the review threshold the lowest at which at most
  REVIEW_STRANGERS of the strangers reach the review queue (never above the auto threshold);
- the selfie search threshold swept like the clustering one; the recommended value has the best F of mean
  recall and mean precision.
These are the figures a pack's thresholds are tuned from (README, "Model packs").
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from peoplegraph.engine.metrics import bcubed, pairwise
from peoplegraph.observations.face_index import ProjectFaces
from peoplegraph.observations.model import UNCLUSTERED
from peoplegraph.services.clustering import cluster_labels
from peoplegraph.services.ingest import IngestReport, IngestService, PhotoSource, walk_images
from peoplegraph.services.runtime import Runtime
from peoplegraph.services.search import match_photos
from peoplegraph.settings import Settings

EVAL_PROJECT = "eval"
# Clustering thresholds tried around the pack's own (cosine similarity offsets).
SWEEP_OFFSETS = (-0.1, -0.075, -0.05, -0.025, 0.0, 0.025, 0.05, 0.075, 0.1)
FALSE_ACCEPT_RATES = {"tar_at_far_1e-2": 1e-2, "tar_at_far_1e-3": 1e-3}
AUTO_PRECISION = 0.999  # share of auto-tags that must be right
AUTO_STRANGERS = 0.001  # share of strangers an auto threshold may tag
REVIEW_STRANGERS = 0.10  # share of strangers that may reach the review queue
THRESHOLD_STEP = 0.005


class NotALabelledFolder(ValueError):
    pass


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    person: str


def labelled_photos(folder: Path) -> list[LabelledPhoto]:
    """Photos under `folder`, each labelled by its first-level subfolder. Raises NotALabelledFolder."""
    layout = "one subfolder per person holding that person's photos (Person/photo.jpg)"
    if not folder.is_dir():
        raise NotALabelledFolder(f"{folder}: not a folder; eval needs {layout}")
    photos = [LabelledPhoto(path, person.name)
              for person in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
              for path in walk_images(person)]
    people = {p.person for p in photos}
    if len(people) < 2:
        found = "no subfolder with photos" if not people else f"photos of one person only ({next(iter(people))})"
        raise NotALabelledFolder(f"{folder}: {found}; eval needs {layout}, for two people or more")
    return photos


def evaluate(settings: Settings, folder: Path, progress: Callable[[IngestReport, int], None] | None = None) -> dict:
    """Ingest the labelled folder into a throw-away data folder and score it (the module docstring)."""
    photos = labelled_photos(folder)
    with tempfile.TemporaryDirectory(prefix="peoplegraph-eval-") as scratch:
        scratch_settings = settings.model_copy(update={
            "data_dir": Path(scratch), "model_dir": settings.models_path, "milvus_uri": None, "graph_uri": None,
        })
        with Runtime(scratch_settings) as runtime:
            sources = [PhotoSource.of_file(p.path) for p in photos]
            report = IngestService(runtime).ingest(EVAL_PROJECT, sources, progress)
            faces = runtime.vectors.faces(EVAL_PROJECT, with_embeddings=True)
            photo_of_path = {record.path: record.photo_id for record in runtime.graph.photos(EVAL_PROJECT)}
            similarity, search_similarity = runtime.cluster_similarity, runtime.search_similarity
    columns = ProjectFaces.of(faces)
    embeddings = columns.embeddings
    person_of_photo: dict[str, str] = {}
    record_path = {photo.path: source.record_path for photo, source in zip(photos, sources)}
    for photo in photos:  # the same file in two folders keeps its first label
        photo_id = photo_of_path.get(record_path[photo.path])
        if photo_id is not None:
            person_of_photo.setdefault(photo_id, photo.person)
    labelled = _largest_face_per_photo(faces)
    people = sorted({p.person for p in photos})
    number = {name: i for i, name in enumerate(people)}
    truth = np.array([number[person_of_photo[faces[i].photo_id]] for i in labelled], np.int64)

    def scores(labels: np.ndarray) -> dict:
        predicted = labels[labelled]
        b, p = bcubed(truth, predicted), pairwise(truth, predicted)
        return {"bcubed_precision": b[0], "bcubed_recall": b[1], "bcubed_f": b[2], "pairwise_precision": p[0],
                "pairwise_recall": p[1], "pairwise_f": p[2],
                "clusters": len(set(predicted.tolist()) - {UNCLUSTERED})}

    sweep = []
    for offset in SWEEP_OFFSETS:
        value = round(similarity + offset, 4)
        labels = cluster_labels(columns, settings, value, settings.min_cluster_size)
        sweep.append({"similarity": value, **scores(labels)})
        if offset == 0.0:
            default_labels = labels
    # best BCubed F, then best pairwise F, then the value nearest the pack's own (a tie is no reason to move)
    best = max(sweep, key=lambda row: (row["bcubed_f"], row["pairwise_f"], -abs(row["similarity"] - similarity)))
    at_default = next(row for row in sweep if row["similarity"] == round(similarity, 4))
    photos_of_person: dict[str, list[str]] = {}
    for photo in sorted(photos, key=lambda p: str(p.path)):
        photo_id = photo_of_path.get(record_path[photo.path])
        if photo_id is not None and person_of_photo.get(photo_id) == photo.person:
            photos_of_person.setdefault(photo.person, []).append(photo_id)
    face_of_photo = {faces[i].photo_id: i for i in labelled}
    identification = _identification(embeddings, photos_of_person, face_of_photo)
    selfie = _selfie_search(embeddings, faces, default_labels, photos_of_person, face_of_photo, search_similarity)
    search_sweep = [_selfie_search(embeddings, faces, default_labels, photos_of_person, face_of_photo,
                                   round(search_similarity + offset, 4)) for offset in SWEEP_OFFSETS]
    best_search = max(search_sweep, key=lambda row: (_f(row["selfie_recall"], row["selfie_precision"]),
                                                     -abs(row["search_similarity"] - search_similarity)))
    matching = _matching(embeddings, photos_of_person, face_of_photo)
    return {
        "folder": str(folder),
        "photos": report.photos,
        "faces": report.faces,
        "skipped": [asdict(s) for s in report.skipped],
        "photos_without_face": len(person_of_photo) - len(labelled),
        "people": len(people),
        "people_with_2_or_more_photos": sum(len(v) >= 2 for v in photos_of_person.values()),
        "similarity": similarity,
        **at_default,
        **identification,
        **selfie,
        "matching": matching,
        "sweep": sweep,
        "search_sweep": search_sweep,
        "recommended": {"cluster_similarity": best["similarity"], "bcubed_f": best["bcubed_f"],
                        "pairwise_f": best["pairwise_f"], "auto_threshold": matching["auto_threshold"],
                        "review_threshold": matching["review_threshold"],
                        "search_similarity": best_search["search_similarity"]},
    }


def _f(recall: float | None, precision: float | None) -> float:
    if not recall or not precision:
        return 0.0
    return 2 * recall * precision / (recall + precision)


def _matching(embeddings: np.ndarray, photos_of_person: dict[str, list[str]], face_of_photo: dict[str, int]) -> dict:
    """Auto-matching scored as linking/matching.py scores it, and the thresholds it recommends (module docstring)."""
    from peoplegraph.linking.recognition import REFERENCES

    enrolled = {person: [face_of_photo[i] for i in ids[:REFERENCES] if i in face_of_photo]
                for person, ids in photos_of_person.items() if len(ids) > REFERENCES}
    people = [p for p, refs in enrolled.items() if len(refs) == REFERENCES]
    queries = [(people.index(p), face_of_photo[i]) for p in people for i in photos_of_person[p][REFERENCES:]
               if i in face_of_photo]
    strangers = [face_of_photo[ids[0]] for ids in photos_of_person.values() if len(ids) == 1 and ids[0] in face_of_photo]
    empty = {"references_per_person": REFERENCES, "people": len(people), "new_faces": len(queries),
             "strangers": len(strangers), "auto_threshold": None, "review_threshold": None,
             "auto_recall": None, "auto_precision": None, "strangers_tagged": None, "strangers_in_review": None}
    if not people or not queries or not strangers:
        return empty
    references = embeddings[[f for p in people for f in enrolled[p]]]

    def best(faces: list[int]) -> tuple[np.ndarray, np.ndarray]:
        scores = (embeddings[faces] @ references.T).reshape(len(faces), len(people), REFERENCES).mean(axis=2)
        return scores.max(axis=1), scores.argmax(axis=1)

    score, chosen = best([f for _, f in queries])
    right = chosen == np.array([p for p, _ in queries])
    stranger_score, _ = best(strangers)
    grid = np.arange(-1.0, 1.0 + THRESHOLD_STEP / 2, THRESHOLD_STEP)
    auto = review = None
    for t in grid:
        tagged = score >= t
        precision = right[tagged].mean() if tagged.any() else 1.0
        if auto is None and precision >= AUTO_PRECISION and np.mean(stranger_score >= t) <= AUTO_STRANGERS:
            auto = float(t)
        if review is None and np.mean(stranger_score >= t) <= REVIEW_STRANGERS:
            review = float(t)
    if auto is None:
        return empty
    review = min(review if review is not None else auto, auto)
    tagged = score >= auto
    return {**empty, "auto_threshold": round(auto, 4), "review_threshold": round(review, 4),
            "auto_recall": float(np.mean(tagged & right)),
            "auto_precision": float(right[tagged].mean()) if tagged.any() else None,
            "strangers_tagged": float(np.mean(stranger_score >= auto)),
            "strangers_in_review": float(np.mean((stranger_score >= review) & (stranger_score < auto)))}


def _largest_face_per_photo(faces: list) -> list[int]:
    """The index of the largest face of each photo (the person its folder is about), in face order."""
    def area(index: int) -> float:
        x1, y1, x2, y2 = faces[index].box
        return (x2 - x1) * (y2 - y1)

    largest: dict[str, int] = {}
    for index, face in enumerate(faces):
        if face.photo_id not in largest or area(index) > area(largest[face.photo_id]):
            largest[face.photo_id] = index
    return sorted(largest.values())


def _identification(embeddings: np.ndarray, photos_of_person: dict[str, list[str]],
                    face_of_photo: dict[str, int]) -> dict:
    enrolled = {person: face_of_photo.get(ids[0]) for person, ids in photos_of_person.items() if len(ids) >= 2}
    gallery_people = [p for p, face in enrolled.items() if face is not None]
    if not gallery_people:
        return {"rank1": None, "identification_queries": 0, "impostors": 0,
                **{key: None for key in FALSE_ACCEPT_RATES}}
    gallery = embeddings[[enrolled[p] for p in gallery_people]]
    queries = [(person, face_of_photo.get(photo_id)) for person in enrolled for photo_id in photos_of_person[person][1:]]
    right, genuine = 0, []
    for person, face in queries:
        if face is None:
            genuine.append(-np.inf)  # no face found: never accepted
            continue
        similarity = gallery @ embeddings[face]
        best = int(np.argmax(similarity))
        right += gallery_people[best] == person
        genuine.append(float(similarity[best]) if gallery_people[best] == person else -np.inf)
    impostor_faces = [face_of_photo[ids[0]] for ids in photos_of_person.values() if len(ids) == 1
                      and ids[0] in face_of_photo]
    impostor = (embeddings[impostor_faces] @ gallery.T).max(axis=1) if impostor_faces else np.zeros(0)
    tar = {}
    for key, rate in FALSE_ACCEPT_RATES.items():
        if len(impostor) * rate < 1:  # too few impostors to measure this rate
            tar[key] = None
            continue
        threshold = float(np.quantile(impostor, 1 - rate, method="higher"))
        tar[key] = float(np.mean(np.asarray(genuine) > threshold))
    return {"rank1": right / len(queries) if queries else None, "identification_queries": len(queries),
            "impostors": len(impostor_faces), **tar}


def _selfie_search(embeddings: np.ndarray, faces: list, labels: np.ndarray, photos_of_person: dict[str, list[str]],
                   face_of_photo: dict[str, int], threshold: float) -> dict:
    photo_ids = [f.photo_id for f in faces]
    face_ids = [f.face_id for f in faces]
    recalls, precisions = [], []
    for ids in photos_of_person.values():
        if len(ids) < 2 or ids[0] not in face_of_photo:
            continue
        truth = set(ids[1:])
        found = {m.photo_id for m in match_photos(embeddings[face_of_photo[ids[0]]], embeddings, photo_ids, face_ids,
                                                  labels, threshold)} - {ids[0]}
        recalls.append(len(found & truth) / len(truth))
        precisions.append(len(found & truth) / len(found) if found else 1.0)
    return {"selfie_recall": float(np.mean(recalls)) if recalls else None,
            "selfie_precision": float(np.mean(precisions)) if precisions else None,
            "selfies": len(recalls), "search_similarity": threshold}
