"""A fault harness: an editor's session on real photos, killed (SIGKILL) at random points or run out of disk,
then `repair`, compared with the same session run cleanly.

The session: ingest 24 LFW photos (clustered), confirm two clusters as people, merge two clusters, split one,
undo, ingest 12 more photos, merge the two people, delete a photo of a confirmed face, a whole `reset`. A clean run records the library before
and after each step (and a copy of the data folder before each). A trial starts from the copy before one
step, runs that step in a process of its own and kills it after a random delay (or, for a disk trial, runs it
on a small tmpfs filled to a random level), then `repair`s in a fresh process:
- the library must then be exactly the one before the step or the one after it (an editor action is all or
  nothing; an ingest or a reset may stop part way, as long as nothing is half-stored);
- running the step again (what a user does after a crash) must give exactly the library after the step.
"Exactly": every photo, face, decision (its time aside), person and cluster (as the set of its faces, and
its person) the same; nothing lost, nothing twice. A Redis trial sends the first ingest as an upload job to a
worker and kills and restarts its Redis (`redis_trial`).

    python tests/faults.py --kills 24 --disk 8 --redis 2    # one JSON line per trial, then the totals
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "faults"
LFW = "lfw-devtrain"

# Each step: Python run with `runtime` open and `arg` (the step's argument: face ids, photo paths) bound.
STEPS = {
    "ingest": """
        from peoplegraph.linking.matching import match_new_faces
        from peoplegraph.services.clustering import cluster_new_faces
        from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
        report = IngestService(runtime).ingest(PROJECT, collect_sources([Path(p) for p in arg], IngestReport()))
        match_new_faces(runtime, PROJECT, report.face_ids)
        cluster_new_faces(runtime, PROJECT, report.face_ids)
    """,
    "confirm": "linking.confirm_cluster(runtime, PROJECT, cluster_of(arg[0]), name=arg[1])",
    "merge": "linking.merge_clusters(runtime, PROJECT, [cluster_of(arg[0]), cluster_of(arg[1])])",
    "split": "linking.split_cluster(runtime, PROJECT, cluster_of(arg[0]), arg[1:])",
    "undo": "linking.undo(runtime, PROJECT)",
    "merge people": "people.merge_people(runtime, PROJECT, arg[0], arg[1], prefer=arg[0])",
    "reset": "linking.reset(runtime, PROJECT)",
    "delete photo": """
        from peoplegraph.services.projects import delete_photo
        try:
            delete_photo(runtime, PROJECT, arg[0])
        except KeyError:  # run again after it was done: nothing left to delete
            pass
    """,
}
PRELUDE = """
import json, sys
from pathlib import Path
from peoplegraph.linking import people
from peoplegraph.linking import service as linking
from peoplegraph.linking.repair import repair
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings
PROJECT = {project!r}
arg = json.loads(sys.argv[1])
with Runtime(Settings()) as runtime:
    runtime.vectors, runtime.graph  # open the stores and prepare the pack before saying ready
    def cluster_of(face_id):
        (face,) = runtime.vectors.faces_by_id(PROJECT, [face_id])
        return face.cluster_id
    print("ready", flush=True)
"""
STATE = """
    if PROJECT in runtime.graph.projects():
        repair(runtime, PROJECT)
    print(json.dumps(library(runtime)))
