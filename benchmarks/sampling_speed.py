"""Sampling speed of the bundled model: seconds per 32-frame 64x64 clip, alone and in batches.

    python benchmarks/sampling_speed.py [--steps 24] [--batches 1 8] [--repeats 3]

Prints one row per batch size: seconds per batch, seconds per clip and clips per minute (the
best of --repeats runs, after one warm-up), and the share of the time spent in the denoiser
(the rest: encoding the context, decoding the frames, the scheduler). Target (issue 6): one clip
with the default step count in at most 5 s on a 2-core CPU, batches faster per clip.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from generators.base import GENERATORS, GenerationRequest  # noqa: E402
from simulators import make_spec, simulate  # noqa: E402


class StopWatch:
    """Seconds spent inside a module's forward calls while the context is open (torch hooks)."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.module, self.seconds, self._started = module, 0.0, 0.0

    def _start(self, module, inputs) -> None:
        self._started = time.perf_counter()

    def _stop(self, module, inputs, output) -> None:
        self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> StopWatch:
        self.hooks = [self.module.register_forward_pre_hook(self._start), self.module.register_forward_hook(self._stop)]
        return self

    def __exit__(self, *exc) -> None:
        for hook in self.hooks:
            hook.remove()


def requests_for(count: int) -> list[GenerationRequest]:
    families = ("free_fall", "projectile", "collision", "occlusion")
    requests = []
    for index in range(count):
        clip = simulate(make_spec(families[index % len(families)], "eval", index, n_frames=32, fps=8.0,
                                  resolution=(64, 64), n_context=4))
        requests.append(GenerationRequest.from_clip(clip, seed=0))
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    generator = GENERATORS.get("diffusion")(steps=args.steps, batch_size=max(args.batches))
    denoiser = generator.pipeline.denoiser
    requests = requests_for(max(args.batches))
    print(f"torch threads: {torch.get_num_threads()}, sampling steps: {args.steps}, denoiser step {generator.step}")
    print("| batch | s per batch | s per clip | clips per minute | denoiser share |")
    print("|---|---|---|---|---|")
    for batch in args.batches:
        chunk = requests[:batch]
        generator.generate(chunk)  # warm-up
        best, denoiser_seconds = float("inf"), 0.0
        for _ in range(args.repeats):
            with StopWatch(denoiser) as watch:
                start = time.perf_counter()
                generator.generate(chunk)
                seconds = time.perf_counter() - start
            if seconds < best:
                best, denoiser_seconds = seconds, watch.seconds
        print(f"| {batch} | {best:.2f} | {best / batch:.2f} | {60 * batch / best:.1f} | {denoiser_seconds / best:.0%} |")


if __name__ == "__main__":
    main()
