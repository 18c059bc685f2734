"""Ingest speed against the face_recognition library and against the compute floor (issue 3).

On one fixed set of 500 photos from ../shared/data (440 LFW photos: 4 each of 110 people with 4+ photos,
spread over lfw-devtrain; plus 60 larger faces-misc photos: every group photo, the face_recognition
examples and deepface images spread over their folder), one run measures side by side:

1. peoplegraph: the real `peoplegraph ingest --no-cluster --json` in a child process on a fresh data
   folder (the model folder is reused), wall time of the child including start and model loading;
2. face_recognition (dlib HOG + ResNet 128-D, the tutorial pipeline) in a child process running in
   bench/.venv-dlib (made on first use: dlib-bin + face_recognition_models, face_recognition --no-deps),
   single-threaded as the library is, wall time of the child including start and model loading;
3. rank-1 identification on the LFW photos for both: the face nearest the image centre of the first
   photo of each person is enrolled, that of every other photo is a query (cosine nearest neighbour for
   SFace, Euclidean for dlib); a photo with no face found counts as a miss;
4. the compute floor: MACs of Conv/Gemm/MatMul in the ONNX graphs (YuNet at the input sizes it gets, SFace
   at 112x112)
   against numpy float32 matmul GFLOP/s on 2 threads measured in the same run, for the faces per photo
   that peoplegraph found.

Peak RSS is each child's own (os.wait4). Other work may share this machine: compare the ratios.

    python bench/ingest_speed.py [--no-report]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, SHARED_DATA, markdown_table, publish  # noqa: E402

PROJECT = "bench"
DLIB_VENV = REPO / "bench" / ".venv-dlib"
WORKER = REPO / "bench" / "_face_recognition_worker.py"
LFW_PEOPLE, LFW_PER_PERSON, MISC_COUNT = 110, 4, 60
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


# -- the photos ---------------------------------------------------------------------------------------
def pick_lfw(folder: Path) -> list[tuple[Path, str]]:
    """4 photos each of 110 people with 4+ photos, the people spread evenly over the sorted folder."""
    by_person: dict[str, list[str]] = defaultdict(list)
    with (folder / "labels.csv").open() as handle:
        for row in csv.DictReader(handle):
            by_person[row["identity"]].append(row["path"])
    eligible = sorted(p for p, paths in by_person.items() if len(paths) >= LFW_PER_PERSON)
    step = len(eligible) / LFW_PEOPLE
    people = [eligible[int(i * step)] for i in range(LFW_PEOPLE)]
    return [(folder / path, person) for person in people for path in sorted(by_person[person])[:LFW_PER_PERSON]]


def pick_misc(folder: Path) -> list[Path]:
    def images(sub: str) -> list[Path]:
        return sorted(p for p in (folder / sub).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)

    chosen = images("group-photos") + images("face-recognition")
    rest = images("deepface")
    need = MISC_COUNT - len(chosen)
    step = len(rest) / need
    return chosen + [rest[int(i * step)] for i in range(need)]


# -- children -----------------------------------------------------------------------------------------
def run_child(command: list[str], env: dict[str, str] | None = None) -> tuple[str, float, float]:
    """Run a child; return its stdout, wall seconds and its own peak RSS in MiB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"{' '.join(command[:4])} ... failed ({child.returncode}):\n{err.read()[-3000:]}")
        return out.read(), elapsed, usage.ru_maxrss / 1024


