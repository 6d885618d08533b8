"""Observation and metric cost per clip against the cost of only decoding the same videos from mp4.

    python benchmarks/metric_speed.py [--seeds 2] [--metrics trajectory permanence ...]

Encodes each ground-truth clip of `core` (64x64x32) to mp4 once, then times, per clip: decoding
the mp4 (PyAV, what any evaluation must do), observe(), and each metric on that observation.
Prints ms per clip, clips per second of the whole evaluation (decode + observe + metrics, one
core), and the ratio metric time / decode time (issue 10's target: <= 1.0).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generators import read_video, write_mp4  # noqa: E402
from metrics import DEFAULT_METRICS, observe, score  # noqa: E402
from simulators import FAMILIES, GroundTruthCache, cache_dir, make_spec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS))
    args = parser.parse_args()
    cache = GroundTruthCache(cache_dir(""))
    clips = [cache.get(make_spec(family, "eval", seed, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
             for family in FAMILIES.names() for seed in range(args.seeds)]
    spent = {"decode": 0.0, "observe": 0.0, **{name: 0.0 for name in args.metrics}}
    with tempfile.TemporaryDirectory() as folder:
        paths = [write_mp4(Path(folder) / f"{index}.mp4", clip.video, clip.spec.fps) for index, clip in enumerate(clips)]
        for clip, path in zip(clips, paths):
            start = time.perf_counter()
            frames, _ = read_video(path)
            spent["decode"] += time.perf_counter() - start
            start = time.perf_counter()
            observation = observe(frames, clip)
            spent["observe"] += time.perf_counter() - start
            for name in args.metrics:
                start = time.perf_counter()
                score(clip, observation, [name])
                spent[name] += time.perf_counter() - start
    count = len(clips)
    metric_total = sum(spent[name] for name in args.metrics) + spent["observe"]
    print(f"{count} clips of core (64x64x32), one core")
    print("| step | ms per clip |")
    print("|---|---|")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"| {name} | {1000 * seconds / count:.1f} |")
    print(f"| observe + metrics | {1000 * metric_total / count:.1f} |")
    print(f"evaluation: {count / (metric_total + spent['decode']):.1f} clips/s on one core; "
          f"ratio (observe + metrics) / decode = {metric_total / spent['decode']:.2f} (target <= 1.0)")


if __name__ == "__main__":
    main()
