"""Share links end to end on real photos: a guest finds exactly the photos they are in by a selfie, and
nothing else of the project."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

from litestar.testing import TestClient

from conftest import make_project
from peoplegraph.api.app import create_app
from peoplegraph.settings import Settings


def _ids(paths: list[Path]) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _search(client: TestClient, url: str, selfie: Path, password: str = "") -> TestClient:
    headers = {"X-Share-Password": password} if password else {}
    return client.post(f"{url}/search", files=[("selfie", (selfie.name, selfie.read_bytes(), "image/jpeg"))],
                       headers=headers)


def test_a_guest_finds_exactly_their_own_photos_and_nothing_else(app_settings: Settings, shared_data: Path) -> None:
    lfw = shared_data / "lfw-devtrain"
    colin, tony = (sorted((lfw / who).glob("*.jpg")) for who in ("Colin_Powell", "Tony_Blair"))
    settings = app_settings.model_copy(update={"share_searches_per_client": 4})
    with TestClient(app=create_app(settings)) as api:
        api.headers["Authorization"] = f"Bearer {api.app.state.first_admin_key}"
        make_project(api, "gala")
        files = [("photos", (p.name, p.read_bytes(), "image/jpeg")) for p in colin[:6] + tony[:6]]
        (job_id,) = api.post("/projects/gala/photos", files=files).json()["jobs"]
        deadline = time.monotonic() + 300
        while (job := api.get(f"/jobs/{job_id}").json()).get("state") not in ("complete", "failed"):
            assert time.monotonic() < deadline and "state" in job, job
            time.sleep(0.2)
        gone = api.post("/projects/gala/share-links", json={"expires_in_hours": 1e-300})  # expired before sent
        assert gone.status_code == 400 and "expires_in_hours: from 1/60" in gone.text, gone.text
        made = api.post("/projects/gala/share-links", json={"password": "gala2026", "expires_in_hours": 48})
        assert made.status_code == 201, made.text
        link = made.json()
        assert link["has_password"] and link["expires_at"] and "password" not in link
        guest = TestClient(app=api.app)  # no key: the link is the guest's only credential

        found = _search(guest, link["url"], colin[8], "gala2026")  # a photo of Colin Powell the project lacks
        assert found.status_code == 200, found.text
        photos = found.json()["photos"]
        shown = {p["download"].split("/")[4] for p in photos}
        assert shown == _ids(colin[:6])  # all of his photos, none of Tony Blair's
        assert set(photos[0]) == {"thumbnail", "large", "download"}  # no names, people, clusters or face ids
        download = guest.get(photos[0]["download"])
        assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() in shown
        assert guest.get(photos[0]["thumbnail"]).headers["content-type"] == "image/jpeg"
        tony_photo = next(iter(_ids(tony[:1])))
        forged = photos[0]["download"].replace(photos[0]["download"].split("/")[4], tony_photo)
        assert guest.get(forged).status_code == 404  # another photo: its signature does not match
        signed = photos[0]["download"].split("/")
        assert guest.get("/".join([*signed[:5], "\u00e0z\u00ff", "original"])).status_code == 404  # not ASCII: no 500
        assert guest.get("/projects/gala/clusters").status_code == 401  # nothing else of the project
        # all of them as one zip, streamed: the originals and a manifest of files, sizes and times only
        entries = ["/".join(p["download"].split("/")[4:6]) for p in photos]
        bundle = guest.post(f"{link['url']}/export", json={"photos": entries})
        assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
        assert int(bundle.headers["content-length"]) == len(bundle.content)
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            assert archive.testzip() is None
            inside = [n for n in archive.namelist() if n.startswith("photos/")]
            assert {hashlib.sha256(archive.read(n)).hexdigest() for n in inside} == shown
            manifest = json.loads(archive.read("manifest.json"))
            assert sorted(r["file"] for r in manifest["photos"]) == sorted(inside)
            assert all(set(r) == {"file", "width", "height", "taken_at"} for r in manifest["photos"])
            assert archive.read("manifest.csv").decode().startswith("file,width,height,taken_at\n")
        forged_entry = f"{tony_photo}/{entries[0].split('/')[1]}"
        assert guest.post(f"{link['url']}/export", json={"photos": [forged_entry]}).status_code == 404
        assert guest.post(f"{link['url']}/export", json={"photos": []}).status_code == 400

        assert _search(guest, link["url"], colin[8]).status_code == 404  # no password
        assert _search(guest, link["url"], colin[8], "wrong").status_code == 404
        no_face = guest.post(f"{link['url']}/search", files=[("selfie", ("x.jpg", b"not a photo", "image/jpeg"))],
                             headers={"X-Share-Password": "gala2026"})
        assert no_face.status_code == 400
        limited = _search(guest, link["url"], colin[8], "gala2026")  # the 5th this minute: wrong passwords count
        assert limited.status_code == 429 and "try again in" in limited.json()["detail"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60  # when the oldest of the minute's searches leaves it

        # an event's link finds only the event's photos; a revoked link stops at once
        runtime = api.app.state.runtime
        api.post("/graphql", json={"query": 'mutation { addEvent(project: "gala", id: "dinner", name: "Dinner") '
                                            '{ id } }'})
        runtime.graph.set_photo_event("gala", sorted(_ids(colin[:2])), "dinner")
        event_link = api.post("/projects/gala/share-links", json={"event_id": "dinner"}).json()
        found = _search(guest, event_link["url"], colin[8]).json()["photos"]
        assert {p["download"].split("/")[4] for p in found} == _ids(colin[:2])
        assert api.post("/projects/gala/share-links", json={"event_id": "nope"}).status_code == 400
        # an album: these photos alone
        album = sorted(_ids(colin[2:5]))
        album_link = api.post("/projects/gala/share-links", json={"album": album}).json()
        assert album_link["album"] == album
        found = _search(guest, album_link["url"], colin[8]).json()["photos"]
        assert {p["download"].split("/")[4] for p in found} == set(album)
        for bad in ({"album": ["0" * 64]}, {"album": album, "event_id": "dinner"}, {"album": []}, {"albm": album}):
            refused = api.post("/projects/gala/share-links", json=bad)
            assert refused.status_code == 400 and any(field in refused.json()["detail"] for field in bad), refused.text
        listed = api.get("/projects/gala/share-links").json()
        assert len(listed) == 3 and all("token" not in x for x in listed)
        assert api.delete(f"/projects/gala/share-links/{event_link['link_id']}").status_code == 200
        assert _search(guest, event_link["url"], colin[8]).status_code == 404
        assert guest.post("/share/pgs_made-up/search").status_code == 404


def test_a_guest_page_learns_only_what_the_link_asks_before_a_search(api: TestClient, monkeypatch) -> None:
    make_project(api, "gala")
    api.post("/graphql", json={"query": 'mutation { addEvent(project: "gala", id: "dinner", name: "Dinner") { id } }'})
    plain = api.post("/projects/gala/share-links", json={}).json()
    guarded = api.post("/projects/gala/share-links", json={"password": "gala2026", "expires_in_hours": 48}).json()
    dinner = api.post("/projects/gala/share-links", json={"event_id": "dinner"}).json()
    guest = TestClient(app=api.app)  # no key: the page asks as the guest does

    assert guest.get(f"{plain['url']}/about").json() == {"has_password": False, "expires_at": "", "scope": "project"}
    about = guest.get(f"{guarded['url']}/about").json()  # no password needed to learn that one is
    assert about == {"has_password": True, "expires_at": guarded["expires_at"], "scope": "project"}
    assert guest.get(f"{dinner['url']}/about").json()["scope"] == "event"
    # with the header, the password is checked before any selfie is taken
    wrong = guest.get(f"{guarded['url']}/about", headers={"X-Share-Password": "gala2025"})
    assert wrong.status_code == 404 and "password" in wrong.json()["detail"], wrong.text
    assert guest.get(f"{guarded['url']}/about", headers={"X-Share-Password": "gala2026"}).json() == about
    # a password of any script travels as RFC 8187's UTF-8'' form (a header carries ASCII only)
    accented = api.post("/projects/gala/share-links", json={"password": "café 密码"}).json()
    utf8 = {"X-Share-Password": "UTF-8''caf%C3%A9%20%E5%AF%86%E7%A0%81"}
    assert guest.get(f"{accented['url']}/about", headers=utf8).status_code == 200
    assert guest.get(f"{accented['url']}/about", headers={"X-Share-Password": "UTF-8''caf%C3%A9"}).status_code == 404
    undecodable = guest.get(f"{accented['url']}/about", headers={"X-Share-Password": "UTF-8''%FF"})
    assert undecodable.status_code == 404 and "percent-encoded" in undecodable.json()["detail"]

    api.delete(f"/projects/gala/share-links/{plain['link_id']}")
    for gone in (plain["url"], "/share/pgs_made-up", "/share/not-a-token"):
        refused = guest.get(f"{gone}/about")
        assert refused.status_code == 404 and "ask for a new one" in refused.json()["detail"], refused.text
    # expiry is checked at each request: move the clock past the link's end rather than wait for it
    monkeypatch.setattr("peoplegraph.access.share.now", lambda: "2999-01-01T00:00:00Z")
    assert guest.get(f"{guarded['url']}/about").status_code == 404
