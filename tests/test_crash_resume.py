"""A run SIGKILLed again and again at seeded random points resumes to exactly the uninterrupted run.

The run (smoke families x 3 seeds = 12 clips, generator=corrupt, batch_size=2, workers=2) is killed at
the points of `kill_plan`: while it starts, after a random number of clip records (the whole process
group, the main process alone as `kill -9 <pid>` does, or one worker as the out-of-memory killer
does), and while it writes its tables; after each kill it is started again into the same run folder,
and at last let finish. The seed fixes the points; where exactly in the code each kill lands still
varies with the machine's timing, which is the point.
"""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.results import RunFolder

REPO = Path(__file__).parents[1]
CONFIG = ["suite=smoke", "suite.n_seeds=3", "generator=corrupt", "batch_size=2"]
CLIP_COUNT = 12
KILL_SEED = 11
MIN_KILLS = 5
POLL_S = 0.002
WAIT_S = 120.0
"""Longest wait for one trigger or one exit (a loaded machine is slow; a normal run takes ~5 s)."""


@dataclass(frozen=True)
class KillPoint:
    """When to kill and what. trigger: `startup` (`delay` s after the start), `records` (`delay` s after the run
    wrote `records` clip records), `last_record` (`delay` s after every clip has its record) or `tables` (as
    soon as scores.parquet is replaced). target: `group` (every process of the run), `main` (the main process
    alone) or `worker` (one pool worker)."""

    trigger: str
    target: str
    records: int = 0
    delay: float = 0.0


def kill_plan(rng: random.Random) -> list[KillPoint]:
    """6 kills: one at start-up; three after 1 to 3 new records, one per target in random order; one just
    after the last record (pool shutdown, reading the records, the tables); one while the tables are written."""
    targets = rng.sample(["group", "main", "worker"], 3)
    return [KillPoint("startup", "group", delay=rng.uniform(0.2, 1.5)),
            *[KillPoint("records", target, rng.randint(1, 3), rng.uniform(0.0, 0.1)) for target in targets],
            KillPoint("last_record", "group", delay=rng.uniform(0.0, 0.2)),
            KillPoint("tables", "group")]


def live_members(group: int) -> list[int]:
    """Processes of a process group that are still running (zombies left out)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, process_group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(process_group) == group and state != "Z":
            members.append(int(stat.parent.name))
    return members


def pool_workers(main: int) -> list[int]:
    """The spawned pool workers of a run's main process (the resource tracker left out)."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            continue
        if parent == main and b"multiprocessing.spawn" in command:
            workers.append(int(stat.parent.name))
    return workers


