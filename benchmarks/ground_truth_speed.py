"""Ground-truth speed: our simulate() against a bare pybullet loop doing the same physics work.

For every spec of a suite (default: core at 64x64, 32 frames) both sides build the same bodies,
run the same physics steps (and the family's scripted motion), and make the same getCameraImage
call per frame; ours also records poses, contacts, segmentation ids, depth and tracks. Prints
clips per second for both and the ratio ours / bare (target <= 1.3), measured in one run.

    python benchmarks/ground_truth_speed.py [--families a,b] [--seeds 10] [--resolution 64]
"""
from __future__ import annotations

import argparse
import time

from simulators import FAMILIES, build_specs, simulate
from simulators.assets import add_asset
from simulators.quiet import pybullet
from simulators.runner import PHYSICS_HZ, SimHandle, hold, new_client, prepare


def bare_loop(spec) -> None:
    """The physics and rendering of one clip with nothing recorded."""
    setup = prepare(spec)
    family, scene, view, projection = setup.family, setup.scene, setup.view, setup.projection
    substeps, step_s, animates = setup.substeps, setup.step_s, setup.animates
    height, width = spec.resolution
    client = new_client(step_s)
    try:
        body_ids = {}
        for body in scene.bodies:
            body_ids[body.name], _ = add_asset(body.shape, client, body)
            if body.mass > 0 and body.release_time <= 0:
                client.resetBaseVelocity(body_ids[body.name], body.linear_velocity, body.angular_velocity)
        held = [(body, body_ids[body.name]) for body in scene.bodies if body.release_time > 0]
        handle = SimHandle(client, body_ids)
        if animates:
            family.animate(handle, 0.0)
        for frame in range(spec.n_frames):
            if frame > 0:
                for substep in range(substeps):
                    time_s = ((frame - 1) * substeps + substep + 1) * step_s
                    if animates:
                        family.animate(handle, time_s)
                    client.stepSimulation()
                    hold(client, held, time_s)
            client.getCameraImage(width, height, view, projection, renderer=pybullet.ER_TINY_RENDERER, shadow=0,
                                  lightDirection=list(scene.light_direction),
                                  flags=pybullet.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX)
    finally:
        client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES.names()))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="best of N passes over the suite for each side")
    args = parser.parse_args()
    specs = build_specs(args.families.split(","), ["eval"], args.seeds, n_frames=args.frames,
                        resolution=(args.resolution, args.resolution))
    print(f"{len(specs)} clips, {args.resolution}x{args.resolution}, {args.frames} frames, physics at {PHYSICS_HZ} Hz")
    rows = []
    for family in args.families.split(","):
        family_specs = [spec for spec in specs if spec.family == family]
        ours, bare = [], []
        for _ in range(args.repeats):  # interleaved, so both sides see the same machine load
            start = time.perf_counter()
            for spec in family_specs:
                bare_loop(spec)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            for spec in family_specs:
                simulate(spec)
            ours.append(time.perf_counter() - start)
        rows.append((family, len(family_specs), min(ours), min(bare)))
    print(f"{'family':<12} {'clips':>5} {'ours clip/s':>12} {'bare clip/s':>12} {'ratio':>6}")
    for family, count, ours_s, bare_s in rows:
        print(f"{family:<12} {count:>5} {count / ours_s:>12.1f} {count / bare_s:>12.1f} {ours_s / bare_s:>6.2f}")
    total_ours, total_bare = sum(r[2] for r in rows), sum(r[3] for r in rows)
    total = sum(r[1] for r in rows)
    print(f"{'all':<12} {total:>5} {total / total_ours:>12.1f} {total / total_bare:>12.1f} "
          f"{total_ours / total_bare:>6.2f}")


if __name__ == "__main__":
    main()
