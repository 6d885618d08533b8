"""Executors: fixed batches, the Ray executor against the local one, and resuming a run killed midway."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.executor import ray_installed, work_batches
from simulators import build_specs

REPO = Path(__file__).parents[1]
SUITE = ["suite=smoke", "suite.n_seeds=6", "generator=linear", "batch_size=4"]
"""24 clips in 6 batches of 4: work for two workers, and a kill between records leaves half-done batches."""
CLIP_COUNT = 24


def physcheck_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench", "run", *SUITE, *args]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The environment of every run: this checkout first, one ground-truth cache for the module."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    return {**os.environ, "PYTHONPATH": str(REPO), "PHYSCHECK_CACHE": str(cache)}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("executor")


def run_to_end(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(physcheck_command(*args), cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def reference(workdir, env) -> Path:
    """An uninterrupted single-worker local run (it also fills the ground-truth cache)."""
    run_to_end(workdir, env, "run_id=reference", "workers=1", "executor=local")
    return workdir / "runs" / "reference"


def assert_same_tables(run: Path, reference: Path) -> None:
    for name in ("scores.parquet", "failures.parquet"):
        assert (run / name).read_bytes() == (reference / name).read_bytes(), f"{name} differs from the reference run"


def test_batches_are_fixed_by_suite_order_whatever_is_done():
    specs = build_specs(["free_fall", "collision"], ["eval"], 3, n_frames=8)
    every = list(work_batches(specs, 4, lambda spec: False))
    assert [len(batch) for batch in every] == [4, 2]
    finished = {specs[0].spec_hash, specs[1].spec_hash, specs[2].spec_hash, specs[3].spec_hash, specs[4].spec_hash}
    pending = list(work_batches(specs, 4, lambda spec: spec.spec_hash in finished))
    assert pending == [every[1]]  # the half-done batch is redone whole, never re-cut


def test_config_refusals_are_one_line_with_exit_code_2(workdir, env, tmp_path):
    not_for_local = subprocess.run(physcheck_command("executor=local", "executor.address=auto"), cwd=workdir,
                                   env=env, capture_output=True, text=True, timeout=120)
    assert not_for_local.returncode == 2 and "executor.address" in not_for_local.stderr
    assert len(not_for_local.stderr.strip().splitlines()) == 1

    shadow = tmp_path / "no_ray" / "ray"  # a `ray` that fails to import, as on a machine without the extra
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    no_ray_env = {**env, "PYTHONPATH": f"{shadow.parent}{os.pathsep}{REPO}"}
    refused = subprocess.run(physcheck_command("executor=ray", "run_id=no_ray"), cwd=workdir, env=no_ray_env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == "physcheck run: executor=ray needs Ray, which is not installed: " \
                                     "pip install 'physcheck[ray]'"
    assert not (workdir / "runs" / "no_ray").exists()


@pytest.mark.slow
@pytest.mark.skipif(not ray_installed(), reason="Ray is an optional extra: pip install 'physcheck[ray]'")
def test_ray_on_a_local_instance_gives_the_local_executors_scores_to_the_bit(reference, workdir, env):
    run_to_end(workdir, env, "run_id=ray", "workers=2", "executor=ray")
    assert_same_tables(workdir / "runs" / "ray", reference)


def kill_when(workdir: Path, env: dict[str, str], run_id: str, records: int) -> set[Path]:
    """Start a 2-worker run, SIGKILL its process group once `records` clip records exist; the records left."""
    clips = workdir / "runs" / run_id / "clips"
    process = subprocess.Popen(physcheck_command(f"run_id={run_id}", "workers=2"), cwd=workdir, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while len(list(clips.glob("*.json"))) < records:
            assert process.poll() is None, f"the run exited ({process.returncode}) before {records} records"
            assert time.monotonic() < deadline, f"no {records} records after 120 s"
            time.sleep(0.002)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return set(clips.glob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, CLIP_COUNT // 2])
def test_a_run_killed_midway_resumes_to_the_uninterrupted_scores(reference, workdir, env, kill_after):
    run_id = f"killed-after-{kill_after}"
    left = kill_when(workdir, env, run_id, kill_after)
    run_dir = workdir / "runs" / run_id
    assert kill_after <= len(left) < CLIP_COUNT, "the run ended before the kill; give the suite more clips"
    assert not (run_dir / "scores.parquet").exists()
    written_before = {path: path.stat().st_mtime_ns for path in left}

    run_to_end(workdir, env, f"run_id={run_id}", "workers=2")
    assert len(list((run_dir / "clips").glob("*.json"))) == CLIP_COUNT
    assert {path: path.stat().st_mtime_ns for path in left} == written_before  # finished clips were skipped
    assert_same_tables(run_dir, reference)


def test_a_second_run_into_a_busy_run_folder_is_refused_and_a_dead_runs_lock_is_free(tmp_path):
    from bench.results import RunFolder, RunFolderBusy

    folder = RunFolder(tmp_path / "runs" / "busy")
    holder = subprocess.Popen([sys.executable, "-c", (
        f"import sys, time; sys.path.insert(0, {str(Path(__file__).parents[1])!r}); from bench.results import RunFolder; "
        f"lock = RunFolder({str(folder.path)!r}).locked(); lock.__enter__(); print('held', flush=True); time.sleep(60)"
    )], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunFolderBusy, match=f"pid {holder.pid}"):
            with folder.locked():
                pass
    finally:
        holder.kill()
        holder.wait()
    with folder.locked():  # the kernel dropped the dead holder's lock: nothing stale to clean
        assert (folder.path / ".lock").read_text().startswith(f"pid {os.getpid()}")
