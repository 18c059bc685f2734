"""The API end to end: upload, worker job with progress, GraphQL, on the embedded default."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from litestar.testing import TestClient

from conftest import make_project, wait_for_job
from peoplegraph.settings import Settings

def _graphql(client: TestClient, query: str) -> dict:
    answer = client.post("/graphql", json={"query": query})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


@pytest.fixture
def client(api: TestClient) -> TestClient:
    for project in ("event", "ok"):
        make_project(api, project)
    return api


def test_upload_is_processed_by_the_worker_and_shows_in_graphql(client: TestClient, shared_data: Path) -> None:
    assert client.get("/health").json()["status"] == "ok"
    group = shared_data / "faces-misc" / "group-photos"
    files = [
        ("photos", ("t1.jpg", (group / "insightface_t1.jpg").read_bytes(), "image/jpeg")),
        ("photos", ("multiface.jpg", (group / "facenet_pytorch_multiface.jpg").read_bytes(), "image/jpeg")),
        ("photos", ("notes.jpg", b"not a photo at all", "image/jpeg")),
    ]
    answer = client.post("/projects/event/photos", files=files)
    assert answer.status_code == 202, answer.text
    (job_id,) = answer.json()["jobs"]
    job = wait_for_job(client, job_id)
    assert job["state"] == "complete", job
    assert job["progress"]["done"] == job["progress"]["total"] == 3
    result = job["result"]
    assert result["new_photos"] == 2 and result["faces"] == 12
    assert [s["path"] for s in result["skipped"]] == ["notes.jpg"]

    data = _graphql(client, '{ photos(project: "event") { path faceCount faces { id confidence box { x1 y1 x2 y2 } } } }')
    photos = {p["path"]: p for p in data["photos"]}
    assert set(photos) == {"t1.jpg", "multiface.jpg"}
    for photo in photos.values():
        assert photo["faceCount"] == len(photo["faces"]) == 6
        for face in photo["faces"]:
            assert 50 < face["confidence"] <= 100 and face["box"]["x2"] > face["box"]["x1"]

    answer = client.post("/projects/event/clustering")
    assert answer.status_code == 202
    assert wait_for_job(client, answer.json()["jobs"][0])["state"] == "complete"
    missing = client.post("/projects/event/clustering?mode=missing")  # nothing new: nothing changes
    assert missing.status_code == 202 and missing.json()["mode"] == "missing"
    assert wait_for_job(client, missing.json()["jobs"][0])["state"] == "complete"
    data = _graphql(client, '{ clusters(project: "event") { id size photoIds representative { photoId } } '
                            'people(project: "event") { id } }')
    # both photos show the same six actors, years apart: the clusters found pair a face of one photo
    # with a face of the other, never two faces of one photo (the closest pairs score 0.78 and 0.55)
    clusters = data["clusters"]
    assert len(clusters) >= 2
    photo_ids = {p["id"] for p in _graphql(client, '{ photos(project: "event") { id } }')["photos"]}
    for cluster in clusters:
        assert cluster["size"] == 2 and set(cluster["photoIds"]) == photo_ids
        assert cluster["representative"]["photoId"] in photo_ids
    assert data["people"] == []
    rest = client.get("/projects/event/clusters")
    assert rest.status_code == 200 and [c["id"] for c in rest.json()] == [c["id"] for c in clusters]

    # an editor names the largest cluster through GraphQL; the name holds through a reset
    first = clusters[0]["id"]
    named = _graphql(client, 'mutation { confirmCluster(project: "event", clusterId: %d, name: "Lead Actor") '
                             '{ action personId faceIds } }' % first)["confirmCluster"]
    assert named["personId"] == "lead-actor" and len(named["faceIds"]) == 2
    assert _graphql(client, 'mutation { resetClusters(project: "event") { clusters } }')["resetClusters"]["clusters"] >= 2
    people = _graphql(client, '{ people(project: "event") { id name photoCount photos { path } coAppearances '
                              '{ personId } } }')["people"]
    assert people == [{"id": "lead-actor", "name": "Lead Actor", "photoCount": 2, "coAppearances": [],
                       "photos": [{"path": "multiface.jpg"}, {"path": "t1.jpg"}]}]
    chain = _graphql(client, '{ coAppearanceChain(project: "event", first: "lead-actor", last: "lead-actor") '
                             '{ personIds photoIds } }')["coAppearanceChain"]
    assert chain == {"personIds": ["lead-actor"], "photoIds": []}
    both = _graphql(client, '{ photosWithAll(project: "event", personIds: ["lead-actor"]) { path } }')
    assert [p["path"] for p in both["photosWithAll"]] == ["multiface.jpg", "t1.jpg"]
    wrong = client.post("/graphql", json={"query": 'mutation { ignoreCluster(project: "event", clusterId: 999) '
                                                   '{ action } }'}).json()
    assert wrong["errors"] and "no cluster 999" in wrong["errors"][0]["message"]

    # selfie search: the largest face of t1.jpg as the selfie finds t1.jpg itself first, by its own face
    selfie = [("selfie", ("me.jpg", (group / "insightface_t1.jpg").read_bytes(), "image/jpeg"))]
    found = client.post("/projects/event/search", files=selfie)
    assert found.status_code == 200, found.text
    photos = found.json()["photos"]
    assert photos[0]["name"] == "t1.jpg" and photos[0]["via"] == "face" and photos[0]["score"] > 0.99
    assert {p["name"] for p in photos} <= {"t1.jpg", "multiface.jpg"} and "path" not in photos[0]
    assert isinstance(photos[0]["face_id"], str)
    thumb = client.get(photos[0]["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    for bad, word in (([("selfie", ("a.jpg", b"not a photo", "image/jpeg"))], "not an image"),
                      (selfie + selfie, "exactly one selfie")):
        refused = client.post("/projects/event/search", files=bad)
        assert refused.status_code == 400 and word in refused.json()["detail"], refused.text


def test_bad_requests_get_clear_errors(client: TestClient) -> None:
    answer = client.post("/projects/bad%22name/photos", files=[("photos", ("a.jpg", b"x", "image/jpeg"))])
    assert answer.status_code == 400 and "project" in answer.json()["detail"]
    answer = client.get("/jobs/no-such-job")
    assert answer.status_code == 404 and "no-such-job" in answer.json()["detail"]
    answer = client.post("/projects/ok/photos", data={"note": "no files"})
    assert answer.status_code == 400
    for body in ({}, {"json": {"photos": []}}, {"content": b"", "headers": {"content-type": "multipart/form-data; boundary=x"}},
                 {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}},
                 {"content": b"abc", "headers": {"content-type": "multipart/form-data"}}):
        for route in ("photos", "search"):  # empty, not multipart, malformed: a 400 naming it, never a 500
            answer = client.post(f"/projects/ok/{route}", **body)
            assert answer.status_code == 400 and "multipart" in answer.json()["detail"], (route, body, answer.text)
    answer = client.post("/projects", json={})
    assert answer.status_code == 400 and "name" in answer.json()["detail"]
    answer = client.post("/projects/ok/clustering?mode=sideways")
    assert answer.status_code == 400 and "mode" in answer.json()["detail"]
    data = client.post("/graphql", json={"query": '{ clusters(project: "../x") { id } }'}).json()
    assert data["errors"] and "project" in data["errors"][0]["message"]


def test_an_upload_that_cannot_be_queued_leaves_no_files(client: TestClient, app_settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from arq.connections import ArqRedis

    async def refuse(*args, **kwargs):
        raise ConnectionError("queue unavailable")

    monkeypatch.setattr(ArqRedis, "enqueue_job", refuse)
    answer = client.post("/projects/event/photos", files=[("photos", ("a.jpg", b"\xff\xd8 not much", "image/jpeg"))])
    assert answer.status_code >= 500 and "Traceback" not in answer.text
    uploads = app_settings.data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


class _GoneRedis:
    """A Redis that went down in the middle of a job."""

    async def set(self, *args, **kwargs):
        from redis.exceptions import ConnectionError as RedisConnectionError

        raise RedisConnectionError("Connection refused")


def test_an_upload_job_keeps_its_photos_and_finishes_when_redis_goes_down_mid_batch(app_settings: Settings, shared_data: Path,
                                                                       tmp_path: Path) -> None:
    import asyncio
    import shutil

    from peoplegraph.services.runtime import Runtime
    from peoplegraph.workers.tasks import ingest_photos

    spool = tmp_path / "spool"
    spool.mkdir()
    files = []
    for photo in sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:6]:
        shutil.copy(photo, spool / photo.name)
        files.append({"name": photo.name, "path": str(spool / photo.name)})
    from peoplegraph.media.cipher import MediaCipher

    uploaded = {hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest(): Path(f["path"]).read_bytes() for f in files}
    settings = app_settings.model_copy(update={"media_key": MediaCipher.generate_key()})
    with Runtime(settings) as runtime:
        ctx = {"runtime": runtime, "job_id": "job-1", "redis": _GoneRedis()}
        result = asyncio.run(ingest_photos(ctx, "gone", files, str(spool)))
        assert result["new_photos"] == 6 and result["clustering"]["clustered_faces"] >= 5  # matched and clustered
        clustered = [f for f in runtime.vectors.faces("gone") if f.cluster_id != -1]
        assert len(clustered) == result["clustering"]["clustered_faces"]
        # the uploads are kept (the spool is gone), encrypted with the media key
        for photo_id, data in uploaded.items():
            assert runtime.media.original("gone", photo_id) == data
            assert (settings.data_dir / "media" / "gone" / "originals" / photo_id[:2] / photo_id).read_bytes() != data
    assert not spool.exists()


def test_an_upload_job_streams_its_progress_as_server_sent_events(client: TestClient, shared_data: Path) -> None:
    import json

    photos = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:4]
    files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
    (job_id,) = client.post("/projects/event/photos", files=files).json()["jobs"]
    events = []
    with client.stream("GET", f"/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
                if kind == "end":
                    break
    kinds = [k for k, _ in events]
    assert kinds[-1] == "end" and set(kinds[:-1]) <= {"progress"}
    last = events[-1][1]
    assert last["state"] == "complete" and last["result"]["new_photos"] == 4
    assert last["progress"]["done"] == last["progress"]["total"] == 4 and last["progress"]["eta_s"] == 0.0
    assert last["progress"]["per_s"] > 0
    assert client.get("/jobs/nope/events").status_code == 404
    media = client.app.state.runtime.settings.data_dir / "media" / "event"
    for photo in photos:  # the worker made every thumbnail at ingest: the first look waits for nothing
        photo_id = hashlib.sha256(photo.read_bytes()).hexdigest()
        assert all((media / f"thumbnails-{side}" / photo_id[:2] / photo_id).is_file() for side in (256, 1280))