def ensure_dlib_venv() -> Path:
    python = DLIB_VENV / "bin" / "python"
    probe = [str(python), "-c", "import face_recognition, dlib"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", str(DLIB_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "dlib-bin", "face_recognition_models", "numpy", "pillow", "setuptools<81"], check=True)
    subprocess.run([*pip, "--no-deps", "face_recognition"], check=True)
    subprocess.run(probe, check=True)
    return python


def dump_faces() -> None:
    """Child mode: print {photo_id: [[box, embedding], ...]} of the bench project in PEOPLEGRAPH_DATA_DIR."""
    from peoplegraph.services.runtime import Runtime
    from peoplegraph.settings import Settings

    found: dict[str, list] = defaultdict(list)
    with Runtime(Settings()) as runtime:
        for face in runtime.vectors.faces(PROJECT, with_embeddings=True):
            found[face.photo_id].append([list(face.box), [float(v) for v in face.embedding]])
    json.dump(found, sys.stdout)


# -- identification -----------------------------------------------------------------------------------
def central(faces: list[tuple[list[float], list[float]]], width: float, height: float) -> np.ndarray | None:
    """The embedding of the face whose box centre is nearest the image centre (LFW centres its person)."""
    if not faces:
        return None
    def distance(face: tuple[list[float], list[float]]) -> float:
        x1, y1, x2, y2 = face[0]
        return ((x1 + x2) / 2 - width / 2) ** 2 + ((y1 + y2) / 2 - height / 2) ** 2
    return np.asarray(min(faces, key=distance)[1], np.float64)


def rank1(embeddings: list[np.ndarray | None], people: list[str], metric: str) -> tuple[float, int]:
    """Enroll the first photo of each person, query the others; misses include photos with no face."""
    gallery: dict[str, np.ndarray | None] = {}
    queries: list[tuple[np.ndarray | None, str]] = []
    for embedding, person in zip(embeddings, people):
        if person in gallery:
            queries.append((embedding, person))
        else:
            gallery[person] = embedding  # may be None: that person's queries then cannot be right
    names = [p for p, e in gallery.items() if e is not None]
    matrix = np.stack([gallery[p] for p in names])
    if metric == "cosine":
        matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    right = 0
    for embedding, person in queries:
        if embedding is None:
            continue
        if metric == "cosine":
            best = int(np.argmax(matrix @ (embedding / np.linalg.norm(embedding))))
        else:
            best = int(np.argmin(np.linalg.norm(matrix - embedding, axis=1)))
        right += names[best] == person
    return right / len(queries), len(queries)


# -- the compute floor --------------------------------------------------------------------------------
def graph_macs(path: Path, input_shape: tuple[int, ...]) -> int:
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, size in zip(dims, input_shape):
        dim.ClearField("dim_param")
        dim.dim_value = size
    model = shape_inference.infer_shapes(model)
    shapes: dict[str, list[int]] = {}
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        shapes[value.name] = [d.dim_value for d in value.type.tensor_type.shape.dim]
    for tensor in model.graph.initializer:
        shapes[tensor.name] = list(tensor.dims)
    macs = 0
    for node in model.graph.node:
        if node.op_type not in {"Conv", "Gemm", "MatMul"}:
            continue
        out = shapes.get(node.output[0])
        weight = shapes.get(node.input[1])
        if not out or not weight or 0 in out:
            raise RuntimeError(f"{path.name}: no inferred shape for {node.op_type} {node.name}")
        if node.op_type == "Conv":
            macs += int(np.prod(out)) * int(np.prod(weight[1:]))
        elif node.op_type == "Gemm":
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            macs += int(np.prod(out)) * (weight[1] if trans_b else weight[0])
        else:
            macs += int(np.prod(out)) * shapes[node.input[0]][-1]
    return macs


def matmul_gflops(size: int = 1024, repeats: int = 12) -> float:
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


# -- main ---------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-report", action="store_true", help="print only; do not append to docs/benchmarks.md")
    parser.add_argument("--dump-faces", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump_faces:
        return dump_faces()
    lfw_folder, misc_folder = SHARED_DATA / "lfw-devtrain", SHARED_DATA / "faces-misc"
    if not lfw_folder.is_dir() or not misc_folder.is_dir():
        sys.exit(f"{SHARED_DATA} lacks lfw-devtrain/ or faces-misc/ (the benchmark reads ../shared/data)")
    lfw = pick_lfw(lfw_folder)
    photos = [p for p, _ in lfw] + pick_misc(misc_folder)
    people = [person for _, person in lfw]
    dlib_python = ensure_dlib_venv()

    from peoplegraph.settings import Settings

    models_path = Settings().models_path
    gflops_before = matmul_gflops()

    with tempfile.TemporaryDirectory(prefix="pg-speed-") as tmp:
        listing = Path(tmp) / "photos"
        listing.mkdir()
        for i, photo in enumerate(photos):
            (listing / f"{i:06d}{photo.suffix.lower()}").symlink_to(photo.resolve())
        env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(Path(tmp) / "data"), PEOPLEGRAPH_MODEL_DIR=str(models_path))
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env.pop(var, None)  # the children run as users run them
        ours_out, ours_wall, ours_rss = run_child(
            [sys.executable, "-m", "peoplegraph.cli", "ingest", str(listing), "--project", PROJECT,
             "--no-cluster", "--json"], env)
        ours = json.loads(ours_out)
        stored, _, _ = run_child([sys.executable, str(Path(__file__).resolve()), "--dump-faces"], env)
        stored_faces = json.loads(stored)

        list_file = Path(tmp) / "photos.txt"
        list_file.write_text("\n".join(str(p) for p in photos) + "\n")
        fr_out, fr_wall, fr_rss = run_child([str(dlib_python), str(WORKER), str(list_file)],
                                            dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
        fr = json.loads(fr_out)
    gflops = max(gflops_before, matmul_gflops())

    # identification on the LFW photos
    ours_central, fr_central = [], []
    for (path, _), fr_photo in zip(lfw, fr["photos"][: len(lfw)]):
        photo_id = hashlib.sha256(path.read_bytes()).hexdigest()
        from PIL import Image

        with Image.open(path) as image:
            width, height = image.size
        ours_central.append(central(stored_faces.get(photo_id, []), width, height))
        fr_central.append(central(list(zip(fr_photo.get("boxes", []), fr_photo.get("embeddings", []))),
                                  width, height))
    ours_rank1, queries = rank1(ours_central, people, "cosine")
    fr_rank1, _ = rank1(fr_central, people, "euclidean")

    # the compute floor
    folder = models_path / "yunet-sface"
    # conv work grows with the input's area: YuNet's MACs at 640x640, scaled by the mean area of the inputs
    # it really gets (the longer side 640, the shorter in proportion, rounded up to a multiple of 32)
    from PIL import Image

    from peoplegraph.engine.packs.yunet_sface import YUNET_SIDE, detector_canvas

    areas = []
    for photo in photos:
        with Image.open(photo) as image:
            height, width = detector_canvas(image.height, image.width)
        areas.append(height * width / YUNET_SIDE**2)
    det_flops = 2 * graph_macs(folder / "yunet_2023mar.onnx", (1, 3, YUNET_SIDE, YUNET_SIDE)) * float(np.mean(areas))
    rec_flops = 2 * graph_macs(folder / "sface_2021dec.onnx", (1, 3, 112, 112))
    faces_per_photo = ours["faces"] / max(ours["new_photos"], 1)
    photo_flops = det_flops + faces_per_photo * rec_flops
    floor_photos = gflops * 1e9 / photo_flops

    n = ours["photos"]
    ours_photos, ours_faces = n / ours_wall, ours["faces"] / ours_wall
    fr_n = sum("error" not in p for p in fr["photos"])
    fr_photos, fr_faces = fr_n / fr_wall, fr["faces"] / fr_wall
    speedup = ours_photos / fr_photos
    floor_ratio = floor_photos / ours_photos
    header = ["pipeline", "photos/s", "faces/s", "peak RSS MiB", "rank-1", "ratio to face_recognition"]
    rows = [
        ["peoplegraph (YuNet + SFace, 2 threads)", f"{ours_photos:.2f}", f"{ours_faces:.2f}", f"{ours_rss:.0f}",
         f"{ours_rank1:.3f}", f"{speedup:.2f}x"],
        ["face_recognition (dlib HOG + ResNet, 1 thread)", f"{fr_photos:.2f}", f"{fr_faces:.2f}", f"{fr_rss:.0f}",
         f"{fr_rank1:.3f}", "1.00x"],
        [f"compute floor ({gflops:.0f} GFLOP/s, {faces_per_photo:.2f} faces/photo)", f"{floor_photos:.1f}",
         f"{floor_photos * faces_per_photo:.1f}", "-", "-", f"{floor_photos / fr_photos:.1f}x"],
    ]
    table = markdown_table(header, rows)
    met_speed = speedup >= 5 and ours_rank1 >= fr_rank1
    met_floor = floor_ratio <= 3
    verdict = (
        f"Targets (issue 3): at least 5x face_recognition's photos/s at equal or better rank-1: "
        f"{speedup:.2f}x at rank-1 {ours_rank1:.3f} vs {fr_rank1:.3f}, **{'met' if met_speed else 'not met'}**; "
        f"within 3x of the compute floor: {floor_ratio:.1f}x slower than the floor, "
        f"**{'met' if met_floor else 'not met'}**."
    )
    note = (
        f"{len(photos)} photos ({len(lfw)} LFW: {LFW_PER_PERSON} each of {LFW_PEOPLE} people; {len(photos) - len(lfw)} "
        f"faces-misc: group photos, face_recognition examples, deepface images). peoplegraph: `peoplegraph ingest "
        f"--no-cluster --json` in a child process (fresh data folder, embedded stores), {ours['faces']} faces, "
        f"{len(ours['skipped'])} skipped, {ours_wall:.1f} s; face_recognition: load_image_file, "
        f"face_locations(model=\"hog\"), face_encodings in a child process, {fr['faces']} faces, {fr_wall:.1f} s "
        f"({fr['elapsed']:.1f} s in its loop). Both times are the child's wall time including start and model "
        f"loading. Rank-1: the central face of the first LFW photo of each person enrolled, the other "
        f"{queries} photos queried (nearest neighbour, cosine for SFace, Euclidean for dlib; no face = miss). "
        f"Compute floor: YuNet {det_flops / 1e9:.2f} GFLOP per photo (its mean input, longer side 640), "
        f"SFace {rec_flops / 1e9:.2f} GFLOP "
        f"per face at 112x112 (Conv/Gemm/MatMul MACs x2 from the ONNX graphs) against numpy float32 matmul "
        f"{gflops:.0f} GFLOP/s on 2 threads measured in this run."
    )
    publish("Ingest speed vs face_recognition and the compute floor", note, table, verdict,
            report=not args.no_report)


if __name__ == "__main__":
    main()
