"""Scene description: the single source of truth a family builds and the runner simulates.

Units: metres, seconds, kilograms; z is up. Colours are 0..255 RGB. Quaternions are (x, y, z, w).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
RGB = tuple[int, int, int]
IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)

SCENERY_ROLES = frozenset({"floor", "backdrop", "scenery"})
"""Roles that are drawn but are not objects: they get segmentation id -1."""


def fibonacci_sphere(n: int = 256) -> np.ndarray:
    """(n, 3) unit vectors spread evenly over the sphere."""
    index = np.arange(n) + 0.5
    polar = np.arccos(1 - 2 * index / n)
    azimuth = np.pi * (1 + 5**0.5) * index
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)


def box_corners(half_extents) -> np.ndarray:
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    return signs * np.asarray(half_extents, float)


def cylinder_points(radius: float, length: float, n: int = 32) -> np.ndarray:
    """(2n, 3) points on the rims of a cylinder along z."""
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rim = np.stack([radius * np.cos(angle), radius * np.sin(angle), np.zeros(n)], axis=1)
    return np.concatenate([rim + [0, 0, length / 2], rim - [0, 0, length / 2]])


def capsule_points(radius: float, length: float) -> np.ndarray:
    """Points on a capsule along z: two hemispheres' spheres around the segment ends."""
    sphere = radius * fibonacci_sphere(128)
    return np.concatenate([sphere + [0, 0, length / 2], sphere - [0, 0, length / 2]])


@dataclass(frozen=True)
class Sphere:
    radius: float

    def surface_points(self) -> np.ndarray:
        """(N, 3) points on the surface in the body frame, for projecting the silhouette."""
        return self.radius * fibonacci_sphere()

    @property
    def size(self) -> float:
        """Radius of the bounding sphere, metres."""
        return self.radius


@dataclass(frozen=True)
class Box:
    half_extents: Vec3

    def surface_points(self) -> np.ndarray:
        return box_corners(self.half_extents)

    @property
    def size(self) -> float:
        return float(np.linalg.norm(self.half_extents))


@dataclass(frozen=True)
class Cylinder:
    """A cylinder along the body's z axis."""

    radius: float
    length: float

    def surface_points(self) -> np.ndarray:
        return cylinder_points(self.radius, self.length)

    @property
    def size(self) -> float:
        return float(np.hypot(self.radius, self.length / 2))


Primitive = Sphere | Box | Cylinder


@dataclass(frozen=True)
class Part:
    """One link of a Compound. position/orientation: the joint frame in the parent part's frame.

    joint: "fixed" (rigidly attached) or "revolute" (free hinge about `axis`, motors off).
    """

    name: str
    shape: Primitive
    rgb: RGB
    position: Vec3 = (0.0, 0.0, 0.0)
    orientation: Quat = IDENTITY
    mass: float = 0.1
    parent: int = 0
    """Index of the parent in Compound.parts (parts[0] is the base and has no parent)."""
    joint: str = "fixed"
    axis: Vec3 = (0.0, 0.0, 1.0)
    tracked: bool = True


@dataclass(frozen=True)
class Compound:
    """A multi-part body built from primitives; parts[0] is the base (its pose is Body.position)."""

    parts: tuple[Part, ...]

    @property
    def size(self) -> float:
        return float(max(np.linalg.norm(p.position) + p.shape.size for p in self.parts))


@dataclass(frozen=True)
class URDFAsset:
    """A URDF model, path relative to pybullet_data. link_colours: link name ('base' for the base)
    to RGB; tracked_links: the links tracked as objects (each needs a distinct hue); every other
    link must stay unsaturated."""

    path: str
    scale: float = 1.0
    fixed_base: bool = False
    link_colours: tuple[tuple[str, RGB], ...] = ()
    tracked_links: tuple[str, ...] = ()
    default_rgb: RGB = (128, 128, 128)

    @property
    def size(self) -> float:
        return float(self.scale)


Shape = Primitive | Compound | URDFAsset


@dataclass
class Body:
    """One body. mass 0 makes it static. Velocities are the state at frame 0.

    For a Compound or URDFAsset, rgb and tracked are those of the parts/links, not of the body.
    """

    name: str
    role: str
    shape: Shape
    rgb: RGB
    position: Vec3
    orientation: Quat = IDENTITY
    mass: float = 1.0
    linear_velocity: Vec3 = (0.0, 0.0, 0.0)
    angular_velocity: Vec3 = (0.0, 0.0, 0.0)
    restitution: float = 0.5
    lateral_friction: float = 0.5
    rolling_friction: float = 0.0
    release_time: float = 0.0
    """Seconds during which the body is held still at its initial pose (dropped at that time)."""
    tracked: bool = True
    """Tracked bodies are what the metrics follow; each needs a hue distinct from the others.
    Untracked bodies must be unsaturated (greys) so that colour keying never takes them for objects."""

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
