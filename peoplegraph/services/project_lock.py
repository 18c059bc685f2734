"""`ProjectLocks`: the work on one project that must not interleave (an editor action, a clustering run,
an auto-matching run, an ingest's writes) runs under that project's lock.

- One process (the embedded stores, which only one process may open, or no Redis configured): a
  re-entrant lock per project in this process (the API and its in-process worker are threads of it).
- Several processes or machines (PEOPLEGRAPH_REDIS_URL, which ARQ needs anyway): a Redis lock per project
  (`peoplegraph:lock:<project>`, a token only its holder can release), renewed while held so a long reset
  keeps it, and expiring `lock_ttl` seconds after a holder dies, so a killed worker never blocks the project
  for good. A thread holding the lock may take it again (an action ends with a clustering run).

Holding the lock is what lets `repair` tell a run in progress from a dead one (a run marks the graph while
it writes: a mark seen by the lock's holder was left by a run that died), and keeps undo sequence numbers
from colliding.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
KEY_PREFIX = "peoplegraph:lock:"


class ProjectBusyError(RuntimeError):
    """The project's lock could not be had in time: another process is working on it."""


class ProjectLocks:
    def __init__(self, redis_url: str | None = None, *, lock_ttl: float = 60.0, wait: float = 600.0) -> None:
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
        self.lock_ttl = float(lock_ttl)
        self.wait = float(wait)
        self._local: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()
        self._held = threading.local()

    @property
    def shared(self) -> bool:
        """Whether the locks are shared with other processes (Redis)."""
        return self._redis is not None

    @contextlib.contextmanager
    def hold(self, project: str) -> Iterator[None]:
        """Hold the project's lock for the block (waiting at most `wait` seconds for it)."""
        held: dict[str, int] = self._held.__dict__.setdefault("projects", {})
        if held.get(project):
            held[project] += 1
            try:
                yield
            finally:
                held[project] -= 1
            return
        with self._guard:
            local = self._local.setdefault(project, threading.RLock())
        if not local.acquire(timeout=self.wait):
            raise ProjectBusyError(f"project {project!r} is busy: another action on it did not finish in "
                                   f"{self.wait:.0f} s")
        try:
            with self._shared(project):
                held[project] = 1
                try:
                    yield
                finally:
                    held[project] = 0
        finally:
            local.release()

    @contextlib.contextmanager
    def _shared(self, project: str) -> Iterator[None]:
        if self._redis is None:
            yield
            return
        lock = self._redis.lock(KEY_PREFIX + project, timeout=self.lock_ttl, blocking_timeout=self.wait,
                                thread_local=False)
        if not lock.acquire():
            raise ProjectBusyError(f"project {project!r} is busy: another process held its lock for more than "
                                   f"{self.wait:.0f} s")
        done = threading.Event()

        def renew() -> None:  # keep the lock while the holder lives; a dead holder's lock expires
            while not done.wait(self.lock_ttl / 3):
                with contextlib.suppress(Exception):
                    lock.reacquire()

        keeper = threading.Thread(target=renew, name=f"lock {project}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()
            with contextlib.suppress(Exception):
                lock.release()

    def close(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                self._redis.close()


def holding_project(function: F) -> F:
    """Run `function(runtime, project, ...)` under the project's lock."""

    @functools.wraps(function)
    def locked(runtime, project, *args, **kwargs):
        with runtime.locks.hold(project):
            return function(runtime, project, *args, **kwargs)

    return locked  # type: ignore[return-value]
