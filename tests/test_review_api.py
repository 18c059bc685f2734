"""Review over REST on real photos: clusters and their faces, confirm, remove, split, merge, the review queue
and undo, each decision made in the name of the key."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from litestar.testing import TestClient

from conftest import make_project, upload_photos, wait_for_job


def test_an_editor_reviews_clusters_over_rest(api: TestClient, shared_data: Path) -> None:
    make_project(api, "cast")
    lfw = shared_data / "lfw-devtrain"
    colin, tony = (sorted((lfw / who).glob("*.jpg")) for who in ("Colin_Powell", "Tony_Blair"))
    job = upload_photos(api, "cast", colin[:5] + tony[:5])
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
    job = upload_photos(api, "cast", colin[5:12])
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
                      (api.post("/projects/cast/faces/remove", json={"face_ids": ["9" * 25]}), "face_ids"),
                      (api.post("/projects/cast/clusters/merge", json={"cluster_ids": [0, 10**25]}), "cluster"),
                      # JSON's own types: a string that looks like an answer is not one
                      (api.post("/projects/cast/review", json={"face_ids": split_faces[:1], "accept": "false"}),
                       "accept: expected bool, got str"),
                      (api.post("/projects/cast/review", json={"face_ids": split_faces[:1], "accept": 0}), "accept"),
                      (api.post("/projects/cast/faces/remove", content=b"", headers={"Content-Type": "application/json"}),
                       "empty"),
                      (api.post("/projects/cast/faces/remove", content=b'{"face_ids": [',
                                headers={"Content-Type": "application/json"}), "not valid JSON")):
        assert bad.status_code == 400 and word in bad.json()["detail"], bad.text
    as_text = api.post("/projects/cast/faces/remove", content=f'{{"face_ids": ["{split_faces[0]}"]}}'.encode(),
                       headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415 and "application/json" in as_text.json()["detail"], as_text.text
    gone = api.post("/projects/cast/clusters/999/ignore")
    assert gone.status_code == 404 and "no cluster 999" in gone.json()["detail"]
    assert api.get(f"/projects/cast/clusters/{10**25}/faces").status_code == 400  # too large for an id: no 500
    assert api.get(f"/projects/cast/faces/{2**63}/crop").status_code == 400
    assert api.get("/projects/cast/clusters/999/faces").status_code == 404


def _key(admin: TestClient, project: str, role: str, name: str) -> dict[str, str]:
    answer = admin.post(f"/projects/{project}/keys", json={"name": name, "role": role})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['secret']}"}


def test_decision_history_people_search_and_undoing_ones_own(api: TestClient, shared_data: Path) -> None:
    make_project(api, "hist")
    alice, bob, olga = (_key(api, "hist", role, name) for role, name in
                        (("editor", "alice"), ("editor", "bob"), ("owner", "olga")))
    lfw = shared_data / "lfw-devtrain"
    colin, tony = (sorted((lfw / who).glob("*.jpg")) for who in ("Colin_Powell", "Tony_Blair"))
    assert upload_photos(api, "hist", colin[:4] + tony[:4])["state"] == "complete"
    first, second = api.get("/projects/hist/clusters").json()[:2]
    faces = [f["face_id"] for f in api.get(f"/projects/hist/clusters/{first['id']}/faces").json()]

    assert api.post(f"/projects/hist/clusters/{first['id']}/confirm", json={"name": "Lead"},
                    headers=alice).status_code == 200
    assert api.post("/projects/hist/faces/remove", json={"face_ids": faces[:1]}, headers=bob).status_code == 200
    steps = api.get(f"/projects/hist/faces/{faces[0]}/history").json()
    assert [(s["action"], s["actor"], s["face_id"]) for s in steps] == [("confirm", "alice", faces[0]),
                                                                         ("remove", "bob", faces[0])]
    assert (steps[0]["method"], steps[0]["person_id"], steps[0]["removed_from"]) == ("confirmed", "lead", [])
    assert steps[1]["person_id"] is None and steps[1]["removed_from"] == ["lead"] and steps[0]["seq"] < steps[1]["seq"]
    assert all(s["decided_at"] for s in steps)
    person = api.get("/projects/hist/people/lead/history").json()
    assert {s["face_id"] for s in person} == set(faces)  # every face confirmed as (or removed from) Lead
    clustered = api.get(f"/projects/hist/clusters/{first['id']}/history").json()
    assert {s["face_id"] for s in clustered} == set(faces[1:]) and {s["actor"] for s in clustered} == {"alice"}
    query = ('{ history(project: "hist", faceIds: ["%s"]) { action actor method personId removedFrom } }' % faces[0])
    assert api.post("/graphql", json={"query": query}).json()["data"]["history"] == [
        {"action": "confirm", "actor": "alice", "method": "confirmed", "personId": "lead", "removedFrom": []},
        {"action": "remove", "actor": "bob", "method": "confirmed", "personId": None, "removedFrom": ["lead"]}]
    assert api.get("/projects/hist/people/nobody/history").status_code == 404
    assert api.get("/projects/hist/faces/123/history").status_code == 404
    assert api.get("/projects/hist/faces/x/history").status_code == 400

    # undo is last first: Alice may not take back Bob's removal, Bob may, then Alice hers
    refused = api.post("/projects/hist/undo", headers=alice)
    assert refused.status_code == 409 and "'bob'" in refused.json()["detail"], refused.text
    error = api.post("/graphql", json={"query": 'mutation { undo(project: "hist") { action } }'}, headers=alice)
    assert "'bob'" in error.json()["errors"][0]["message"]
    assert api.post("/projects/hist/undo", headers=bob).json()["action"] == "undo remove"
    assert api.post("/projects/hist/undo", headers=alice).json()["action"] == "undo confirm"
    assert api.get(f"/projects/hist/faces/{faces[0]}/history").json() == []  # undone actions leave the history
    # an owner undoes anyone's
    api.post(f"/projects/hist/clusters/{second['id']}/confirm", json={"name": "Second Lead"}, headers=bob)
    assert api.post("/projects/hist/undo", headers=olga).json()["action"] == "undo confirm"

    # people, searched by name or alias
    api.post(f"/projects/hist/clusters/{first['id']}/confirm", json={"name": "Colin Powell"}, headers=alice)
    api.post(f"/projects/hist/clusters/{second['id']}/confirm", json={"name": "Tony Blair"}, headers=alice)
    edit = 'mutation { editPerson(project: "hist", id: "tony-blair", addAliases: ["PM"]) { id } }'
    assert not api.post("/graphql", json={"query": edit}).json().get("errors")
    found = api.get("/projects/hist/people?search=pOwE")
    assert [p["name"] for p in found.json()] == ["Colin Powell"] and found.headers["x-total-count"] == "1"
    assert [p["person_id"] for p in api.get("/projects/hist/people?search=pm").json()] == ["tony-blair"]
    assert len(api.get("/projects/hist/people").json()) == 2
    searched = api.post("/graphql", json={"query": '{ people(project: "hist", search: "pm") { id } }'}).json()
    assert searched["data"]["people"] == [{"id": "tony-blair"}]


def test_deleting_a_photo_takes_its_faces_decisions_and_media(api: TestClient, shared_data: Path) -> None:
    from peoplegraph.linking import repair

    make_project(api, "del")
    viewer = _key(api, "del", "viewer", "vera")
    colin = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:5]
    assert upload_photos(api, "del", colin)["state"] == "complete"
    (cluster,) = api.get("/projects/del/clusters").json()
    api.post(f"/projects/del/clusters/{cluster['id']}/confirm", json={"name": "Colin"}).raise_for_status()
    faces = api.get(f"/projects/del/clusters/{cluster['id']}/faces").json()
    gone = faces[0]
    photo = gone["photo_id"]
    assert api.get(f"/projects/del/photos/{photo}/thumbnail").status_code == 200
    assert api.get(gone["crop"]).status_code == 200

    assert api.delete(f"/projects/del/photos/{photo}", headers=viewer).status_code == 403
    deleted = api.delete(f"/projects/del/photos/{photo}")
    assert deleted.status_code == 200 and deleted.json()["deleted"] == photo
    left = api.get(f"/projects/del/clusters/{cluster['id']}/faces").json()
    assert sorted(f["face_id"] for f in left) == sorted(f["face_id"] for f in faces[1:])
    runtime = api.app.state.runtime
    assert runtime.graph.photos_by_id("del", [photo]) == [] and runtime.vectors.faces_of_photo("del", photo) == []
    assert int(gone["face_id"]) not in runtime.graph.face_decisions("del")
    assert api.get(f"/projects/del/faces/{gone['face_id']}/history").status_code == 404  # the face is gone
    assert api.get("/projects/del/people").json()[0]["photo_count"] == len(colin) - 1
    for url in (f"/projects/del/photos/{photo}/thumbnail", f"/projects/del/photos/{photo}/original", gone["crop"]):
        assert api.get(url).status_code == 404, url
    assert repair.check(runtime, "del") == []
    # the portfolio: every photo Colin is in, with his faces and their boxes in the manifest
    bundle = api.get("/projects/del/people/colin/export", headers=viewer)
    assert bundle.status_code == 200 and bundle.headers["x-export-photos"] == str(len(colin) - 1)
    assert "Colin.zip" in bundle.headers["content-disposition"]
    assert int(bundle.headers["content-length"]) == len(bundle.content)  # known before the first byte
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        assert archive.testzip() is None  # every entry's CRC checks
        inside = sorted(n for n in archive.namelist() if n.startswith("photos/"))
        assert inside == sorted(f"photos/{p.name}" for p in colin if hashlib.sha256(p.read_bytes()).hexdigest() != photo)
        manifest = json.loads(archive.read("manifest.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    graph_faces = {str(a.face_id): a for _, faces in runtime.graph.person_photos("del", "colin", limit=100)
                   for a in faces}
    assert {r["face_id"] for r in manifest["photos"]} == set(graph_faces) == {r["face_id"] for r in rows}
    for r in manifest["photos"]:
        assert (r["x1"], r["y1"], r["x2"], r["y2"]) == pytest.approx(graph_faces[r["face_id"]].box)
    assert manifest["missing"] == []
    assert api.get("/projects/del/people/nobody/export").status_code == 404
    assert api.delete(f"/projects/del/photos/{photo}").status_code == 404
    assert api.delete(f"/projects/del/photos/{'x' * 64}").status_code == 404
    (same,) = [p for p in colin if hashlib.sha256(p.read_bytes()).hexdigest() == photo]
    assert upload_photos(api, "del", [same])["result"]["new_photos"] == 1  # the same file again: a new photo
    assert runtime.graph.photos_by_id("del", [photo]) != []


def test_cluster_ids_last_and_a_gone_one_says_where_its_faces_went(api: TestClient, shared_data: Path) -> None:
    make_project(api, "ids")
    lfw = shared_data / "lfw-devtrain"
    people = [sorted((lfw / who).glob("*.jpg"))[:4] for who in ("Colin_Powell", "Tony_Blair", "George_W_Bush")]
    assert upload_photos(api, "ids", [p for photos in people for p in photos])["state"] == "complete"

    def listed() -> dict[int, list[str]]:
        return {c["id"]: sorted(f["face_id"] for f in api.get(f"/projects/ids/clusters/{c['id']}/faces").json())
                for c in api.get("/projects/ids/clusters").json()}

    before = listed()
    assert len(before) == 3
    (job_id,) = api.post("/projects/ids/clustering?mode=reset").json()["jobs"]
    assert wait_for_job(api, job_id)["state"] == "complete"
    assert listed() == before  # a reset keeps each id whose faces stay together

    kept, gone, third = sorted(before)
    api.post("/projects/ids/clusters/merge", json={"cluster_ids": [kept, gone]}).raise_for_status()
    now = listed()
    (merged,) = [c for c, faces in now.items() if set(before[kept]) <= set(faces)]
    assert gone not in now and now[third] == before[third]
    refused = api.post(f"/projects/ids/clusters/{gone}/confirm", json={"name": "X"})
    assert refused.status_code == 409, refused.text
    assert f"cluster {gone} " in refused.json()["detail"] and f"now in cluster {merged}" in refused.json()["detail"]
    assert api.get(f"/projects/ids/clusters/{gone}/faces").status_code == 409
    answer = api.post("/graphql", json={"query": f'mutation {{ ignoreCluster(project: "ids", clusterId: {gone}) '
                                                 '{ action } }'}).json()
    assert answer["errors"][0]["extensions"]["code"] == "CONFLICT"

    api.post("/projects/ids/undo").raise_for_status()  # the merge taken back: where its faces are now
    after = listed()
    detail = api.post(f"/projects/ids/clusters/{gone}/ignore").json()["detail"]
    home = {c for c, faces in after.items() if set(faces) & set(before[gone])}
    assert home and all(str(c) in detail for c in home), (detail, home)
    assert api.post("/projects/ids/clusters/999/ignore").status_code == 404  # an id no cluster ever had

    # splitting faces off and undoing it gives the cluster its id back; a new cluster never takes a gone id
    split_off = after[third][:2]
    api.post(f"/projects/ids/clusters/{third}/split", json={"face_ids": split_off}).raise_for_status()
    assert third in listed() and len(listed()) == len(after) + 1
    api.post("/projects/ids/undo").raise_for_status()
    assert listed() == after
    lfw = shared_data / "lfw-devtrain"
    newcomer = sorted((lfw / "John_Ashcroft").glob("*.jpg"))[:4]
    assert upload_photos(api, "ids", newcomer)["state"] == "complete"
    fresh = set(listed()) - set(after)
    assert fresh and min(fresh) > max([*before, *after, gone]), (fresh, before, after)


def test_clusters_show_their_quality_and_ignored_faces_can_be_listed_and_brought_back(
        api: TestClient, shared_data: Path) -> None:
    make_project(api, "extras")
    lfw = shared_data / "lfw-devtrain"
    photos = [p for who in ("Colin_Powell", "Tony_Blair") for p in sorted((lfw / who).glob("*.jpg"))[:4]]
    assert upload_photos(api, "extras", photos)["state"] == "complete"
    listed = api.get("/projects/extras/clusters").json()
    assert len(listed) == 2
    for cluster in listed:
        assert 0 <= cluster["quality"]["mean_quality"] <= 100
        assert 0 <= cluster["quality"]["low_quality_faces"] <= cluster["size"]
    extra = listed[1]
    faces = sorted(f["face_id"] for f in api.get(f"/projects/extras/clusters/{extra['id']}/faces").json())
    api.post(f"/projects/extras/clusters/{extra['id']}/ignore").raise_for_status()
    ignored = api.get("/projects/extras/faces/ignored")
    assert ignored.headers["x-total-count"] == str(len(faces)) and sorted(f["face_id"] for f in ignored.json()) == faces
    assert all(f["crop"] for f in ignored.json())
    assert len(api.get("/projects/extras/clusters").json()) == 1
    back = api.post("/projects/extras/faces/unignore", json={"face_ids": faces})
    assert back.status_code == 200 and sorted(back.json()["faces"]) == faces
    assert api.get("/projects/extras/faces/ignored").json() == [] and len(api.get("/projects/extras/clusters").json()) == 2

    # naming a cluster someone named already is refused (rename the person instead), and a misspelt field too
    named = listed[0]["id"]
    assert api.post(f"/projects/extras/clusters/{named}/confirm", json={"name": "Lead"}).status_code == 200
    again = api.post(f"/projects/extras/clusters/{named}/confirm", json={"name": "Other"})
    assert again.status_code == 409 and "'lead'" in again.json()["detail"], again.text
    assert api.post(f"/projects/extras/clusters/{named}/confirm", json={"person_id": "lead"}).status_code == 200
    typo = api.post(f"/projects/extras/clusters/{named}/confirm", json={"nmae": "Lead"})
    assert typo.status_code == 400 and "nmae" in typo.json()["detail"], typo.text
    assert [p["person_id"] for p in api.get("/projects/extras/people").json()] == ["lead"]
