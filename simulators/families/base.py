"""The scenario-family interface, the registry of families, and the shared look of scenes."""
from __future__ import annotations

import abc
import zlib
from typing import Any, ClassVar

import numpy as np

from ..registry import Registry
from ..scene import RGB, Body, Box, Camera, Scene
from ..spec import SPLITS

FAMILIES: Registry[type[Family]] = Registry("scenario family")

Range = tuple[float, float]

PALETTE: tuple[tuple[str, RGB], ...] = (
    ("red", (255, 31, 31)),
    ("yellow", (135, 118, 16)),
    ("green", (58, 157, 19)),
    ("teal", (19, 161, 100)),
    ("blue", (26, 135, 217)),
    ("purple", (95, 31, 255)),
    ("pink", (238, 29, 208)),
)
"""Colours of tracked objects: 7 hues 360/7 degrees apart (more than twice the observer's
25-degree hue tolerance), HSV saturation 0.88, each with luma (BT.601) at most 112 so that it
stands out by at least 48 grey levels from every floor and backdrop grey below."""

FLOOR_GREY: Range = (160, 190)
BACKDROP_GREY: Range = (200, 230)
CANONICAL_VISUALS = {"visual_floor_grey": 170.0, "visual_backdrop_grey": 215.0, "visual_camera_dx": 0.0,
                     "visual_camera_dz": 0.0, "visual_camera_scale": 1.0, "visual_palette_shift": 0.0}
VISUAL_RANGES: dict[str, Range] = {
    "visual_floor_grey": FLOOR_GREY, "visual_backdrop_grey": BACKDROP_GREY, "visual_camera_dx": (-0.25, 0.25),
    "visual_camera_dz": (-0.15, 0.15), "visual_camera_scale": (0.96, 1.04), "visual_palette_shift": (0.0, 7.0),
}
"""Visual variety per seed: greys of floor and backdrop, camera offset (m) and distance scale,
and a rotation of the palette. `canonical` specs use CANONICAL_VISUALS instead."""

OCCLUDER_RGB: RGB = (80, 80, 85)
SIDE_CAMERA = Camera(eye=(0.0, -4.2, 1.3), target=(0.0, 0.0, 1.3), fov_deg=50.0)


def rng_for(family: str, split: str, seed: int) -> np.random.Generator:
    """The generator every random choice of one scenario comes from; splits never share streams."""
    return np.random.default_rng([zlib.crc32(family.encode()), SPLITS.index(split), seed])


class Family(abc.ABC):
    """A scenario family: sample parameters from a seed, build the scene, add ground-truth events.

    Subclasses set `name`, `principle`, `in_distribution` (train and eval ranges) and `ood`
    (ranges that replace some in-distribution ones on the ood split, disjoint from them).
    Parameters are floats drawn uniformly; a family rounds those it uses as counts or choices.
    """

    name: ClassVar[str]
    principle: ClassVar[str]
    in_distribution: ClassVar[dict[str, Range]]
    ood: ClassVar[dict[str, Range]]

    def ranges(self, split: str) -> dict[str, Range]:
        if split == "ood":
            return {**self.in_distribution, **self.ood}
        return dict(self.in_distribution)

    def sample_params(self, split: str, seed: int, canonical: bool = False) -> dict[str, Any]:
        """Physical parameters, then the visual ones (fixed when canonical), from one stream."""
        rng = rng_for(self.name, split, seed)
        params = {key: float(rng.uniform(lo, hi)) for key, (lo, hi) in sorted(self.ranges(split).items())}
        visuals = {key: float(rng.uniform(lo, hi)) for key, (lo, hi) in VISUAL_RANGES.items()}
        return {**params, **(CANONICAL_VISUALS if canonical else visuals)}

    @abc.abstractmethod
    def build(self, params: dict[str, Any]) -> Scene:
        """The scene at frame 0 for these parameters."""

    def animate(self, sim, time_s: float) -> None:  # noqa: B027 - optional hook, no-op by default
        """Move kinematic bodies to their pose at time_s (called before every physics step).
        sim is a runner.SimHandle (the client and body ids by name). Default: nothing moves by script."""

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict[str, Any]:
        """Family-specific ground truth computed after simulation; default none."""
        return {}


