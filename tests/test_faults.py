"""The fault harness (tests/faults.py) in CI: an editor's session killed at random points and run out of disk,
and an upload job whose Redis is killed and restarted;
after `repair`, nothing lost, nothing doubled, each step all or nothing (ingest and reset may stop part way),
and running the step again gives the library a clean run gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import faults
from unavailable import skip_or_fail


@pytest.mark.slow
def test_kills_and_full_disks_lose_nothing(shared_data: Path, model_dir: Path, tmp_path: Path) -> None:
    if not faults.can_mount_tmpfs():
        skip_or_fail("the disk-full trials mount a small tmpfs: that needs root or unprivileged user namespaces "
                     "(`unshare -rm`), which this machine does not allow")
    rnd = random.Random(11)
    session = faults.clean_session(shared_data, model_dir, tmp_path)
    steps = len(session.steps)
    trials = [faults.kill_trial(session, i % steps, tmp_path, model_dir, rnd) for i in range(3 * steps)]
    ingests = [k for k, (name, _) in enumerate(session.steps) if name == "ingest"]
    trials += [faults.disk_trial(session, ingests[i % len(ingests)], tmp_path, model_dir, rnd, margin=i >= 4)
               for i in range(6)]
    trials += [faults.redis_trial(session, tmp_path, model_dir, rnd) for _ in range(2)]
    failed = [t for t in trials if not t.ok()]
    assert not failed, failed
    assert len([t for t in trials if t.fault.startswith("kill")]) >= 20
    assert {t.step for t in trials} == {name for name, _ in session.steps} | {"upload job"}
