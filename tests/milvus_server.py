"""A real Milvus server for the tests: MILVUS_URI when set, else the Milvus 2.3.5 standalone server of the
`milvus` PyPI package (embedded etcd, local storage, no Docker), started once per test session on free
localhost ports with a temporary data folder, and stopped (its data deleted) at the end.

The package lives in its own virtualenv (`.ci/run` installs it: `.venv-milvus`), found through its
`milvus-server` command: MILVUS_SERVER_BIN, default `.venv-milvus/bin/milvus-server`. Its binaries are
xz-packed; they are unpacked once (about 6 s) into `<that venv>/milvus-server/bin`, and each session then
starts the `milvus` binary itself (not the package's launcher, which would unpack them again, look for a
metrics port from 9091 up and leave the embedded etcd on 2379/2380), with every port chosen here.

When no server can be had, the tests that need one skip with the reason, and fail instead when CI is set.
Each user of the server takes a database of its own (`private_database`), dropped when it is done."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from unavailable import Unavailable, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COMMAND = ROOT / ".venv-milvus" / "bin" / "milvus-server"
START_TIMEOUT_S = 90
# the `{{ name(type): default }}` fields of the package's config.yaml.template that name a port
PORT_KEYS = ("etcd_port", "root_coord_port", "proxy_port", "proxy_internal_port", "query_coord_port",
             "query_node_port", "index_coord_port", "index_node_port", "data_coord_port", "data_node_port")
# Runs in the package's own interpreter: unpacks the binaries (skipped when their md5 files match) and says
# where the binary and the config template are.
PREPARE = """
import json, os, sys
import milvus
cache = os.path.join(sys.prefix, "milvus-server")
milvus._initialize_data_files(cache)
data = os.path.join(os.path.dirname(milvus.__file__), "data")
print(json.dumps({"version": milvus.__version__, "binary": os.path.join(cache, "bin", "milvus"),
                  "template": os.path.join(data, "config.yaml.template"), "glog": os.path.join(data, "glog.conf")}))
"""


@dataclass
class MilvusServer:
    uri: str
    token: str = ""  # MILVUS_TOKEN (user:password) for MILVUS_URI's server
    version: str = ""
    started_in_s: float | None = None  # None: MILVUS_URI's server, not started here
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    home: Path | None = None


def unavailable(message: str) -> None:
    skip_or_fail(f"no Milvus server for the tests: {message}")


def server_command() -> Path:
    command = Path(os.environ.get("MILVUS_SERVER_BIN") or DEFAULT_COMMAND)
    if not command.exists():
        raise Unavailable(
            f"{command} is missing: install the server with `python3 -m venv .venv-milvus && "
            ".venv-milvus/bin/pip install milvus==2.3.5` (as .ci/run does), point MILVUS_SERVER_BIN at the "
            "`milvus-server` command of such an install, or set MILVUS_URI to a running server"
        )
    return command


def interpreter_of(command: Path) -> str:
    """The Python that `command` (a pip console script) runs under."""
    beside = command.parent / "python"
    if beside.exists():
        return str(beside)
    lines = command.read_text(errors="replace").splitlines()[:3]
    if lines and lines[0].startswith("#!/bin/sh"):  # pip's form for long paths: exec "python" "$0" "$@"
        found = re.search(r"""exec' "?([^"\s]+)"?""", "\n".join(lines))
        if found:
            return found.group(1)
    if lines and lines[0].startswith("#!"):
        return lines[0][2:].strip().split()[0]
    raise Unavailable(f"{command} is not a console script of the `milvus` package (no interpreter line)")


