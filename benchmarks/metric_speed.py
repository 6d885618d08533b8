"""Observation and metric cost per clip against the cost of only decoding the same videos from mp4.

    python benchmarks/metric_speed.py [--seeds 2] [--metrics trajectory permanence ...] [--repeats 1]

Encodes each ground-truth clip of `core` (64x64x32) to mp4 once, then times, per clip: decoding
the mp4 (generators.read_video, what any evaluation must do), observe(), and each metric on that
observation in the order a run computes them, on a clip as fresh from the cache as in a run (work that
metrics share, such as the truth's track arrays, is charged to the first metric that needs it).
Every step is timed twice: CPU seconds of this process (all its threads; on a machine whose other
core is busy this is what the step costs one idle core) and wall seconds. Prints ms per clip,
clips per second of the whole evaluation (decode + observe + metrics, one core), and the ratio
(observe + metrics) / decode (issue 10's target: <= 1.0), on CPU time and on wall time.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generators import read_video, write_mp4  # noqa: E402
from metrics import DEFAULT_METRICS, observe, score  # noqa: E402
from simulators import FAMILIES, Clip, GroundTruthCache, cache_dir, make_spec  # noqa: E402


class Stopwatch:
    """Accumulates CPU and wall seconds per step name."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    def time(self, name: str, fn, *args):
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn(*args)
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
        return result


def fresh_copy(clip: Clip) -> Clip:
    """The clip without anything cached on it (as GroundTruthCache.get returns it), sharing its arrays."""
    fresh = copy.copy(clip)
    fresh.__dict__.clear()
    fresh.__dict__.update({field.name: getattr(clip, field.name) for field in dataclasses.fields(clip)})
    return fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS))
    parser.add_argument("--repeats", type=int, default=1, help="time every clip this many times (more stable)")
    args = parser.parse_args()
    cache = GroundTruthCache(cache_dir(""))
    clips = [cache.get(make_spec(family, "eval", seed, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
             for family in FAMILIES.names() for seed in range(args.seeds)]
    watch = Stopwatch()
    with tempfile.TemporaryDirectory() as folder:
        paths = [write_mp4(Path(folder) / f"{index}.mp4", clip.video, clip.spec.fps) for index, clip in enumerate(clips)]
        for _ in range(args.repeats):
            for clip, path in zip(clips, paths):
                frames, _ = watch.time("decode", read_video, path)
                fresh = fresh_copy(clip)
                observation = watch.time("observe", observe, frames, fresh)
                for name in args.metrics:
                    watch.time(name, score, fresh, observation, [name])
    count = len(clips) * args.repeats
    steps = ["observe", *args.metrics]
    cpu_total, wall_total = (sum(table[name] for name in steps) for table in (watch.cpu, watch.wall))
    print(f"{len(clips)} clips of core (64x64x32) x {args.repeats}, one process")
    print("| step | CPU ms per clip | wall ms per clip |")
    print("|---|---|---|")
    for name in sorted(watch.cpu, key=lambda name: -watch.cpu[name]):
        print(f"| {name} | {1000 * watch.cpu[name] / count:.1f} | {1000 * watch.wall[name] / count:.1f} |")
    print(f"| observe + metrics | {1000 * cpu_total / count:.1f} | {1000 * wall_total / count:.1f} |")
    for label, table, total in (("CPU", watch.cpu, cpu_total), ("wall", watch.wall, wall_total)):
        print(f"{label}: {count / (total + table['decode']):.1f} clips/s on one core (decode + observe + metrics); "
              f"ratio (observe + metrics) / decode = {total / table['decode']:.2f} (target <= 1.0)")


if __name__ == "__main__":
    main()
