"""Child process of bench/ingest_speed.py: the face_recognition library's pipeline on a list of photos.

Runs in bench/.venv-dlib (dlib-bin + face_recognition_models + face_recognition, never in the project's
environment). The tutorial approach: load_image_file, face_locations(model="hog"), face_encodings.
Reads photo paths (one a line) from the file named by argv[1]; prints one JSON object on stdout: the
wall time of the loop, the number of faces, and for each photo its image size and the faces' boxes and
128-D encodings (so the parent can score identification with the same rules as for peoplegraph).
"""

from __future__ import annotations

import json
import sys
import time

import face_recognition


def main() -> None:
    paths = [line for line in open(sys.argv[1]).read().splitlines() if line]
    photos = []
    faces = 0
    started = time.perf_counter()
    for path in paths:
        try:
            image = face_recognition.load_image_file(path)
        except Exception as exc:  # noqa: BLE001 - report and go on, as an ingest would
            photos.append({"path": path, "error": str(exc)})
            continue
        locations = face_recognition.face_locations(image, model="hog")
        encodings = face_recognition.face_encodings(image, locations)
        faces += len(locations)
        photos.append({
            "path": path, "width": image.shape[1], "height": image.shape[0],
            # face_locations gives (top, right, bottom, left); report x1 y1 x2 y2 like peoplegraph
            "boxes": [[left, top, right, bottom] for top, right, bottom, left in locations],
            "embeddings": [[round(float(v), 6) for v in e] for e in encodings],
        })
    elapsed = time.perf_counter() - started
    json.dump({"elapsed": elapsed, "faces": faces, "photos": photos}, sys.stdout)


if __name__ == "__main__":
    main()