def prepare(command: Path) -> dict[str, str]:
    python = interpreter_of(command)
    try:
        done = subprocess.run([python, "-c", PREPARE], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{python} could not unpack the Milvus binaries: {exc}") from exc
    if done.returncode != 0:
        raise Unavailable(f"{python} could not unpack the Milvus binaries (is `milvus` installed there?):\n"
                          f"{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_ports(count: int) -> list[int]:
    """`count` distinct free localhost ports (all held until all are found)."""
    probes = []
    try:
        for _ in range(count):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probes.append(probe)
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def render_config(template: str, values: dict[str, object]) -> str:
    """The package's template with `{{ name(type): default }}` fields filled (a name not given: its default)."""

    def fill(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = values.get(name, default)
        if value is None:
            raise Unavailable(f"the Milvus config template has a field {name!r} with no value")
        return str(value).lower() if isinstance(value, bool) else str(value)

    return re.sub(r"\{\{\s*(\w+)\s*(?:\(\w+\))?\s*(?::\s*([^}]*?))?\s*\}\}", fill, template)


def write_config(home: Path, template: str) -> tuple[int, int]:
    """configs/milvus.yaml (and the embedded etcd's own file) in `home`; returns (proxy port, metrics port)."""
    ports = free_ports(len(PORT_KEYS) + 2)
    values: dict[str, object] = dict(zip(PORT_KEYS, ports))
    peer_port, metrics_port = ports[-2:]
    logs, data = home / "logs", home / "data"
    for folder in (home / "configs", logs, data, home / "run"):
        folder.mkdir(parents=True, exist_ok=True)
    values.update(etcd_log_path=logs / "etcd.log", system_log_path=logs, etcd_data_dir=data / "etcd.data",
                  local_storage_dir=data, rocksmq_data_dir=data / "rocksmq", etcd_log_level="warn")
    config = render_config(template, values)
    # The template has no place for the embedded etcd's listeners: without a config file of its own it
    # takes the fixed 2379 and 2380.
    client = f"http://127.0.0.1:{values['etcd_port']}"
    peer = f"http://127.0.0.1:{peer_port}"
    etcd_config = home / "configs" / "embedEtcd.yaml"
    etcd_config.write_text(
        f"listen-client-urls: {client}\nadvertise-client-urls: {client}\nlisten-peer-urls: {peer}\n"
        f"initial-advertise-peer-urls: {peer}\ninitial-cluster: default={peer}\n"
    )
    config, replaced = re.subn(r"^etcd:\n", f"etcd:\n  config:\n    path: {etcd_config}\n", config, count=1,
                               flags=re.MULTILINE)
    if not replaced:
        raise Unavailable("the Milvus config template has no `etcd:` section")
    # Loading a new collection takes 3 s at the query coordinator's pace (channels checked every 1 s, the
    # nodes' state pulled every 0.5 s); 2 s with these.
    config = re.sub(r"^queryCoord:\n", "queryCoord:\n  checkChannelInterval: 100\n", config, count=1, flags=re.MULTILINE)
    config = re.sub(r"^(\s*distPullInterval:)\s*\d+", r"\g<1> 100", config, flags=re.MULTILINE)
    (home / "configs" / "milvus.yaml").write_text(config)
    return int(values["proxy_port"]), metrics_port  # type: ignore[call-overload]


def log_tail(home: Path) -> str:
    parts = []
    for name in ("milvus-stderr.log", "milvus-stdout.log"):
        path = home / "logs" / name
        if path.exists():
            parts.append(path.read_text(errors="replace")[-2000:])
    return "\n".join(parts)


def wait_until_serving(uri: str, process: subprocess.Popen[bytes] | None, home: Path | None, deadline: float,
                       token: str = "") -> None:
    """Returns once a MilvusClient connects to `uri` and lists collections."""
    from pymilvus import MilvusClient

    error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise Unavailable(f"the Milvus server exited with {process.returncode} while starting:\n"
                              f"{log_tail(home) if home else ''}")
        try:
            client = MilvusClient(uri=uri, token=token, timeout=2)
            try:
                client.list_collections()
                return
            finally:
                client.close()
        except Exception as exc:  # not serving yet
            error = exc
            time.sleep(0.1)
    raise Unavailable(f"{uri} did not answer within {START_TIMEOUT_S} s: {error}\n{log_tail(home) if home else ''}")


def stop(server: MilvusServer) -> None:
    process = server.process
    if process is not None and process.poll() is None:
        # Killed, not stopped: its data is thrown away, and once a collection was loaded a graceful stop
        # (SIGINT) of 2.3.5 hangs for over a minute, its last components retrying the stopped root coordinator.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if server.home is not None:
        shutil.rmtree(server.home, ignore_errors=True)
    if process is not None:  # Milvus 2.3 writes this whatever MILVUS_RUN_DIR says
        Path(f"/tmp/milvus/server_id_{process.pid}").unlink(missing_ok=True)


def start() -> MilvusServer:
    """The standalone server on free ports with a fresh data folder, serving when returned."""
    began = time.monotonic()
    prepared = prepare(server_command())
    binary, template = Path(prepared["binary"]), Path(prepared["template"])
    home = Path(tempfile.mkdtemp(prefix="peoplegraph-milvus-"))
    server = MilvusServer(uri="", version=prepared["version"], home=home)
    try:
        proxy_port, metrics_port = write_config(home, template.read_text())
        shutil.copy(prepared["glog"], home / "configs" / "glog.conf")
        server.uri = f"http://127.0.0.1:{proxy_port}"
        env = {**os.environ, "DEPLOY_MODE": "STANDALONE", "METRICS_PORT": str(metrics_port),
               "MILVUS_RUN_DIR": str(home / "run"),
               "LD_LIBRARY_PATH": os.pathsep.join(p for p in (str(binary.parent), os.environ.get("LD_LIBRARY_PATH"))
                                                  if p)}
        with open(home / "logs" / "milvus-stdout.log", "wb") as out, open(home / "logs" / "milvus-stderr.log", "wb") as err:
            # its own process group: stopped with everything it starts, and not by a Ctrl-C meant for pytest
            server.process = subprocess.Popen([str(binary), "run", "standalone"], cwd=home, env=env, stdout=out,
                                              stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        wait_until_serving(server.uri, server.process, home, began + START_TIMEOUT_S)
    except BaseException:
        stop(server)
        raise
    server.started_in_s = time.monotonic() - began
    return server


class _Summary:
    """Says in pytest's summary which server the session used and how long it took to start."""

    def __init__(self, server: MilvusServer) -> None:
        self.server = server

    def pytest_terminal_summary(self, terminalreporter) -> None:  # noqa: ANN001 - pytest's hook
        server = self.server
        if server.started_in_s is None:
            line = f"Milvus server: {server.uri} (MILVUS_URI)"
        else:
            line = f"Milvus server: {server.version} standalone at {server.uri}, started in {server.started_in_s:.1f} s"
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def milvus_server(request: pytest.FixtureRequest) -> Iterator[MilvusServer]:
    """A Milvus server for the session: MILVUS_URI's, or the `milvus` package's (started once, stopped and
    deleted at the end)."""
    if os.environ.get("MILVUS_URI"):
        server = MilvusServer(uri=os.environ["MILVUS_URI"].rstrip("/"), token=os.environ.get("MILVUS_TOKEN", ""))
        try:
            wait_until_serving(server.uri, None, None, time.monotonic() + 10, server.token)
        except Unavailable as exc:
            unavailable(f"MILVUS_URI: {exc}")
        request.config.pluginmanager.register(_Summary(server))
        yield server
        return
    try:
        server = start()
    except Unavailable as exc:
        unavailable(str(exc))
    request.config.pluginmanager.register(_Summary(server))
    try:
        yield server
    finally:
        stop(server)


@contextmanager
def private_database(server: MilvusServer) -> Iterator[str]:
    """A fresh database on `server`: yields the URI that names it (`<server uri>/<database>`), and drops it
    with its collections at the end."""
    from pymilvus import MilvusClient

    name = f"peoplegraph_test_{uuid.uuid4().hex[:12]}"
    admin = MilvusClient(uri=server.uri, token=server.token)
    try:
        admin.create_database(name)
        try:
            yield f"{server.uri}/{name}"
        finally:
            inside = MilvusClient(uri=server.uri, token=server.token, db_name=name)
            try:
                for collection in inside.list_collections():
                    inside.drop_collection(collection)
            finally:
                inside.close()
            admin.drop_database(name)
    finally:
        admin.close()
