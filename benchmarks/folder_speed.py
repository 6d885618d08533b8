"""End-to-end speed of evaluating a folder of videos: `physcheck run generator=folder` on ~1,000 clips.

    python benchmarks/folder_speed.py [--seeds 77] [--workers 1 2] [--videos truth|static]
                                      [--scratch DIR] [--cache-dir DIR] [--repeats 1] [--prepare-only]

Issue 10's target: a folder of 1,000 64x64x32 clips (ground truth cached) evaluated in under 60 s on a
2-core machine. With the default 77 seeds of `core` the suite holds 13 x 77 = 1,001 clips.

Set-up, done once and reused from the scratch folder (default: <tmp>/physcheck-folder-speed):
- the ground-truth cache of the suite (<scratch>/cache, or --cache-dir: any existing cache, e.g. the
  user's, is only read and completed);
- the folder of videos, <scratch>/videos-<kind>/<family>/eval/<seed>.mp4 (what `physcheck export` lays
  out), each written with generators.write_mp4 (H.264, crf 18). --videos truth (default): the ground truth
  itself after that lossy coding, a harmless corruption; it is what a good model hands in, every object is
  seen and moves, so every metric takes its full path (optical flow on every moving object, shape and
  part-distance checks): the costly case. --videos static: the static baseline (the last context frame
  repeated), where objects stop and metrics take their cheaper early exits.

Each timed run is `physcheck run` in this process (no interpreter start-up in the time, as
benchmarks/run_speed.py), into a fresh run folder, with the run's defaults (videos written to the run
folder, batch_size 8). Printed per worker count: wall seconds, clips per second, and the CPU seconds
of this process and its workers. For workers=1 (run in this process) the time is also split into
reading the ground truth from the cache, decoding the videos (reading them from the folder), observe(),
the metrics, writing each clip's video and record, and the rest (start-up, the folder's checksum, the
tables and summary at the end).

On a machine whose other core is busy (a training job), wall times measure the load, not the
benchmark: the CPU seconds of a workers=1 run are what it costs one idle core, and half of them is the
projection to 2 idle cores (perfect scaling over clips; the 1 -> 2 worker speed-up itself is
measured by benchmarks/run_speed.py on an idle machine).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402

import bench.executor  # noqa: E402
import generators.folder  # noqa: E402
import metrics.scoring  # noqa: E402
from bench.config import CONF_DIR, register_configs  # noqa: E402
from bench.results import RunFolder  # noqa: E402
from bench.run import run, specs_from_suite  # noqa: E402
from generators import write_mp4  # noqa: E402
from simulators import Clip, GroundTruthCache, ScenarioSpec  # noqa: E402

VIDEO_KINDS: dict[str, Callable[[Clip], np.ndarray]] = {
    "truth": lambda clip: clip.video,
    "static": lambda clip: np.concatenate([clip.video[:clip.spec.n_context],
                                           np.repeat(clip.video[clip.spec.n_context - 1:clip.spec.n_context],
                                                     clip.spec.n_frames - clip.spec.n_context, axis=0)]),
}
"""--videos: the frames written for a clip (then H.264-coded by write_mp4)."""


def config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("run", overrides=overrides)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its children that have ended (pool workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def prepare(specs: list[ScenarioSpec], cache_root: Path, videos: Path, kind: str) -> None:
    """Fill the ground-truth cache and write every clip's video that is missing (both reused when present)."""
    cache = GroundTruthCache(cache_root)
    missing = [spec for spec in specs if not (videos / f"{spec.clip_id}.mp4").exists()
               or not (cache.path(spec) / "meta.json").exists()]
    if not missing:
        return
    print(f"preparing {len(missing)} of {len(specs)} clips (ground truth in {cache_root}, videos in {videos}) ...",
          flush=True)
    start = time.perf_counter()
    for index, spec in enumerate(missing, 1):
        clip = cache.get(spec)
        path = videos / f"{spec.clip_id}.mp4"
        if not path.exists():
            write_mp4(path, VIDEO_KINDS[kind](clip), spec.fps)
        if index % 100 == 0:
            print(f"  {index}/{len(missing)} ({time.perf_counter() - start:.0f} s)", flush=True)


