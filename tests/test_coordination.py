"""Several processes on one project: the per-project lock (in process, and in Redis across processes) and
the change journal that keeps each process's face index current."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import peoplegraph.observations.journal as journal_module
from peoplegraph.observations.indexed import IndexedVectorStore
from peoplegraph.observations.journal import ChangeJournal
from peoplegraph.services.project_lock import ProjectBusyError, ProjectLocks
from peoplegraph.workers.redis_server import PrivateRedis
from processes import ROOT
from synthetic_runtime import MemoryVectors
from test_face_index import DIM, _faces


@pytest.fixture
def redis_url(tmp_path: Path):
    with PrivateRedis(tmp_path / "redis") as server:
        yield server.url


def test_a_thread_may_take_its_lock_again_and_others_wait() -> None:
    locks = ProjectLocks(wait=0.2)
    order = []
    with locks.hold("p"), locks.hold("p"):  # an action ends with a clustering run: the same lock again
        waiter = threading.Thread(target=lambda: _try(locks, "p", order))
        waiter.start()
        waiter.join()
        with locks.hold("q"):  # another project is not held up
            order.append("q")
    assert order == ["busy", "q"]
    with locks.hold("p"):
        order.append("p")
    assert order[-1] == "p"


def _try(locks: ProjectLocks, project: str, order: list[str]) -> None:
    try:
        with locks.hold(project):
            order.append("held")
    except ProjectBusyError:
        order.append("busy")


HOLDER = textwrap.dedent("""
    import sys, time
    from peoplegraph.services.project_lock import ProjectLocks
    locks = ProjectLocks(sys.argv[1], lock_ttl=float(sys.argv[2]))
    with locks.hold("p"):
        print("held", flush=True)
        time.sleep(float(sys.argv[3]))
    print("released", flush=True)
""")


def test_the_redis_lock_is_shared_by_processes_and_renewed_while_held(redis_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, redis_url, "1", "3"], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        locks = ProjectLocks(redis_url, lock_ttl=1, wait=1.5)
        with pytest.raises(ProjectBusyError, match="another process"):  # held past its 1 s ttl: renewed
            with locks.hold("p"):
                pass
        started = time.monotonic()
        with ProjectLocks(redis_url, wait=30).hold("p"):
            waited = time.monotonic() - started
        assert holder.stdout.readline().strip() == "released" and waited < 10
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holders_lock_expires(redis_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, redis_url, "2", "600"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with ProjectLocks(redis_url, wait=30).hold("p"):
        assert time.monotonic() - started < 10  # about the ttl, not the holder's 600 s


def test_the_journal_keeps_every_process_index_current(redis_url: str, tmp_path: Path) -> None:
    store = MemoryVectors(DIM)  # the shared Milvus server
    first = IndexedVectorStore(store, tmp_path / "first", ChangeJournal(redis_url))
    second = IndexedVectorStore(store, tmp_path / "second", ChangeJournal(redis_url))
    first.upsert(_faces(range(10)))
    assert len(second.project_faces("p")) == 10  # built from the store
    second.upsert(_faces(range(10, 15)))
    second.set_clusters("p", {1: 3, 12: 3})
    faces = first.project_faces("p")  # caught up from the journal, not from the store
    assert len(faces) == 15 and faces.cluster_ids[faces.rows([1, 12])].tolist() == [3, 3]
    first.set_clusters("p", {1: -1})
    second.upsert(_faces(range(1, 2)))  # a face written again keeps the cluster its row carries
    faces = second.project_faces("p")
    assert faces.cluster_ids[faces.rows([1, 12])].tolist() == [-1, 3]
    # an index left too far behind (its entries trimmed away) is rebuilt from the store
    first.index.close()
    for start in range(15, 40, 5):
        second.upsert(_faces(range(start, start + 5)))
    stream = f"{journal_module.KEY_PREFIX}{second.collection}:p"
    second._journal._redis.xtrim(stream, maxlen=1, approximate=False)  # what MAX_ENTRIES does to a long history
    again = IndexedVectorStore(store, tmp_path / "first", ChangeJournal(redis_url))
    assert len(again.project_faces("p")) == 40
    assert np.array_equal(np.sort(again.project_faces("p").face_ids), np.arange(40))
