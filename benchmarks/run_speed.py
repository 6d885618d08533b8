"""Run speed against the worker count: the same `physcheck run` with 1 and 2 workers, ground truth cached.

    python benchmarks/run_speed.py [--suite core] [--generator static] [--workers 1 2] [--repeats 1]
                                   [--executor local] [--batch-size 8]

A first run fills a temporary ground-truth cache, so every timed run does generation, observation,
metrics and the writing of videos and records only. Each timed run starts in a fresh run folder,
in this process (no interpreter start-up in the times). Prints the wall time of each worker count
(the best of --repeats), clips per second, the speed-up over the first worker count (target for
1 -> 2 workers: >= 1.7), and whether every run wrote the same scores.parquet to the byte.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hydra import compose, initialize_config_dir  # noqa: E402

from bench.config import CONF_DIR, register_configs  # noqa: E402
from bench.run import run  # noqa: E402


def timed_run(overrides: list[str], run_dir: Path) -> float:
    """Seconds of one `physcheck run` with these overrides into run_dir (its printed summary discarded)."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=[*overrides, f"run_id={run_dir.name}"])
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        run(cfg, run_dir, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="core")
    parser.add_argument("--generator", default="static")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs for each worker count")
    parser.add_argument("--executor", default="local")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    register_configs()
    with tempfile.TemporaryDirectory(prefix="physcheck-run-speed-") as scratch:
        root = Path(scratch)
        common = [f"suite={args.suite}", f"generator={args.generator}", f"executor={args.executor}",
                  f"batch_size={args.batch_size}", f"cache_dir={root / 'cache'}"]
        fill_s = timed_run([*common, f"workers={max(args.workers)}"], root / "fill")
        clip_count = sum(1 for _ in (root / "fill" / "clips").glob("*.json"))
        print(f"{args.suite}: {clip_count} clips, generator {args.generator}, executor {args.executor}, "
              f"batch_size {args.batch_size}; filling the ground-truth cache took {fill_s:.1f} s")
        best: dict[int, float] = {}
        for repeat in range(args.repeats):  # interleaved, so every worker count sees the same machine load
            for workers in args.workers:
                seconds = timed_run([*common, f"workers={workers}"], root / f"w{workers}-r{repeat}")
                best[workers] = min(seconds, best.get(workers, seconds))
        reference = (root / "fill" / "scores.parquet").read_bytes()
        identical = all(path.read_bytes() == reference for path in root.glob("w*-r*/scores.parquet"))
    first = args.workers[0]
    print(f"{'workers':>7} {'seconds':>8} {'clips/s':>8} {'speed-up':>8}")
    for workers in args.workers:
        print(f"{workers:>7} {best[workers]:>8.2f} {clip_count / best[workers]:>8.2f} "
              f"{best[first] / best[workers]:>8.2f}")
    print(f"scores.parquet identical in every run: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