class StepTimer:
    """Wraps functions in their modules for the time of a run and adds up their CPU and wall seconds by step."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self._patched: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, name: str, step: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[step] = self.cpu.get(step, 0.0) + time.process_time() - cpu
                self.wall[step] = self.wall.get(step, 0.0) + time.perf_counter() - wall

        self._patched.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()


@contextlib.contextmanager
def split_steps(timer: StepTimer):
    """Time the steps of an in-process (workers=1) run: each function is called once per clip, outside the others."""
    timer.wrap(bench.executor.GroundTruthCache, "get", "read ground truth (cache)")
    timer.wrap(generators.folder, "read_video", "decode (read the video files)")
    timer.wrap(metrics.scoring, "observe", "observe")
    timer.wrap(metrics.scoring, "score", "metrics")
    timer.wrap(bench.executor, "write_mp4", "write videos")
    timer.wrap(RunFolder, "write_record", "write records")
    try:
        yield timer
    finally:
        timer.restore()


def timed_run(overrides: list[str], run_dir: Path, split: StepTimer | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `physcheck run` into the fresh folder run_dir (its summary discarded)."""
    cfg = config([*overrides, f"run_id={run_dir.name}"])
    shutil.rmtree(run_dir, ignore_errors=True)
    cpu, start = cpu_seconds(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), (split_steps(split) if split else contextlib.nullcontext()):
        run(cfg, run_dir, progress=False)
    return time.perf_counter() - start, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=77, help="eval seeds per family of `core` (77: 1,001 clips)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--videos", choices=sorted(VIDEO_KINDS), default="truth")
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "physcheck-folder-speed")
    parser.add_argument("--cache-dir", type=Path, default=None, help="ground-truth cache (default: <scratch>/cache)")
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs per worker count")
    parser.add_argument("--prepare-only", action="store_true", help="build the cache and the videos, time nothing")
    args = parser.parse_args()
    register_configs()
    cache_root = (args.cache_dir or args.scratch / "cache").expanduser()
    videos = args.scratch / f"videos-{args.videos}"
    common = ["suite=core", f"suite.n_seeds={args.seeds}", "generator=folder", f"generator.path={videos}",
              f"cache_dir={cache_root}"]
    specs = specs_from_suite(config(common).suite)
    prepare(specs, cache_root, videos, args.videos)
    if args.prepare_only:
        return

    results: dict[int, tuple[float, float]] = {}
    split, split_totals = StepTimer(), (0.0, 0.0)
    for repeat in range(args.repeats):  # interleaved, so every worker count sees the same machine load
        for workers in args.workers:
            timed = split if workers == 1 and repeat == 0 else None
            wall, cpu = timed_run([*common, f"workers={workers}"], args.scratch / "runs" / f"w{workers}-r{repeat}", timed)
            if timed:
                split_totals = (wall, cpu)
            if workers not in results or wall < results[workers][0]:
                results[workers] = (wall, cpu)
    scores = [path.read_bytes() for path in (args.scratch / "runs").glob("w*-r*/scores.parquet")]
    count = len(specs)
    print(f"folder of {count} clips ({args.videos} videos, 64x64x32 H.264), `core` x {args.seeds} seeds, ground truth "
          f"cached; best of {args.repeats}")
    print(f"{'workers':>7} {'wall s':>8} {'clips/s':>8} {'CPU s':>8} {'clips per CPU s':>16}")
    for workers, (wall, cpu) in results.items():
        print(f"{workers:>7} {wall:>8.1f} {count / wall:>8.2f} {cpu:>8.1f} {count / cpu:>16.2f}")
    print(f"scores.parquet identical in every run: {'yes' if len(set(scores)) == 1 else 'NO'}")
    if split.cpu:
        wall_1, cpu_1 = split_totals
        print("\nworkers=1, first run, split by step:")
        print("| step | CPU s | CPU ms per clip | wall s |")
        print("|---|---|---|---|")
        for step in split.cpu:
            print(f"| {step} | {split.cpu[step]:.1f} | {1000 * split.cpu[step] / count:.1f} | {split.wall[step]:.1f} |")
        print(f"| everything else (start-up, checksum, tables) | {cpu_1 - sum(split.cpu.values()):.1f} | "
              f"{1000 * (cpu_1 - sum(split.cpu.values())) / count:.1f} | {wall_1 - sum(split.wall.values()):.1f} |")
        print(f"| total | {cpu_1:.1f} | {1000 * cpu_1 / count:.1f} | {wall_1:.1f} |")
        print(f"one core: {count / cpu_1:.1f} clips per CPU second; projected on 2 idle cores (workers=2, perfect "
              f"scaling): {cpu_1 / 2:.0f} s for {count} clips (target < 60 s)")


if __name__ == "__main__":
    main()
