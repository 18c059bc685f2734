"""A real Neo4j for the tests: NEO4J_URI (with NEO4J_USER / NEO4J_PASSWORD) when set, else Neo4j Community
embedded in the small launcher of tests/neo4j (built with Maven on first use, cached in tests/neo4j/target),
on a free localhost port with a temporary data folder, for one test session.

When no server can be had (no java or mvn, no network for Maven's first download, no neo4j driver), the
tests that need one skip with the reason, and fail instead when CI is set."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from unavailable import Unavailable, skip_or_fail

LAUNCHER_DIR = Path(__file__).resolve().parent / "neo4j"
JAR = LAUNCHER_DIR / "target" / "neo4j-launcher.jar"
SOURCES = (LAUNCHER_DIR / "pom.xml", LAUNCHER_DIR / "src" / "main" / "java" / "peoplegraph" / "neo4j" / "Launcher.java")
BUILD_TIMEOUT_S = 900  # Maven's first download of Neo4j (about 120 MB)
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60


@dataclass(frozen=True)
class Neo4jServer:
    uri: str
    user: str = "neo4j"
    password: str = ""


def unavailable(message: str) -> None:
    skip_or_fail(f"no Neo4j for the tests: {message}")


def build_launcher() -> Path:
    """tests/neo4j/target/neo4j-launcher.jar, (re)built with Maven when missing or older than its sources."""
    if JAR.exists() and (JAR.parent / "lib").is_dir() and all(JAR.stat().st_mtime >= s.stat().st_mtime for s in SOURCES):
        return JAR
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Unavailable(f"{JAR} is not built and there is no `mvn` to build it (install Maven and Java 17, "
                          "or set NEO4J_URI to a server)")
    try:
        built = subprocess.run([mvn, "-q", "-B", "-f", str(LAUNCHER_DIR / "pom.xml"), "package"], capture_output=True,
                               text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"`mvn package` in {LAUNCHER_DIR} took over {BUILD_TIMEOUT_S} s") from exc
    if built.returncode != 0 or not JAR.exists():
        raise Unavailable(f"`mvn package` in {LAUNCHER_DIR} failed (exit {built.returncode}; Maven Central "
                          f"unreachable?):\n{(built.stdout + built.stderr)[-3000:]}")
    return JAR


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_bolt(server: Neo4jServer, deadline: float) -> None:
    import neo4j

    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password)) as driver:
                driver.verify_connectivity()
            return
        except Exception as exc:  # not listening yet
            error = exc
            time.sleep(0.5)
    raise Unavailable(f"{server.uri} did not answer within {START_TIMEOUT_S} s: {error}")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    if process.stdin is not None:
        try:
            process.stdin.close()  # the launcher shuts Neo4j down cleanly and exits
        except OSError:
            pass
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class _Started:
    server: Neo4jServer
    process: subprocess.Popen[str]
    home: Path


def start_launcher() -> _Started:
    java = shutil.which("java")
    if java is None:
        raise Unavailable("there is no `java` (Java 17 runs the embedded Neo4j; or set NEO4J_URI to a server)")
    jar = build_launcher()
    home = Path(tempfile.mkdtemp(prefix="peoplegraph-neo4j-"))
    port = free_port()
    log = open(home / "launcher.log", "w")  # noqa: SIM115 - the child writes it for as long as it runs
    process = subprocess.Popen([java, "-Xmx1g", "-jar", str(jar), str(home / "db"), str(port)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    ready: list[str] = []
    reader = threading.Thread(target=lambda: ready.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout=START_TIMEOUT_S)
    try:
        if not ready or not ready[0].startswith("ready"):
            errors = (home / "launcher.log").read_text(errors="replace")[-3000:]
            raise Unavailable(f"the launcher did not start (exit {process.poll()}):\n{errors}")
        server = Neo4jServer(f"bolt://127.0.0.1:{port}")
        # whatever the launcher prints later must be read, or a full pipe would stall the server
        threading.Thread(target=process.stdout.read, daemon=True).start()  # type: ignore[union-attr]
        wait_for_bolt(server, deadline)
    except BaseException:
        _stop(process)
        shutil.rmtree(home, ignore_errors=True)
        raise
    return _Started(server, process, home)


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """A Neo4j server for the session: NEO4J_URI's, or the launcher's (started once, stopped at the end)."""
    try:
        import neo4j  # noqa: F401
    except ImportError:
        unavailable("the neo4j driver is not installed (pip install -e '.[test]')")
    if os.environ.get("NEO4J_URI"):
        yield Neo4jServer(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"),
                          os.environ.get("NEO4J_PASSWORD", ""))
        return
    try:
        started, reason = start_launcher(), ""
    except Unavailable as exc:
        started, reason = None, str(exc)
    if started is None:
        unavailable(reason)  # outside the `except`: the message alone, not a chain of tracebacks
        return
    try:
        yield started.server
    finally:
        _stop(started.process)
        shutil.rmtree(started.home, ignore_errors=True)
