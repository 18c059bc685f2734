"""While `peoplegraph serve` holds a data folder, the CLI's commands run in it (cli/through_server.py) instead
of being refused; with no server, they open the stores as always."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_cli_goes_through_a_running_server(shared_data: Path, model_dir: Path, tmp_path: Path) -> None:
    port = _free_port()
    data = tmp_path / "data"
    env = {**os.environ, "PEOPLEGRAPH_DATA_DIR": str(data), "PEOPLEGRAPH_MODEL_DIR": str(model_dir),
           "PEOPLEGRAPH_PORT": str(port), "PEOPLEGRAPH_WARM_FACE_INDEX": "false"}
    work = tmp_path / "work"
    (work / "photos").mkdir(parents=True)
    for photo in sorted((shared_data / "lfw-devtrain" / "Colin_Powell").glob("*.jpg"))[:4]:
        shutil.copy(photo, work / "photos")
    blair = sorted((shared_data / "lfw-devtrain" / "Tony_Blair").glob("*.jpg"))
    (work / "known" / "Tony_Blair").mkdir(parents=True)
    (work / "inbox").mkdir()
    for photo in blair[:5]:
        shutil.copy(photo, work / "known" / "Tony_Blair")
    shutil.copy(blair[6], work / "inbox")

    def cli(*args: str, **more: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args], cwd=work, env={**env, **more},
                              capture_output=True, text=True, timeout=600)

    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "peoplegraph.cli", "serve"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not (data / "serve.json").exists() or httpx.get(f"http://127.0.0.1:{port}/health").status_code != 200:
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.5)
        assert oct((data / "serve.json").stat().st_mode & 0o777) == "0o600"  # its token is the user's alone

        ingested = cli("ingest", "photos", "--project", "p", "--json")  # a relative path: the client's folder
        assert ingested.returncode == 0, ingested.stderr
        ignored = cli("--body-auto-threshold", "0.99", "reid", "queue", "--project", "p")
        assert ignored.returncode != 0 and "--body-auto-threshold" in ignored.stderr and "serve" in ignored.stderr
        assert "Traceback" not in ignored.stderr
        same = cli("--data-dir", str(data), "reid", "queue", "--project", "p")  # the server's own: fine
        assert same.returncode == 0, same.stderr
        unheard = cli("reid", "match", "--project", "p", PEOPLEGRAPH_BODY_TIME_WINDOW_H="12")  # a variable too
        assert unheard.returncode != 0 and "PEOPLEGRAPH_BODY_TIME_WINDOW_H" in unheard.stderr, unheard.stderr
        assert cli("reid", "queue", "--project", "p", PEOPLEGRAPH_NOT_A_SETTING="1").returncode == 0
        # the values the server runs with, spelt out: the data folder's own places, an empty (unset) Redis
        spelt = cli("reid", "queue", "--project", "p", PEOPLEGRAPH_MILVUS_URI=str(data / "milvus.db"),
                    PEOPLEGRAPH_REDIS_URL="")
        assert spelt.returncode == 0, spelt.stderr
        relative = cli("reid", "queue", "--project", "p", PEOPLEGRAPH_DATA_DIR=os.path.relpath(data, work),
                       PEOPLEGRAPH_FACE_INDEX_DIR=str(tmp_path / "mine"))  # the client's folder; its own index
        assert relative.returncode == 0, relative.stderr
        # a command that never opens the stores runs on its own, with its own settings
        own = cli("detect", str(work / "photos" / sorted(os.listdir(work / "photos"))[0]), "--json",
                  PEOPLEGRAPH_DETECTION_THRESHOLD="0.9")
        assert own.returncode == 0, own.stderr
        report = json.loads(ingested.stdout)
        assert report["new_photos"] == 4 and report["clustering"]["clusters"] == 1
        confirmed = cli("clusters", "confirm", "0", "--name", "Colin", "--project", "p", "--actor", "ed")
        assert confirmed.returncode == 0 and "as colin" in confirmed.stdout, confirmed.stderr
        people = json.loads(cli("people", "list", "--project", "p", "--json").stdout)
        assert [p["id"] for p in people] == ["colin"]
        refused = cli("clusters", "confirm", "7", "--name", "X", "--project", "p")
        assert refused.returncode == 1 and "no cluster 7" in refused.stderr  # errors as without a server
        alone = cli("backup", str(tmp_path / "backup"))
        assert alone.returncode == 1 and "holds this data folder" in alone.stderr and "stop the server" in alone.stderr
        token = json.loads((data / "serve.json").read_text())["token"]
        admin = httpx.post(f"http://127.0.0.1:{port}/projects", json={"name": "x"},
                           headers={"Authorization": f"Bearer {token}"})
        assert admin.status_code == 201  # the local token is the machine's own user
        key = json.loads(cli("keys", "create", "--name", "eve", "--role", "editor", "--project", "p",
                             "--json").stdout)["secret"]
        stranger = httpx.post(f"http://127.0.0.1:{port}/cli", json={"argv": ["keys", "list"], "cwd": "/", "user": "e"},
                              headers={"Authorization": f"Bearer {key}"})
        assert stranger.status_code == 403  # a key, even a valid one, never runs commands on the server
        # the folder workflows and the XMP export with paths relative to the client's folder
        enrolled = cli("enroll", "known", "--project", "p", "--json")
        assert enrolled.returncode == 0, enrolled.stderr
        assert json.loads(enrolled.stdout)["people"][0]["confirmed"] == 5
        sorted_out = cli("sort", "inbox", "sorted", "--project", "p", "--json")
        assert sorted_out.returncode == 0, sorted_out.stderr
        assert [p.name for p in (work / "sorted" / "Tony Blair").iterdir()] == [blair[6].name]
        exported = cli("xmp", "export", "--project", "p", "--person", "tony-blair", "--to", "sidecars", "--json")
        assert exported.returncode == 0, exported.stderr
        assert len(json.loads(exported.stdout)["written"]) == 5  # in their folders below the project's photos' own
        assert len(list((work / "sidecars" / "known" / "Tony_Blair").glob("*.xmp"))) == 5
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    assert not (data / "serve.json").exists()  # withdrawn when it stopped
    direct = cli("people", "list", "--project", "p", "--json")  # no server: the stores are opened directly
    assert direct.returncode == 0 and [p["id"] for p in json.loads(direct.stdout)] == ["colin", "tony-blair"]
    decisions = cli("faces", "ignored", "--project", "p", "--json")
    assert decisions.returncode == 0