def colours(params: dict[str, Any], count: int) -> list[tuple[str, RGB]]:
    """`count` distinct palette colours (name, rgb), rotated by the seed's palette shift."""
    if count > len(PALETTE):
        raise ValueError(f"a scene can track at most {len(PALETTE)} distinctly coloured objects, asked {count}")
    shift = int(params.get("visual_palette_shift", 0.0)) % len(PALETTE)
    return [PALETTE[(shift + index) % len(PALETTE)] for index in range(count)]


def grey(level: float) -> RGB:
    value = int(round(level))
    return (value, value, value)


def camera(params: dict[str, Any], base: Camera = SIDE_CAMERA) -> Camera:
    """`base` moved by the seed's offset (dx sideways, dz up, metres) and distance scale."""
    dx, dz = params.get("visual_camera_dx", 0.0), params.get("visual_camera_dz", 0.0)
    scale = params.get("visual_camera_scale", 1.0)
    eye, target = np.asarray(base.eye), np.asarray(base.target)
    eye = target + (eye - target) * scale + [dx, 0.0, dz]
    target = target + [dx, 0.0, dz]
    return Camera(tuple(eye.tolist()), tuple(target.tolist()), base.up, base.fov_deg, base.near, base.far)


ELEVATION_WORDS: tuple[tuple[float, str], ...] = (
    (5.0, ""), (30.0, " and slightly above"), (60.0, " and above"), (80.0, " and high above"), (90.01, " straight above"))
"""Camera elevation (degrees above the horizontal, looking at the target) -> words, by upper bound:
level under 5 degrees, a top view from 80 up."""
SIDEWAYS_DEG = 10.0
"""A camera turned at least this far (degrees) from straight on is said to look 'a little from the left/right'."""


def view_words(view: Camera, facing: str = "the side", framing: str = "") -> str:
    """The prompt's camera sentence, from the scene's actual camera: which way it looks at the scene
    (facing, e.g. 'the side' or 'the front', plus 'a little from the left/right' when it is turned),
    how high (ELEVATION_WORDS) and how far, metres from the point it looks at; framing is appended.
    E.g. 'Seen from the side and slightly above by a camera 4.5 m away.'"""
    offset = np.asarray(view.eye, float) - np.asarray(view.target, float)
    distance = float(np.linalg.norm(offset))
    elevation = float(np.degrees(np.arctan2(offset[2], np.hypot(offset[0], offset[1]))))
    azimuth = float(np.degrees(np.arctan2(offset[0], -offset[1])))  # > 0: the camera stands to the right
    height = next(words for bound, words in ELEVATION_WORDS if elevation < bound)
    if height == " straight above":
        direction = "from straight above (a top view)"
    else:
        turned = f", a little from the {'right' if azimuth > 0 else 'left'}" if abs(azimuth) >= SIDEWAYS_DEG else ""
        direction = f"from {facing}{turned}{height}" + ("," if turned and height else "")
    level = "level " if not height else ""
    return f"Seen {direction} by a {level}camera {distance:.1f} m away{framing}."


def colour_list(names: list[str]) -> str:
    """'red', 'red and blue', 'red, blue and green'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def floor_and_backdrop(params: dict[str, Any] | None = None) -> list[Body]:
    """A grey floor (top at z = 0) and a grey backdrop wall at y = 4 m, in the seed's greys."""
    params = params or CANONICAL_VISUALS
    return [
        Body("floor", "floor", Box((8.0, 8.0, 0.05)), grey(params.get("visual_floor_grey", 170.0)),
             (0.0, 0.0, -0.05), mass=0.0, restitution=1.0, lateral_friction=0.6, tracked=False),
        Body("backdrop", "backdrop", Box((10.0, 0.05, 8.0)), grey(params.get("visual_backdrop_grey", 215.0)),
             (0.0, 4.0, 2.0), mass=0.0, tracked=False),
    ]
