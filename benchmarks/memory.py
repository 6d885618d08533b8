"""Peak memory of `physcheck run` against the number of clips: it must stay under 2 GB and flat.

    python benchmarks/memory.py [--generator diffusion] [--seeds 2 5 10] [--workers 0] [--interval 0.1]

Runs `physcheck run suite=core suite.n_seeds=N` for each N as a subprocess (a fresh run folder each,
the ground-truth cache shared, so the first size also pays for simulation; the video cache off, so
every clip is generated) and samples, every --interval seconds, the memory of the whole process tree
(the CLI and its worker processes). Prints,
per size: clips, wall time, the peak of the summed proportional set size (PSS: shared pages split
between the processes that map them, so the sum is what the run really holds), and the peak
resident size (RSS) of the largest single process. Issue 10's target: the summed peak under 2 GB on
`core` (n_seeds 10), and flat in the number of clips (results stream to disk; no clip is held after
it is scored).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPOSITORY = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3


def tree_memory(root: psutil.Process) -> tuple[int, int]:
    """(summed PSS of root and its descendants, largest single RSS), in bytes; vanished processes skipped."""
    total_pss, largest_rss = 0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        total_pss += info.pss
        largest_rss = max(largest_rss, info.rss)
    return total_pss, largest_rss


def measure(command: list[str], interval: float) -> tuple[float, int, int]:
    """Run command; (wall seconds, peak summed PSS, peak single-process RSS). Raises if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(process.pid)
    peak_pss, peak_rss = 0, 0
    while process.poll() is None:
        pss, rss = tree_memory(root)
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(interval)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}): {process.stderr.read()[-2000:]}")
    return wall, peak_pss, peak_rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="diffusion")
    parser.add_argument("--seeds", type=int, nargs="+", default=[2, 5, 10], help="suite.n_seeds of each run")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between memory samples")
    args = parser.parse_args()
    physcheck = str(Path(sys.executable).with_name("physcheck"))
    print(f"generator {args.generator}, workers {args.workers or 'every core'}, suite core")
    print("| clips | wall s | peak PSS, whole run (GiB) | peak RSS, largest process (GiB) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="physcheck-memory-") as scratch:
        for n_seeds in args.seeds:
            run_id = f"seeds{n_seeds}"
            command = [physcheck, "run", "suite=core", f"suite.n_seeds={n_seeds}", f"generator={args.generator}",
                       f"workers={args.workers}", f"runs_dir={scratch}", f"run_id={run_id}",
                       "cache_videos=false"]  # generate every clip, as a run of a new checkpoint does
            wall, pss, rss = measure(command, args.interval)
            clips = sum(1 for _ in (Path(scratch) / run_id / "clips").glob("*.json"))
            print(f"| {clips} | {wall:.1f} | {pss / GIB:.2f} | {rss / GIB:.2f} |", flush=True)


if __name__ == "__main__":
    main()
