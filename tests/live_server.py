"""A real `peoplegraph serve` on a free port, for the tests that talk to it as a client would (schemathesis, a
browser): the command line prepares its data folder first, then the server runs until the block ends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log: Path

    def cli(self, *args: str) -> str:
        """A `peoplegraph` command on the server's data folder (through the server while it runs)."""
        done = subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def key(self, name: str, role: str = "admin", project: str | None = None) -> str:
        args = ["keys", "create", "--name", name, "--role", role, "--json"]
        return json.loads(self.cli(*args, *(["--project", project] if project else [])))["secret"]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def server_env(data_dir: Path, model_dir: Path, **settings: str) -> dict[str, str]:
    env = {**os.environ, "PEOPLEGRAPH_DATA_DIR": str(data_dir), "PEOPLEGRAPH_MODEL_DIR": str(model_dir),
           "PEOPLEGRAPH_WARM_FACE_INDEX": "false"}
    env.update({f"PEOPLEGRAPH_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def running_server(data_dir: Path, model_dir: Path, start_timeout_s: float = 180, **settings: str
                   ) -> Iterator[LiveServer]:
    """`settings`: more PEOPLEGRAPH_* variables by their lower-case names."""
    port = free_port()
    env = server_env(data_dir, model_dir, port=str(port), **settings)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"serve-{port}.log"
    server = LiveServer(f"http://127.0.0.1:{port}", env, log_path)
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "peoplegraph.cli", "serve"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, "serve did not start:\n" + \
                    server.log_tail()
                time.sleep(0.5)
            yield server
            assert process.poll() is None, "serve died:\n" + server.log_tail()
        finally:
            process.terminate()
            process.wait(timeout=60)