class RunUnderTest:
    """`physcheck run` of CONFIG into runs/<run_id> of `workdir`, started as its own process group."""

    def __init__(self, workdir: Path, run_id: str, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.folder = workdir / "runs" / run_id
        self.log = log
        command = [sys.executable, "-m", "bench", "run", *CONFIG, f"workers={workers}", f"run_id={run_id}"]
        with open(log, "w") as stderr:
            self.process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                            start_new_session=True)
        self.started = time.monotonic()

    def record_count(self) -> int:
        return len(list((self.folder / "clips").glob("*.json"))) if self.folder.exists() else 0

    def inode(self, name: str) -> int | None:
        """The inode of a file of the run folder (None: absent): every atomic rewrite changes it."""
        try:
            return (self.folder / name).stat().st_ino
        except FileNotFoundError:
            return None

    def kill_at(self, point: KillPoint) -> str | None:
        """Wait for the trigger and kill; returns what was killed, or None if the run ended first."""
        records_before, tables_before = self.record_count(), self.inode("scores.parquet")
        triggers = {"startup": lambda: True,
                    "records": lambda: self.record_count() >= records_before + point.records,
                    "last_record": lambda: self.record_count() == CLIP_COUNT,
                    "tables": lambda: self.inode("scores.parquet") != tables_before}
        met_at = None
        while self.process.poll() is None:
            now = time.monotonic()
            assert now - self.started < WAIT_S, f"{point} not reached in {WAIT_S:.0f} s"
            if met_at is None and triggers[point.trigger]():
                met_at = now
            if met_at is not None and now - met_at >= point.delay:
                return self.kill(point.target)
            time.sleep(POLL_S)
        return None

    def kill(self, target: str) -> str:
        workers = pool_workers(self.process.pid) if target == "worker" else []
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            return "worker"
        if target == "main":
            os.kill(self.process.pid, signal.SIGKILL)
            return "main"
        os.killpg(self.process.pid, signal.SIGKILL)
        return "group"

    def wait_all_gone(self) -> int:
        """Wait for the main process and every process of its group to end; the main's exit status."""
        try:
            code = self.process.wait(timeout=WAIT_S)
            deadline = time.monotonic() + 30  # an orphan still importing exits once its start-up reaches the watch
            while live_members(self.process.pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not live_members(self.process.pid), "a process of the killed run outlived it (orphaned worker)"
            return code
        finally:
            if live_members(self.process.pid):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def progress_start(self) -> int | None:
        """How many clips the run's own progress bar says were finished before it started (None: no bar yet)."""
        found = re.search(rf"\| *(\d+)/{CLIP_COUNT} \[", self.log.read_text(errors="replace"))
        return int(found.group(1)) if found else None


def file_identities(folder: Path) -> dict[Path, tuple[int, int]]:
    """(inode, mtime_ns) of every clip record and of the video of every recorded clip: what must never change
    once written (a rewrite, even atomic, gives a new inode)."""
    records = sorted((folder / "clips").glob("*.json"))
    recorded = {RunFolder(folder).read_record(path.stem).clip_id for path in records}
    videos = [folder / "videos" / f"{clip_id}.mp4" for clip_id in recorded]
    return {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in [*records, *videos] if path.exists()}


def temporary_files(folder: Path) -> list[str]:
    """Files a crashed write may leave: every dot file under the run folder but the lock and hydra's .hydra/."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob(".*")
                  if path.is_file() and path.name != ".lock" and ".hydra" not in path.relative_to(folder).parts)


@pytest.fixture
def env() -> dict[str, str]:
    """This checkout first; the session's ground-truth cache (conftest's isolated_cache sets it)."""
    return {**os.environ, "PYTHONPATH": str(REPO)}


def run_to_end(workdir: Path, run_id: str, env: dict[str, str], log: Path, workers: int = 2) -> RunUnderTest:
    run = RunUnderTest(workdir, run_id, env, log, workers)
    assert run.wait_all_gone() == 0, log.read_text()[-3000:]
    return run


@pytest.mark.slow
def test_a_run_killed_at_seeded_random_points_resumes_to_the_uninterrupted_tables(tmp_path, env):
    reference = run_to_end(tmp_path, "reference", env, tmp_path / "reference.log", workers=1).folder
    run_id, landed, kept = "killed", [], {}
    for attempt, point in enumerate(kill_plan(random.Random(KILL_SEED))):
        run = RunUnderTest(tmp_path, run_id, env, tmp_path / f"attempt{attempt}.log")
        records_before = run.record_count()
        killed = run.kill_at(point)
        code = run.wait_all_gone()
        where = f"kill {attempt} ({point}, killed {killed}, exit {code})"
        if killed is None:  # the run ended before the trigger: it must have ended well
            assert code == 0, f"{where}: {run.log.read_text()[-3000:]}"
        elif killed == "worker":  # the main process stops by itself, saying why (WorkerDied)
            assert code == 1 and "a worker process stopped abruptly" in run.log.read_text(), where
        else:
            assert code == -signal.SIGKILL, where
        landed += [killed] if killed else []
        if point.trigger == "tables" and killed:  # it hit while the tables were written: scores.parquet is whole
            assert (run.folder / "scores.parquet").read_bytes() == (reference / "scores.parquet").read_bytes(), where
        with RunFolder(run.folder).locked():  # the dead run's lock is free at once
            pass
        progress = run.progress_start()
        assert progress in (None, records_before), f"{where}: the run counted {progress} finished clips of " \
                                                   f"{records_before}"
        now = file_identities(run.folder)
        rewritten = [str(path.relative_to(run.folder)) for path, identity in kept.items() if now.get(path) != identity]
        assert not rewritten, f"{where}: finished clips written again: {rewritten}"
        kept.update(now)

    final = run_to_end(tmp_path, run_id, env, tmp_path / "final.log")
    assert len(landed) >= MIN_KILLS, f"only {len(landed)} of the kills landed: {landed}"
    assert final.progress_start() == final.record_count() == CLIP_COUNT
    assert all(file_identities(final.folder).get(path) == identity for path, identity in kept.items())
    for name in ("scores.parquet", "failures.parquet"):
        assert (final.folder / name).read_bytes() == (reference / name).read_bytes(), f"{name} differs"
    summary = (final.folder / "summary.md").read_text()
    assert summary == (reference / "summary.md").read_text().replace("run reference", f"run {run_id}", 1)
    assert RunFolder(final.folder).read_manifest()["finished"]
    assert temporary_files(final.folder) == []


STAGED_WRITES = """
import os, sys, threading, time
import numpy as np
from bench.results import ClipRecord, RunFolder, write_atomic
from generators import write_mp4

folder = RunFolder(sys.argv[1])
staged = threading.Semaphore(0)
def hold(*args):  # every write stops just before its rename, as a SIGKILL there leaves it
    staged.release()
    time.sleep(600)
os.replace = hold
writes = [
    lambda: folder.write_record(ClipRecord("free_fall/eval/00000", "0" * 16, "free_fall", "gravity", "eval", 0, "ok"),
                                sys.argv[2]),
    lambda: write_mp4(folder.video_path("free_fall/eval/00000"), np.zeros((16, 64, 64, 3), np.uint8), 8.0),
    lambda: folder.write_tables([]),
    lambda: write_atomic(folder.path / "summary.md", b"half a summary"),
]
for write in writes:
    threading.Thread(target=write, daemon=True).start()
for _ in writes:
    staged.acquire()
print("staged", flush=True)
time.sleep(600)
"""


def test_writes_killed_before_their_rename_leave_no_temporary_file_once_the_run_resumes(tmp_path, env):
    config = ["suite=smoke", "suite.families=[free_fall]", "suite.n_seeds=1", "generator=static", "workers=1"]
    first = subprocess.run([sys.executable, "-m", "bench", "run", *config, "run_id=staged"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=WAIT_S)
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "runs" / "staged"
    record = next((folder / "clips").glob("*.json"))
    record.unlink()  # one clip left to do, so the resumed run writes a record, a video and the tables
    writer = subprocess.Popen([sys.executable, "-c", STAGED_WRITES, str(folder), record.stem], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "staged"
    finally:
        writer.kill()
        writer.wait()
    left = temporary_files(folder)
    assert len(left) >= 4 and any(name.startswith("clips/") for name in left), left  # what a SIGKILL leaves

    resumed = subprocess.run([sys.executable, "-m", "bench", "run", *config, "run_id=staged"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=WAIT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert record.exists() and temporary_files(folder) == []