"""
LIBRARY = '''
import re
def library(runtime):
    """What the project holds, in a form two runs can be compared by (no times, no cluster numbers)."""
    stamp = re.compile(r"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ")
    faces = runtime.vectors.faces(PROJECT)
    groups = {}
    for f in faces:
        if f.cluster_id != -1:
            groups.setdefault(f.cluster_id, []).append(f.face_id)
    person_of = {c.cluster_id: c.person_id or "" for c in runtime.graph.clusters(PROJECT)}
    return {
        "photos": sorted([p.photo_id, p.path, p.face_count] for p in runtime.graph.photos(PROJECT)),
        "faces": sorted([f.face_id, f.photo_id] for f in faces),
        "clusters": sorted([sorted(ids), person_of.get(c, "?")] for c, ids in groups.items()),
        "graph clusters": len(person_of),
        "decisions": sorted([d.face_id, d.confirmed_as or "", sorted(d.removed_from), d.ignored, d.grouped_as or "",
                             d.method] for d in runtime.graph.face_decisions(PROJECT).values()),
        "people": sorted([p.person_id, p.name, sorted(p.aliases), stamp.sub("", p.notes)]
                         for p in runtime.graph.people(PROJECT)),
    }
'''


def _script(body: str) -> str:
    library = textwrap.indent(textwrap.dedent(LIBRARY), "    ")
    return textwrap.dedent(PRELUDE).format(project=PROJECT) + library + textwrap.indent(textwrap.dedent(body), "    ")


@dataclass
class Session:
    """The clean run: each step's name and argument, its seconds, the library before and after it, and a
    copy of the data folder before it."""

    steps: list[tuple[str, list]]
    seconds: list[float] = field(default_factory=list)
    states: list[dict] = field(default_factory=list)  # states[k]: before step k; states[-1]: after the last
    folders: list[Path] = field(default_factory=list)


def _env(data_dir: Path, model_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PEOPLEGRAPH_DATA_DIR": str(data_dir), "PEOPLEGRAPH_MODEL_DIR": str(model_dir),
            "PEOPLEGRAPH_WARM_FACE_INDEX": "false", **(extra or {})}


def _run(body: str, arg: list, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _script(body), json.dumps(arg)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def state_of(data_dir: Path, model_dir: Path, env: dict[str, str] | None = None) -> dict:
    """The library after `repair`, read by a fresh process."""
    done = _run(STATE, [], env or _env(data_dir, model_dir))
    if done.returncode != 0:
        raise AssertionError(f"repair or reading the library failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _step(name: str) -> str:
    return textwrap.dedent(STEPS[name]) + "\nprint('done', flush=True)\n"


def _start(name: str, arg: list, env: dict[str, str]) -> subprocess.Popen[str]:
    """The step in a process of its own, returned once its stores are open (it printed "ready")."""
    child = subprocess.Popen([sys.executable, "-c", _script(_step(name)), json.dumps(arg)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        child.wait()
        raise AssertionError(f"the {name} step did not start")
    return child


def clean_session(shared_data: Path, model_dir: Path, scratch: Path) -> Session:
    """Run the session cleanly in `scratch`, recording what the trials compare with."""
    photos = sorted(str(p) for p in (shared_data / LFW).glob("[ABC]*/*.jpg"))
    first, second = photos[:24], photos[24:36]
    data = scratch / "clean"
    env = _env(data, model_dir)
    session = Session(steps=[("ingest", first)])
    session.states.append(state_of(scratch / "empty", model_dir))

    def run(name: str, arg: list) -> None:
        k = len(session.seconds)
        folder = scratch / f"before-{k}"
        if data.exists():
            shutil.copytree(data, folder, symlinks=True)
        else:
            folder.mkdir()
        session.folders.append(folder)
        child = _start(name, arg, env)
        began = time.perf_counter()
        assert child.stdout is not None
        finished = child.stdout.readline().strip()
        session.seconds.append(time.perf_counter() - began)
        if child.wait() != 0 or finished != "done":
            raise AssertionError(f"clean step {name} failed")
        session.states.append(state_of(data, model_dir))
        if name != "reset" and session.states[-1] == session.states[-2]:  # a trial of it would prove nothing
            raise AssertionError(f"clean step {name} {arg} changed nothing")

    run("ingest", first)
    clusters = [c[0] for c in session.states[-1]["clusters"]]  # face ids of each cluster, largest first below
    clusters.sort(key=len, reverse=True)
    plan = [("confirm", [clusters[0][0], "Person A"]), ("confirm", [clusters[1][0], "Person B"]),
            ("merge", [clusters[2][0], clusters[3][0]]), ("split", [clusters[4][0], *clusters[4][: len(clusters[4]) // 2]]),
            ("undo", []), ("ingest", second), ("merge people", ["person-a", "person-b"]),
            ("delete photo", [photo_of(session.states[-1], clusters[0][1])]), ("reset", [])]
    for name, arg in plan:
        session.steps.append((name, arg))
        run(name, arg)
    return session


def photo_of(state: dict, face_id: int) -> str:
    return next(photo for face, photo in state["faces"] if face == face_id)


@dataclass
class Trial:
    step: str
    fault: str  # "kill after 1.23 s" or "disk full with 0.40 MiB free"
    outcome: str  # "before", "after" or "part way" (ingest and reset only)
    lost: int  # items (photos, faces, decisions, people, clusters) missing against the library expected
    doubled: int  # items present twice or not expected
    resumed: bool  # running the step again gave exactly the library after it

    def ok(self) -> bool:
        return not self.lost and not self.doubled and self.resumed


def _difference(found: dict, expected: dict) -> tuple[int, int]:
    lost = doubled = 0
    for key in expected:
        have, want = found.get(key), expected[key]
        if isinstance(want, list):
            have_items = [json.dumps(x, sort_keys=True) for x in have]
            want_items = [json.dumps(x, sort_keys=True) for x in want]
            lost += len(set(want_items) - set(have_items))
            doubled += len(set(have_items) - set(want_items)) + len(have_items) - len(set(have_items))
        elif have != want:
            lost += 1
    return lost, doubled


def _judge(session: Session, k: int, found: dict, data: Path, model_dir: Path, fault: str,
           env: dict[str, str]) -> Trial:
    name, arg = session.steps[k]
    before, after = session.states[k], session.states[k + 1]
    outcome = "after" if found == after else "before" if found == before else "part way"
    if outcome == "part way" and name not in ("ingest", "reset"):
        lost, doubled = _difference(found, after)  # an action must be all or nothing
        return Trial(name, fault, outcome, max(lost, 1), doubled, False)
    if outcome != "after":
        done = _run(_step(name), arg, env)  # what a user does after the crash: the same command again
        resumed = done.returncode == 0 and state_of(data, model_dir, env) == after
    else:
        resumed = True
    lost, doubled = _difference(state_of(data, model_dir, env), after) if resumed is False else (0, 0)
    return Trial(name, fault, outcome, lost, doubled, resumed)


def kill_trial(session: Session, k: int, scratch: Path, model_dir: Path, rnd: random.Random) -> Trial:
    """Step k from the library before it, SIGKILLed after a random part of its clean duration."""
    name, arg = session.steps[k]
    data = scratch / f"kill-{k}-{rnd.random():.6f}"
    shutil.copytree(session.folders[k], data, symlinks=True)
    env = _env(data, model_dir)
    child = _start(name, arg, env)
    delay = rnd.uniform(0.0, session.seconds[k])
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    found = state_of(data, model_dir, env)
    trial = _judge(session, k, found, data, model_dir, f"kill after {delay:.2f} s", env)
    shutil.rmtree(data, ignore_errors=True)
    return trial


DISK_TRIAL = """
set -e
mount -t tmpfs -o size={size}k tmpfs "{mount}"
cp -a "{before}/." "{mount}/"
fill=$(( $(df -k --output=avail "{mount}" | tail -1) - {free} ))
if [ "$fill" -gt 0 ]; then head -c "${{fill}}K" /dev/zero > "{mount}/filler" 2>/dev/null || true; fi
set +e
"{python}" -c "$STEP" '{arg}' > /dev/null 2> "{log}"
echo "step exit $?" >> "{log}"
rm -f "{mount}/filler"
set -e
mkdir -p "{out}"
cp -a "{mount}/." "{out}/"
umount "{mount}"
"""


def _mount_namespace() -> list[str]:
    """`unshare` into a mount namespace of our own: as root, or as a user through a user namespace."""
    return ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]


def can_mount_tmpfs() -> bool:
    """Whether a tmpfs can be mounted here (the disk trials need one)."""
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run([*_mount_namespace(), "sh", "-c", f'mount -t tmpfs -o size=1m tmpfs "{folder}"'],
                               capture_output=True, text=True)
    return probe.returncode == 0


def disk_trial(session: Session, k: int, scratch: Path, model_dir: Path, rnd: random.Random,
               margin: bool) -> Trial:
    """Step k on a tmpfs left with at most 256 KiB free: it fails on a full disk (or stops at the
    free-space margin, when `margin`); space is freed, the library copied out and repaired."""
    name, arg = session.steps[k]
    mount = Path(tempfile.mkdtemp(prefix="pg-disk-", dir=scratch))
    out = scratch / f"disk-{k}-{rnd.random():.6f}"
    free = rnd.randint(0, 256)  # KiB
    used = sum(p.stat().st_size for p in session.folders[k].rglob("*") if p.is_file()) // 1024
    log = scratch / "disk-step.log"
    env = _env(mount, model_dir, {"PEOPLEGRAPH_MIN_FREE_DISK_MB": "1" if margin else "0",
                                  "STEP": _script(_step(name))})
    script = DISK_TRIAL.format(size=used + 8 * 1024, mount=mount, before=session.folders[k], free=free,
                               python=sys.executable, arg=json.dumps(arg).replace("'", "'\\''"), log=log, out=out)
    done = subprocess.run([*_mount_namespace(), "sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"the disk trial could not run: {done.stderr[-2000:]}")
    env = _env(out, model_dir)
    found = state_of(out, model_dir, env)
    trial = _judge(session, k, found, out, model_dir, f"disk full with {free} KiB free"
                   + (" (margin 1 MiB)" if margin else ""), env)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(mount, ignore_errors=True)
    return trial


def _named(library: dict) -> dict:
    """The library with each photo's path cut to its file name (an upload's name is the name it was sent as)."""
    return {**library, "photos": sorted([p[0], Path(p[1]).name, p[2]] for p in library["photos"])}


def redis_trial(session: Session, scratch: Path, model_dir: Path, rnd: random.Random) -> Trial:
    """The session's first ingest sent as an upload job to a `peoplegraph worker`, whose Redis is killed
    after a random delay and restarted: the worker must outlive it, and the library end as the clean run's
    (the job finished, or, when its result was lost with Redis, the user sends the photos again)."""
    import asyncio

    from arq import create_pool
    from arq.jobs import Job

    from peoplegraph.workers.redis_server import PrivateRedis, arq_redis_settings

    root = Path(tempfile.mkdtemp(prefix="pg-redis-", dir=scratch))
    redis = PrivateRedis(root / "redis")
    url = redis.start()
    env = _env(root / "data", model_dir, {"PEOPLEGRAPH_REDIS_URL": url})
    expected = _named(session.states[1])

    def worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "peoplegraph.cli", "worker"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def send(attempt: int) -> str:
        spool = root / f"spool-{attempt}"
        spool.mkdir()
        files = []
        for photo in map(Path, session.steps[0][1]):
            shutil.copy(photo, spool / photo.name)
            files.append({"name": photo.name, "path": str(spool / photo.name)})
        pool = await create_pool(arq_redis_settings(url))
        try:
            job = await pool.enqueue_job("ingest_photos", PROJECT, files, str(spool))
            assert job is not None
            return job.job_id
        finally:
            await pool.aclose()

    async def finished(job_id: str, timeout: float) -> bool:
        pool = await create_pool(arq_redis_settings(url))
        try:
            await Job(job_id, pool).result(timeout=timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            await pool.aclose()

    def stopped(process: subprocess.Popen[bytes]) -> bool:
        """Stop a worker (it holds the embedded stores); whether it was still running."""
        alive = process.poll() is None
        process.terminate()
        process.wait(timeout=120)
        return alive

    running = worker()
    try:
        job_id = asyncio.run(send(0))
        delay = rnd.uniform(0.0, session.seconds[0] + 5)
        time.sleep(delay)
        assert redis.pid is not None and redis._process is not None
        os.kill(redis.pid, signal.SIGKILL)
        redis._process.wait()
        time.sleep(rnd.uniform(0.5, 3))
        redis._process = None
        redis.start()
        done = asyncio.run(finished(job_id, session.seconds[0] + 120))
        alive = stopped(running)
        found = _named(state_of(root / "data", model_dir, env))
        outcome = "after" if found == expected else "part way"
        if found != expected or not done:  # the job lost with the queue, or its result with Redis: sent again
            running = worker()
            done = asyncio.run(finished(asyncio.run(send(1)), session.seconds[0] + 300))
            stopped(running)
            found = _named(state_of(root / "data", model_dir, env))
        lost, doubled = _difference(found, expected)
        return Trial("upload job", f"Redis killed after {delay:.2f} s and restarted", outcome, lost, doubled,
                     alive and done and found == expected)
    finally:
        if running.poll() is None:
            stopped(running)
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--disk", type=int, default=8)
    parser.add_argument("--redis", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("PEOPLEGRAPH_MODEL_DIR", "")))
    args = parser.parse_args()
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pg-faults-") as scratch:
        session = clean_session(args.shared, args.model_dir, Path(scratch))
        trials = [kill_trial(session, i % len(session.steps), Path(scratch), args.model_dir, rnd)
                  for i in range(args.kills)]
        trials += [disk_trial(session, rnd.choice([0, len(session.steps) - 3]), Path(scratch), args.model_dir, rnd,
                              margin=i % 2 == 1) for i in range(args.disk)]
        trials += [redis_trial(session, Path(scratch), args.model_dir, rnd) for _ in range(args.redis)]
    for trial in trials:
        print(json.dumps(trial.__dict__))
    print(json.dumps({"trials": len(trials), "ok": sum(t.ok() for t in trials),
                      "lost": sum(t.lost for t in trials), "doubled": sum(t.doubled for t in trials)}))


if __name__ == "__main__":
    main()
