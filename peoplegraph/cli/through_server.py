"""The CLI as a client of a running `peoplegraph serve`.

The embedded stores open in one process at a time, so while `serve` holds a data folder every command on it
would be refused. Instead, `serve` writes `DATA_DIR/serve.json` (its URL, its process, and a token made for
this run; readable by its user only, who can read the stores anyway), and a command finding it sends its
arguments to the server (`POST /cli` with that token), which runs the very same command in its own process on
its open stores and answers what it printed and its exit code. Paths on the command line are resolved against
the client's folder first, so `peoplegraph ingest ./photos` ingests the photos where they lie, as without a
server. No other key may call `/cli`: it reads the server's files.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import click
import httpx

from peoplegraph.atomic import atomic_write
from peoplegraph.cli.common import ENV_PREFIX

SERVE_FILE = "serve.json"
NOT_THROUGH_SERVER = {"serve", "worker", "backup", "restore"}  # they need the folder for themselves
ON_THEIR_OWN = {"detect", "eval"}  # they never open the stores (eval makes its own): run here, with their settings
HEALTH_TIMEOUT_S = 3.0
_one_at_a_time = threading.Lock()  # a command's output is captured from the process's stdout and stderr


@dataclass(frozen=True)
class RunningServer:
    url: str
    pid: int
    token: str


def announce(data_dir: Path, url: str) -> RunningServer:
    """Write the serve file of a server starting on `data_dir` (one of this user's only)."""
    server = RunningServer(url, os.getpid(), "pgl_" + secrets.token_urlsafe(32))
    path = data_dir / SERVE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(server.__dict__).encode(), mode=0o600)
    return server


def withdraw(data_dir: Path, server: RunningServer) -> None:
    """Remove the serve file, if it is still this server's."""
    with contextlib.suppress(OSError, ValueError):
        path = data_dir / SERVE_FILE
        if json.loads(path.read_text()).get("token") == server.token:
            path.unlink()


def running_server(data_dir: Path) -> RunningServer | None:
    """The server holding `data_dir`, when one announced itself and still answers; None otherwise."""
    try:
        server = RunningServer(**json.loads((data_dir / SERVE_FILE).read_text()))
        os.kill(server.pid, 0)
        answered = httpx.get(f"{server.url}/health", timeout=HEALTH_TIMEOUT_S).status_code == 200
    except (OSError, ValueError, TypeError, httpx.HTTPError):
        return None
    return server if answered else None


def forward(server: RunningServer, argv: list[str], user: str) -> int:
    """Run the command in the server; print what it printed; its exit code."""
    try:
        environment = {k: v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}  # checked there
        answer = httpx.post(f"{server.url}/cli", json={"argv": argv, "cwd": os.getcwd(), "user": user,
                                                       "environment": environment},
                            headers={"Authorization": f"Bearer {server.token}"}, timeout=None)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the server at {server.url} that holds this data folder did not answer: {exc}")
    if answer.status_code != 200:
        raise click.ClickException(f"the server at {server.url} refused the command: {answer.text}")
    ran = answer.json()
    click.echo(ran["stderr"], err=True, nl=False)
    click.echo(ran["stdout"], nl=False)
    return int(ran["code"])


def run_here(command: click.Group, argv: list[str], obj: object) -> tuple[int, str, str]:
    """Run a command in this (the server's) process with `obj` as its context; its exit code and output."""
    out, err = io.StringIO(), io.StringIO()
    with _one_at_a_time, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            command.main(args=argv, prog_name="peoplegraph", standalone_mode=False, obj=obj)
            code = 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.exceptions.Abort:
            code = 1
        except click.ClickException as exc:
            exc.show(file=err)
            code = exc.exit_code
    return code, out.getvalue(), err.getvalue()
