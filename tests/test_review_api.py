"""Review over REST on real photos: clusters and their faces, confirm, remove, split, merge, the review queue
and undo, each decision made in the name of the key."""

from __future__ import annotations

import time
from pathlib import Path

from litestar.testing import TestClient

from conftest import make_project


def _wait(client: TestClient, job_id: str) -> dict:
    deadline = time.monotonic() + 300
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] in ("complete", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def _upload(client: TestClient, project: str, photos: list[Path]) -> dict:
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
    answer = client.post(f"/projects/{project}/photos", files=files)
    assert answer.status_code == 202, answer.text
    return _wait(client, answer.json()["jobs"][0])


def test_an_editor_reviews_clusters_over_rest(api: TestClient, shared_data: Path) -> None:
    make_project(api, "cast")
    lfw = shared_data / "lfw-devtrain"
    colin, tony = (sorted((lfw / who).glob("*.jpg")) for who in ("Colin_Powell", "Tony_Blair"))
    job = _upload(api, "cast", colin[:5] + tony[:5])
    assert job["state"] == "complete" and job["result"]["clustering"]["clusters"] == 2  # clustered by the job

    listed = api.get("/projects/cast/clusters?status=unnamed&limit=1")
    assert listed.status_code == 200 and listed.headers["x-total-count"] == "2" and len(listed.json()) == 1
    first = listed.json()[0]
    assert 0 <= first["mean_confidence"] <= 100 and isinstance(first["representative"]["face_id"], str)
    assert api.get(first["crop"]).headers["content-type"] == "image/jpeg"
    faces = api.get(f"/projects/cast/clusters/{first['id']}/faces").json()
    assert len(faces) == first["size"] and all(isinstance(f["face_id"], str) and f["crop"] for f in faces)
    assert {"sunglasses", "profile", "blurry"} <= set(faces[0]["quality"])

    confirmed = api.post(f"/projects/cast/clusters/{first['id']}/confirm", json={"name": "Lead"})
    assert confirmed.status_code == 200 and confirmed.json()["person_id"] == "lead"
    assert api.get("/projects/cast/clusters?status=confirmed").headers["x-total-count"] == "1"
    decisions = api.app.state.runtime.graph.face_decisions("cast")
    assert {d.actor for d in decisions.values()} == {"admin"}  # the first admin key's name

    removed = api.post("/projects/cast/faces/remove", json={"face_ids": [faces[0]["face_id"]]})
    assert removed.status_code == 200 and removed.json()["faces"] == [faces[0]["face_id"]]
    undone = api.post("/projects/cast/undo")
    assert undone.status_code == 200 and undone.json()["action"].startswith("undo")

    # new photos of the confirmed person: auto-matched or queued for review
    job = _upload(api, "cast", colin[5:12])
    queue = api.get("/projects/cast/review").json()
    if queue:
        answer = api.post("/projects/cast/review", json={"face_ids": [queue[0]["face_id"]], "accept": True})
        assert answer.status_code == 200 and answer.json()["person_id"] == queue[0]["suggested_person_id"]
    people = api.app.state.runtime.graph.people("cast")
    assert [p.person_id for p in people] == ["lead"]

    other = next(c for c in api.get("/projects/cast/clusters?status=unnamed").json())
    split_faces = [f["face_id"] for f in api.get(f"/projects/cast/clusters/{other['id']}/faces").json()[:2]]
    split = api.post(f"/projects/cast/clusters/{other['id']}/split", json={"face_ids": split_faces})
    assert split.status_code == 200 and sorted(split.json()["faces"]) == sorted(split_faces)

    for bad, word in ((api.post("/projects/cast/faces/remove", json={"face_ids": ["x1"]}), "face_ids"),
                      (api.post("/projects/cast/faces/remove", json={"face_ids": []}), "face_ids"),
                      (api.get("/projects/cast/clusters?status=gone"), "status"),
                      (api.get("/projects/cast/clusters?limit=0"), "limit"),
                      (api.post("/projects/cast/clusters/999/ignore"), "no cluster 999")):
        assert bad.status_code == 400 and word in bad.json()["detail"], bad.text
    assert api.get("/projects/cast/clusters/999/faces").status_code == 404
