"""API keys and roles over HTTP (REST and GraphQL) and the `keys` command, on the embedded default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient

from conftest import make_project
from peoplegraph.settings import Settings

PEOPLE = '{ people(project: "%s") { id } }'
CONFIRM = 'mutation { confirmCluster(project: "%s", clusterId: 0, name: "X") { action } }'


def _key(admin: TestClient, project: str, role: str, name: str) -> str:
    answer = admin.post(f"/projects/{project}/keys", json={"name": name, "role": role})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["role"] == role and body["project"] == project and body["secret"].startswith("pgk_")
    return body["secret"]


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _graphql(client: TestClient, key: str, query: str) -> dict:
    answer = client.post("/graphql", json={"query": query}, headers=_as(key))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_roles_reach_their_own_project_only(api: TestClient) -> None:
    for project in ("alpha", "beta"):
        make_project(api, project)
    owner, editor, viewer = (_key(api, "alpha", role, f"{role} of alpha") for role in ("owner", "editor", "viewer"))
    stranger = _key(api, "beta", "owner", "owner of beta")

    # reads: every role of alpha; a key of beta finds no project alpha, in REST and GraphQL alike
    for key in (owner, editor, viewer):
        assert api.get("/projects/alpha/clusters", headers=_as(key)).status_code == 200
        assert "errors" not in _graphql(api, key, PEOPLE % "alpha")
    for _ in range(500):  # the same answer every time, as for a project that does not exist
        hidden = api.get("/projects/alpha/clusters", headers=_as(stranger))
        assert hidden.status_code == 404 and "no project 'alpha'" in hidden.json()["detail"]
        errors = _graphql(api, stranger, PEOPLE % "alpha")["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert api.get("/projects/nowhere/clusters", headers=_as(stranger)).json()["detail"] == "no project 'nowhere'"
    assert [p["name"] for p in api.get("/projects", headers=_as(stranger)).json()] == ["beta"]
    assert [p["name"] for p in api.get("/projects").json()] == ["alpha", "beta"]  # the admin's

    # writes: a viewer is refused (403), an editor gets through to the action (which refuses cluster 0 here)
    refused = api.post("/projects/alpha/clustering", headers=_as(viewer))
    assert refused.status_code == 403 and "viewer" in refused.json()["detail"]
    assert _graphql(api, viewer, CONFIRM % "alpha")["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "no cluster 0" in _graphql(api, editor, CONFIRM % "alpha")["errors"][0]["message"]
    assert api.post("/projects/alpha/clustering", headers=_as(editor)).status_code == 202

    # keys: owners manage their project's, never another's; only an admin creates projects
    assert api.get("/projects/alpha/keys", headers=_as(editor)).status_code == 403
    assert api.get("/projects/alpha/keys", headers=_as(stranger)).status_code == 404
    listed = api.get("/projects/alpha/keys", headers=_as(owner)).json()
    assert sorted(k["role"] for k in listed) == ["editor", "owner", "viewer"]
    assert all("secret" not in k and "hash" not in k for k in listed)
    assert api.post("/projects", json={"name": "gamma"}, headers=_as(owner)).status_code == 403
    viewer_id = next(k["key_id"] for k in listed if k["role"] == "viewer")
    assert api.delete(f"/projects/beta/keys/{viewer_id}", headers=_as(stranger)).status_code == 404
    revoked = api.delete(f"/projects/alpha/keys/{viewer_id}", headers=_as(owner))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api.get("/projects/alpha/clusters", headers=_as(viewer)).status_code == 401


def test_requests_without_a_live_key_or_from_another_site_are_refused(api: TestClient) -> None:
    make_project(api, "alpha")
    admin = api.headers.pop("Authorization")
    assert api.get("/health").status_code == 200  # liveness needs no key
    for headers in ({}, {"Authorization": "Bearer pgk_not-a-key"}, {"X-API-Key": "guess"},
                    {"Cookie": f"key={admin[7:]}"}):
        answer = api.get("/projects/alpha/clusters", headers=headers)
        assert answer.status_code == 401 and "key" in answer.json()["detail"], headers
    assert api.get("/projects/alpha/clusters", headers={"X-API-Key": admin[7:]}).status_code == 200
    foreign = api.post("/projects/alpha/clustering", headers={"Authorization": admin, "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "another site" in foreign.json()["detail"]
    mine = api.post("/projects/alpha/clustering", headers={"Authorization": admin, "Origin": "http://testserver.local"})
    assert mine.status_code == 202


def test_a_decision_made_with_a_key_names_the_key(api: TestClient, shared_data: Path) -> None:
    import time

    make_project(api, "event")
    editor = _key(api, "event", "editor", "Eve Editor")
    group = shared_data / "faces-misc" / "group-photos"
    files = [("photos", (name, (group / name).read_bytes(), "image/jpeg"))
             for name in ("insightface_t1.jpg", "facenet_pytorch_multiface.jpg")]
    (job_id,) = api.post("/projects/event/photos", files=files, headers=_as(editor)).json()["jobs"]
    deadline = time.monotonic() + 300
    while api.get(f"/jobs/{job_id}", headers=_as(editor)).json()["state"] not in ("complete", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert api.get(f"/jobs/{job_id}", headers=_as(_key(api, "event", "viewer", "v"))).status_code == 200
    make_project(api, "other")
    assert api.get(f"/jobs/{job_id}", headers=_as(_key(api, "other", "owner", "o"))).status_code == 404
    cluster = api.get("/projects/event/clusters", headers=_as(editor)).json()[0]["id"]
    done = _graphql(api, editor, 'mutation { confirmCluster(project: "event", clusterId: %d, name: "Lead") '
                                 '{ faceIds } }' % cluster)
    assert "errors" not in done, done
    decisions = api.app.state.runtime.graph.face_decisions("event")
    assert {d.actor for d in decisions.values() if d.method == "confirmed"} == {"Eve Editor"}


def test_the_keys_command_creates_lists_and_revokes(app_settings: Settings) -> None:
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(app_settings.data_dir),
               PEOPLEGRAPH_MODEL_DIR=str(app_settings.models_path))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "peoplegraph.cli", "keys", *args], env=env,
                              capture_output=True, text=True, timeout=300)

    made = cli("create", "--name", "root", "--role", "admin", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["secret"].startswith("pgk_") and key["role"] == "admin" and key["project"] == ""
    for args, word in ((("--name", "x", "--role", "editor", "--project", "nope"), "no project 'nope'"),
                       (("--name", "root", "--role", "admin"), "is named 'root' already"),
                       (("--name", " ", "--role", "admin"), "needs a name"),
                       (("--name", "x", "--role", "editor"), "name the project (--project)")):
        refused = cli("create", *args)
        assert refused.returncode == 1 and word in refused.stderr and "Traceback" not in refused.stderr
    listed = json.loads(cli("list", "--json").stdout)
    assert [k["key_id"] for k in listed] == [key["key_id"]] and "secret" not in listed[0]
    assert key["secret"] not in (app_settings.data_dir / "graph.lbug").read_bytes().decode("latin-1")
    assert cli("revoke", key["key_id"]).returncode == 0
    assert json.loads(cli("list", "--json").stdout)[0]["revoked_at"]
    assert "no key 'nope'" in cli("revoke", "nope").stderr


def test_a_refused_graphql_request_is_not_logged_as_a_server_error(api: TestClient,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    import logging

    make_project(api, "alpha")
    key = api.headers["Authorization"][7:]
    with caplog.at_level(logging.INFO):
        for query in (PEOPLE % "nowhere", '{ clusters(project: "../x") { id } }', "{ nonsense }",
                      CONFIRM % "alpha"):
            assert _graphql(api, key, query)["errors"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_photos_and_faces_are_served_as_images_to_those_who_may_see_them(api: TestClient, shared_data: Path,
                                                                          tmp_path: Path) -> None:
    import hashlib
    import io
    import shutil

    from PIL import Image

    from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources

    make_project(api, "stills")
    make_project(api, "other")
    folder = tmp_path / "library"
    folder.mkdir()
    photo = folder / "première\u202e.jpg"  # a right-to-left override in the name: shown without it
    shutil.copy(shared_data / "faces-misc" / "group-photos" / "insightface_t1.jpg", photo)
    runtime = api.app.state.runtime
    IngestService(runtime).ingest("stills", collect_sources([folder], IngestReport()))
    photo_id = hashlib.sha256(photo.read_bytes()).hexdigest()
    face = runtime.vectors.faces("stills")[0]
    viewer = _as(_key(api, "stills", "viewer", "v"))

    thumb = api.get(f"/projects/stills/photos/{photo_id}/thumbnail?side=256", headers=viewer)
    assert thumb.status_code == 200 and "immutable" in thumb.headers["cache-control"]
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 256
    large = Image.open(io.BytesIO(api.get(f"/projects/stills/photos/{photo_id}/thumbnail?side=1280").content))
    assert max(large.size) == min(1280, max(Image.open(photo).size))
    original = api.get(f"/projects/stills/photos/{photo_id}/original", headers=viewer)
    assert original.content == photo.read_bytes() and original.headers["content-type"] == "image/jpeg"
    assert "premi%C3%A8re.jpg" in original.headers["content-disposition"]  # the override is gone
    crop = api.get(f"/projects/stills/faces/{face.face_id}/crop", headers=viewer)
    assert crop.status_code == 200 and Image.open(io.BytesIO(crop.content)).format == "JPEG"

    stranger = _as(_key(api, "other", "viewer", "o"))
    for path in (f"/projects/stills/photos/{photo_id}/original", f"/projects/stills/faces/{face.face_id}/crop",
                 f"/projects/other/photos/{photo_id}/original"):  # another project's photo is not in `other`
        assert api.get(path, headers=stranger).status_code == 404, path
    assert api.get(f"/projects/stills/photos/{photo_id}/thumbnail?side=300").status_code == 400
    assert api.get(f"/projects/stills/photos/{'0' * 64}/original").status_code == 404
    long_id = api.get(f"/projects/stills/photos/{'f' * 5000}/original")
    assert long_id.status_code == 404 and len(long_id.json()["detail"]) < 200  # not echoed whole
    import time

    long_name = ("x" * 3000) + ".jpg"  # a client's name is kept to its last 255 characters, suffix and all
    another = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[0].read_bytes()
    (job,) = api.post("/projects/stills/photos", files=[("photos", (long_name, another, "image/jpeg"))]).json()["jobs"]
    while api.get(f"/jobs/{job}").json()["state"] not in ("complete", "failed"):
        time.sleep(0.2)
    names = [p.path for p in runtime.graph.photos("stills")]
    assert any(n.endswith(".jpg") and len(n) == 255 for n in names), [len(n) for n in names]
    assert api.get("/projects/stills/faces/12x/crop").status_code == 400
    photo.unlink()  # moved away since ingest: reported, never a 500 (the thumbnail made before stays)
    gone = api.get(f"/projects/stills/photos/{photo_id}/original")
    assert gone.status_code == 404 and "is gone" in gone.json()["detail"]
    assert api.get(f"/projects/stills/photos/{photo_id}/thumbnail?side=256").status_code == 200


def test_graphql_queries_past_the_limits_are_refused_before_they_run(api: TestClient) -> None:
    make_project(api, "alpha")
    key = api.headers["Authorization"][7:]
    aliases = "{ " + " ".join(f'a{i}: people(project: "alpha") {{ id }}' for i in range(1500)) + " }"
    refused = _graphql(api, key, aliases)["errors"][0]["message"]
    assert "aliases" in refused.lower() or "token" in refused.lower(), refused
    deep = '{ people(project: "alpha") { ' + "memberships { person { " * 6 + "id" + " } }" * 6 + " } }"
    assert "depth" in _graphql(api, key, deep)["errors"][0]["message"].lower()
    huge = api.post("/graphql", json={"query": "{ people(project: \"alpha\") { id } }" + " " * 200_000})
    assert huge.status_code == 413
    assert "errors" not in _graphql(api, key, '{ a: people(project: "alpha") { id } b: people(project: "alpha") '
                                              '{ name } }')
    codes = {
        "{ people(project: \"alpha\") { nope } }": "GRAPHQL_VALIDATION_FAILED",
        "{ people(project: \"alpha\", limit: 0) { id } }": "BAD_REQUEST",
        "{ people(project: \"nowhere\") { id } }": "NOT_FOUND",
        "mutation { undo(project: \"alpha\") { action } }": "BAD_REQUEST",  # nothing to undo
    }
    for query, code in codes.items():
        assert _graphql(api, key, query)["errors"][0]["extensions"]["code"] == code, query


def test_a_graphql_query_past_its_time_budget_is_answered_and_stopped(app_settings, monkeypatch) -> None:
    import time

    from litestar.testing import TestClient

    from peoplegraph.api.app import create_app
    from peoplegraph.services import catalog

    settings = app_settings.model_copy(update={"graphql_time_budget_s": 0.5})

    def slow_people(*args, **kwargs):
        time.sleep(3.0)
        return []

    monkeypatch.setattr(catalog, "people", slow_people)
    with TestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.first_admin_key}"
        make_project(client, "alpha")
        began = time.monotonic()
        answer = client.post("/graphql", json={"query": '{ people(project: "alpha") { id } }'})
        assert time.monotonic() - began < 2.0  # answered at the budget, not when the 3 s field would end
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "TIME_BUDGET_EXCEEDED" and "0.5 s" in error["message"]
        mutation = 'mutation { undo(project: "alpha") { action } }'  # mutations are not cut short
        assert client.post("/graphql", json={"query": mutation}).json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert client.get("/health").status_code == 200  # nobody else waits


def test_an_owner_deletes_their_project_and_nothing_of_it_is_left(api: TestClient, shared_data: Path) -> None:
    import time

    for project in ("gone", "kept"):
        make_project(api, project)
    group = shared_data / "faces-misc" / "group-photos"
    files = [("photos", ("t1.jpg", (group / "insightface_t1.jpg").read_bytes(), "image/jpeg"))]
    for project in ("gone", "kept"):
        (job_id,) = api.post(f"/projects/{project}/photos", files=files).json()["jobs"]
        deadline = time.monotonic() + 300
        while api.get(f"/jobs/{job_id}").json()["state"] not in ("complete", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    owner, editor = _key(api, "gone", "owner", "o"), _key(api, "gone", "editor", "e")
    assert api.delete("/projects/gone", headers=_as(editor)).status_code == 403
    assert api.delete("/projects/kept", headers=_as(owner)).status_code == 404
    assert api.delete("/projects/gone", headers=_as(owner)).json() == {"deleted": "gone"}
    runtime = api.app.state.runtime
    assert "gone" not in runtime.graph.projects() and runtime.vectors.unbound.count("gone") == 0
    assert not (runtime.settings.data_dir / "media" / "gone").exists()
    assert api.get("/projects/gone/clusters", headers=_as(owner)).status_code == 401  # its keys went with it
    assert len(runtime.vectors.faces("kept")) == 6 and (runtime.settings.data_dir / "media" / "kept").exists()
    assert api.delete("/projects/gone").status_code == 404


def test_swagger_and_graphiql_load_their_scripts_from_this_server(api: TestClient, monkeypatch, tmp_path) -> None:
    import re

    from peoplegraph.api.system import web_assets
    from unavailable import skip_or_fail

    if web_assets.missing():
        skip_or_fail(f"the API's browser scripts are not fetched ({', '.join(web_assets.missing())}): "
                     "run `python -m peoplegraph.api.system.web_assets`")
    anonymous = TestClient(app=api.app)
    for page in ("/graphiql", "/schema/swagger"):
        html = anonymous.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html"), page
        sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html.text)
        assert sources and not [s for s in sources if "://" in s], (page, sources)  # no CDN
        for source in sources:
            served = anonymous.get(source)
            assert served.status_code == 200 and len(served.content) > 1000, source
    assert anonymous.post("/graphql", json={"query": "{ __typename }"}).status_code == 401  # the page, not the data
    monkeypatch.setattr(web_assets, "VENDOR", tmp_path)  # not fetched: the page says how, nothing breaks
    absent = anonymous.get("/graphiql")
    assert absent.status_code == 503 and "peoplegraph.api.system.web_assets" in absent.text


def test_a_browser_session_needs_its_csrf_token_to_write_and_ends_with_its_key(api: TestClient) -> None:
    make_project(api, "alpha")
    editor = _key(api, "alpha", "editor", "eve")
    browser = TestClient(app=api.app)  # no key header: the cookie only
    assert browser.post("/session", json={"key": "pgk_wrong"}).status_code == 401
    assert browser.post("/session", json={"key": editor}, headers={"Origin": "https://evil.example"}).status_code == 403
    signed = browser.post("/session", json={"key": editor})
    assert signed.status_code == 200, signed.text
    who = signed.json()
    assert (who["name"], who["role"], who["project"]) == ("eve", "editor", "alpha") and len(who["csrf"]) == 64
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and editor.lower() not in cookie  # not the key
    assert browser.get("/projects/alpha/clusters").status_code == 200  # reads with the cookie alone
    assert browser.get("/session").json()["csrf"] == who["csrf"]
    write = {"query": 'mutation { addEvent(project: "alpha", id: "gala", name: "Gala") { id } }'}
    assert browser.post("/graphql", json=write).status_code == 403  # a write without the token
    assert browser.post("/graphql", json=write, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    done = browser.post("/graphql", json=write, headers={"X-CSRF-Token": who["csrf"]})
    assert done.status_code == 200 and not done.json().get("errors"), done.text
    assert browser.get("/projects/beta/clusters").status_code == 404  # the key's reach, as with the header

    key_id = next(k["key_id"] for k in api.get("/projects/alpha/keys").json() if k["name"] == "eve")
    api.delete(f"/projects/alpha/keys/{key_id}")
    assert browser.get("/projects/alpha/clusters").status_code == 401  # revoking the key ends its sessions
    assert browser.get("/session").status_code == 401
    again = TestClient(app=api.app)
    owner = _key(api, "alpha", "owner", "olga")
    assert again.post("/session", json={"key": owner}).status_code == 200
    assert again.delete("/session").json() == {"signed_out": True}
    assert again.get("/projects/alpha/clusters").status_code == 401  # signed out: the cookie is gone


def test_a_thousand_requests_with_another_projects_key_to_real_ids_all_find_nothing(
        api: TestClient, shared_data: Path) -> None:
    import time

    for project in ("alpha", "beta"):
        make_project(api, project)
    colin = sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:3]
    (job,) = api.post("/projects/alpha/photos", files=[("photos", (p.name, p.read_bytes(), "image/jpeg"))
                                                       for p in colin]).json()["jobs"]
    deadline = time.monotonic() + 300
    while api.get(f"/jobs/{job}").json().get("state") not in ("complete", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    (cluster,) = api.get("/projects/alpha/clusters").json()
    api.post(f"/projects/alpha/clusters/{cluster['id']}/confirm", json={"name": "Colin"}).raise_for_status()
    face = api.get(f"/projects/alpha/clusters/{cluster['id']}/faces").json()[0]
    photo, face_id, c = face["photo_id"], face["face_id"], cluster["id"]
    stranger = _as(_key(api, "beta", "owner", "owner of beta"))
    a = "/projects/alpha"
    reads = [f"{a}/clusters", f"{a}/clusters/{c}/faces", f"{a}/clusters/{c}/history", f"{a}/photos/{photo}/thumbnail",
             f"{a}/photos/{photo}/original", f"{a}/faces/{face_id}/crop", f"{a}/faces/{face_id}/history",
             f"{a}/people", f"{a}/people/colin/history", f"{a}/people/colin/export", f"{a}/review", f"{a}/keys",
             f"{a}/share-links", f"/jobs/{job}", f"/jobs/{job}/events"]
    writes = [("POST", f"{a}/clusters/{c}/confirm", {"name": "X"}), ("POST", f"{a}/clusters/{c}/ignore", None),
              ("POST", f"{a}/faces/remove", {"face_ids": [face_id]}), ("POST", f"{a}/undo", None),
              ("DELETE", f"{a}/photos/{photo}", None), ("POST", f"{a}/share-links", {}),
              ("POST", f"{a}/clustering", None), ("DELETE", a, None)]
    answers = []
    while len(answers) < 1000:
        for path in reads:
            answers.append((path, api.get(path, headers=stranger).status_code))
        for method, path, body in writes:
            answers.append((path, api.request(method, path, json=body, headers=stranger).status_code))
    assert {code for _, code in answers} == {404}, sorted({(p, code) for p, code in answers if code != 404})
    graph = '{ person(project: "alpha", id: "colin") { name } }'
    assert _graphql(api, stranger["Authorization"][7:], graph)["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert api.get(f"{a}/people/colin/export").status_code == 200  # all still there for alpha's own keys


def test_an_oversize_upload_is_refused_as_it_streams_in_naming_the_limit(app_settings) -> None:
    from litestar.testing import TestClient

    from peoplegraph.api.app import create_app

    with TestClient(app=create_app(app_settings.model_copy(update={"max_upload_bytes": 1_000_000}))) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.first_admin_key}"
        make_project(client, "alpha")

        def endless():  # no Content-Length: only counting the bytes as they come can stop it
            for _ in range(100):
                yield b"0" * 1_000_000

        refused = client.post("/projects/alpha/photos", content=endless(),
                              headers={"content-type": "multipart/form-data; boundary=x"})
        assert refused.status_code == 413 and "1,000,000 bytes" in refused.json()["detail"]
        assert "PEOPLEGRAPH_MAX_UPLOAD_BYTES" in refused.json()["detail"]


def test_keys_and_sessions_on_neo4j_are_read_through_the_async_driver(app_settings, neo4j_server) -> None:
    """On Neo4j the key every request presents (or its browser session names) is read on the event loop with
    the driver's async API; a revoked key is refused there at once, and so are its sessions."""
    import uuid

    from peoplegraph.access.keys import KeyService
    from peoplegraph.api.app import create_app
    from peoplegraph.identity.neo4j_store import AsyncNeo4jReads

    settings = app_settings.model_copy(update={"graph_uri": neo4j_server.uri, "graph_user": neo4j_server.user,
                                               "graph_password": neo4j_server.password})
    with TestClient(app=create_app(settings)) as client:
        assert isinstance(client.app.state.graph_reads, AsyncNeo4jReads)
        keys = KeyService(client.app.state.runtime.graph)
        issued = keys.create(f"async-{uuid.uuid4().hex[:8]}", "admin")
        try:
            assert client.get("/projects", headers={"Authorization": f"Bearer {issued.secret}"}).status_code == 200
            assert client.get("/projects", headers={"Authorization": f"Bearer {issued.secret}x"}).status_code == 401
            signed_in = client.post("/session", json={"key": issued.secret})
            assert signed_in.status_code in (200, 201), signed_in.text
            assert client.get("/projects").status_code == 200  # the session's cookie
        finally:
            keys.revoke(issued.record.key_id)
        assert client.get("/projects").status_code == 401  # its sessions end with the key
        assert client.get("/projects", headers={"Authorization": f"Bearer {issued.secret}"}).status_code == 401
