"""Scene description: the single source of truth a family builds and the runner simulates.

Units: metres, seconds, kilograms; z is up. Colours are 0..255 RGB.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Vec3 = tuple[float, float, float]

SCENERY_ROLES = frozenset({"floor", "backdrop"})
"""Roles that are drawn but are not objects: they get segmentation id -1."""


@dataclass(frozen=True)
class Sphere:
    radius: float

    def surface_points(self) -> np.ndarray:
        """(N, 3) points on the surface in the body frame, for projecting the silhouette."""
        n = 256
        index = np.arange(n) + 0.5
        polar = np.arccos(1 - 2 * index / n)
        azimuth = np.pi * (1 + 5**0.5) * index
        return self.radius * np.stack(
            [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1
        )

    @property
    def size(self) -> float:
        """Radius of the bounding sphere, metres."""
        return self.radius


@dataclass(frozen=True)
class Box:
    half_extents: Vec3

    def surface_points(self) -> np.ndarray:
        """(8, 3) corners in the body frame."""
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
        return signs * np.asarray(self.half_extents, float)

    @property
    def size(self) -> float:
        return float(np.linalg.norm(self.half_extents))


Shape = Sphere | Box


@dataclass
class Body:
    """One rigid body. mass 0 makes it static. Velocities are the state at frame 0."""

    name: str
    role: str
    shape: Shape
    rgb: tuple[int, int, int]
    position: Vec3
    orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    mass: float = 1.0
    linear_velocity: Vec3 = (0.0, 0.0, 0.0)
    angular_velocity: Vec3 = (0.0, 0.0, 0.0)
    restitution: float = 0.5
    lateral_friction: float = 0.5
    rolling_friction: float = 0.0
    release_time: float = 0.0
    """Seconds during which the body is held still at its initial pose (dropped at that time)."""
    tracked: bool = True
    """Tracked bodies are what the metrics follow; each needs a hue distinct from the others."""

    @property
    def is_scenery(self) -> bool:
        return self.role in SCENERY_ROLES


@dataclass(frozen=True)
class Camera:
    """A pinhole camera; fov_deg is the vertical field of view."""

    eye: Vec3
    target: Vec3
    up: Vec3 = (0.0, 0.0, 1.0)
    fov_deg: float = 50.0
    near: float = 0.1
    far: float = 30.0


@dataclass
class Scene:
    bodies: list[Body]
    camera: Camera
    prompt: str
    light_direction: Vec3 = (-1.0, -2.0, 4.0)
    events: dict = field(default_factory=dict)
    """Family-specific ground truth known before simulation (e.g. the initial velocity)."""
