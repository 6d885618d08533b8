"""tower: a stack of 3 to 5 blocks that either stands or topples (stability).

Each block sits shifted sideways by the same step d from the one below it (a staircase leaning
to one side). A stack stands when, at every level, the centre of mass of all the blocks above
lies over the top face of the block that carries them. The bottom block is the worst level: the
n - 1 blocks above it have their centre of mass n d / 2 out, and `lean` is that offset as a
fraction of the half width (the limit is 1). Stable towers lean by 0 to 0.6 of the limit,
unstable ones by 1.15 to 1.5, so that everything above the bottom block topples at once; the
geometry is checked level by level (`is_stable`), not assumed. The blocks start at rest,
stacked exactly, and held until 0.4 s; an unstable tower then tips and falls after the context.
"""
from __future__ import annotations

import numpy as np

from ..scene import Body, Box, Camera, Scene
from .base import FAMILIES, Family, camera, colour_list, colours, floor_and_backdrop, view_words

BLOCK_HALF = (0.36, 0.3, 0.2)  # x (the lean direction), y, z; metres
BLOCK_MASS = 1.0
TOWER_CAMERA = Camera(eye=(0.0, -4.6, 2.2), target=(0.0, 0.0, 1.0), fov_deg=50.0)
STABLE_LEAN = (0.0, 0.6)
UNSTABLE_LEAN = (1.15, 1.5)
RELEASE_TIME_S = 0.4
"""The blocks are held in place until then: the context (0.5 s by default) shows the tower still."""


def block_offsets(count: int, lean: float, direction: float) -> np.ndarray:
    """x offset of each block's centre (bottom first): a staircase whose top blocks' centre of mass sits
    `lean` half widths from the bottom block's centre."""
    half_width = BLOCK_HALF[0]
    step = 2 * lean * half_width / count  # the blocks above the bottom one average (count / 2) steps out
    return direction * step * np.arange(count)


def is_stable(offsets: np.ndarray, half_width: float = BLOCK_HALF[0]) -> list[bool]:
    """Per supporting block (bottom first, all but the top one): whether the centre of mass of the equal
    blocks above it lies over its top face."""
    return [bool(abs(offsets[level + 1:].mean() - offsets[level]) <= half_width) for level in range(len(offsets) - 1)]


def fall_frames(tracks, names: list[str], drop: float) -> dict[str, int | None]:
    """Per block, the first frame its centre is `drop` metres below where it started, or None."""
    frames = {}
    for name in names:
        z = tracks.loc[tracks["object"] == name, "z"].to_numpy()
        fallen = np.flatnonzero(z < z[0] - drop)
        frames[name] = int(fallen[0]) if fallen.size else None
    return frames


@FAMILIES.register("tower")
class Tower(Family):
    name = "tower"
    principle = "stability"
    in_distribution = {"count": (3.0, 5.999), "stable": (0.0, 1.0), "lean_fraction": (0.0, 1.0),
                       "direction": (-1.0, 1.0), "x": (-0.3, 0.3)}
    ood = {"lean_fraction": (1.2, 1.5)}
    """lean_fraction picks the lean within the stable or unstable range; on ood stable towers lean by
    0.72 to 0.9 of the limit (closer to it than any in distribution) and unstable ones by 1.57 to 1.68."""

    def lean(self, params: dict) -> float:
        lo, hi = STABLE_LEAN if params["stable"] >= 0.5 else UNSTABLE_LEAN
        return lo + params["lean_fraction"] * (hi - lo)

    def build(self, params: dict) -> Scene:
        count = int(params["count"])
        direction = 1.0 if params["direction"] >= 0 else -1.0
        offsets = params["x"] + block_offsets(count, self.lean(params), direction)
        palette = colours(params, count)
        blocks = [
            Body(f"block{level + 1}", "block", Box(BLOCK_HALF), rgb,
                 (float(offsets[level]), 0.0, BLOCK_HALF[2] * (2 * level + 1)), mass=BLOCK_MASS,
                 restitution=0.0, lateral_friction=0.7, release_time=RELEASE_TIME_S)
            for level, (_, rgb) in enumerate(palette)
        ]
        stable = all(is_stable(offsets - params["x"]))
        names = colour_list([colour for colour, _ in palette])
        side = "right" if direction > 0 else "left"
        outcome = "stands still" if stable else "topples over"
        view = camera(params, TOWER_CAMERA)
        prompt = (
            f"A tower of {count} box-shaped blocks ({names}, bottom to top) stacked on a grey floor {outcome} once let "
            f"go after {RELEASE_TIME_S:.1f} s; each block is {2 * BLOCK_HALF[0]:.2f} m wide and "
            f"{2 * BLOCK_HALF[2]:.1f} m tall and shifted a little to the {side} of the one below. {view_words(view)}"
        )
        events = {"block_count": count, "offsets_m": offsets.tolist(), "stable_levels": is_stable(offsets),
                  "stable": stable, "lean": self.lean(params), "release_time_s": RELEASE_TIME_S}
        return Scene([*floor_and_backdrop(params), *blocks], view, prompt, events=events)

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        names = [body.name for body in scene.bodies if body.role == "block"]
        falls = fall_frames(tracks, names, BLOCK_HALF[2])
        fallen = [frame for frame in falls.values() if frame is not None]
        return {"fall_frames": falls, "first_fall_frame": min(fallen) if fallen else None}
