"""The scenario-family interface and the registry of families."""
from __future__ import annotations

import abc
import zlib
from typing import Any, ClassVar

import numpy as np

from ..registry import Registry
from ..scene import Body, Box, Camera, Scene
from ..spec import SPLITS

FAMILIES: Registry[type[Family]] = Registry("scenario family")

Range = tuple[float, float]

# Scenery shared by the ball families: a light-grey backdrop and a mid-grey floor, both
# unsaturated so that colour keying never mistakes them for objects, and with a clear
# luminance step to every palette colour (see shared/reference/observing-facts.md).
FLOOR_RGB = (150, 150, 150)
BACKDROP_RGB = (215, 215, 220)
OCCLUDER_RGB = (80, 80, 85)
PALETTE = {
    "red": (230, 40, 25),
    "blue": (40, 80, 230),
    "yellow": (235, 200, 30),
    "green": (40, 190, 50),
    "purple": (150, 50, 220),
}
SIDE_CAMERA = Camera(eye=(0.0, -4.2, 1.3), target=(0.0, 0.0, 1.3), fov_deg=50.0)


def rng_for(family: str, split: str, seed: int) -> np.random.Generator:
    """The generator every random choice of one scenario comes from; splits never share streams."""
    return np.random.default_rng([zlib.crc32(family.encode()), SPLITS.index(split), seed])


class Family(abc.ABC):
    """A scenario family: sample parameters from a seed, build the scene, add ground-truth events.

    Subclasses set `name`, `principle`, `in_distribution` (train and eval ranges) and `ood`
    (ranges that replace some in-distribution ones on the ood split, disjoint from them).
    """

    name: ClassVar[str]
    principle: ClassVar[str]
    in_distribution: ClassVar[dict[str, Range]]
    ood: ClassVar[dict[str, Range]]

    def ranges(self, split: str) -> dict[str, Range]:
        if split == "ood":
            return {**self.in_distribution, **self.ood}
        return dict(self.in_distribution)

    def sample_params(self, split: str, seed: int) -> dict[str, Any]:
        rng = rng_for(self.name, split, seed)
        return {key: float(rng.uniform(lo, hi)) for key, (lo, hi) in sorted(self.ranges(split).items())}

    @abc.abstractmethod
    def build(self, params: dict[str, Any]) -> Scene:
        """The scene at frame 0 for these parameters."""

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict[str, Any]:
        """Family-specific ground truth computed after simulation; default none."""
        return {}


def floor_and_backdrop() -> list[Body]:
    return [
        Body("floor", "floor", Box((6.0, 6.0, 0.05)), FLOOR_RGB, (0.0, 0.0, -0.05), mass=0.0,
             restitution=1.0, lateral_friction=0.6, tracked=False),
        Body("backdrop", "backdrop", Box((8.0, 0.05, 6.0)), BACKDROP_RGB, (0.0, 4.0, 2.0), mass=0.0,
             tracked=False),
    ]
