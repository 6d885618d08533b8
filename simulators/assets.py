"""Adding a scene's bodies to pybullet: one `add_asset` per shape type (functools.singledispatch).

Each asset reports its parts: the links that become objects in the Clip, with the points of
their visual geometry in the link frame (for projecting silhouettes).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pybullet
import pybullet_data

from .quiet import c_output_silenced
from .scene import (
    Body,
    Box,
    Compound,
    Cylinder,
    Sphere,
    URDFAsset,
    box_corners,
    capsule_points,
    cylinder_points,
    fibonacci_sphere,
)

MAX_UNTRACKED_SATURATION = 60
"""Untracked objects must be this unsaturated (HSV S, 0..255) so colour keying never finds them."""


@dataclass(frozen=True)
class PartInfo:
    """One link of an added body. link -1 is the base; local_points (N, 3) are in the link frame."""

    name: str
    body: str
    link: int
    rgb: tuple[int, int, int]
    tracked: bool
    local_points: np.ndarray
    size: float
    shape: str


def saturation(rgb) -> int:
    return int(cv2.cvtColor(np.array([[rgb]], np.uint8), cv2.COLOR_RGB2HSV)[0, 0, 1])


def check_colour(part: PartInfo, scenery: bool) -> None:
    if (scenery or not part.tracked) and saturation(part.rgb) > MAX_UNTRACKED_SATURATION:
        raise ValueError(f"{part.name}: untracked and scenery parts must be grey (HSV saturation <= "
                         f"{MAX_UNTRACKED_SATURATION}), got rgb {part.rgb}")


def rgba(rgb) -> list[float]:
    return [c / 255 for c in rgb] + [1.0]


@functools.singledispatch
def create_shape(shape, client, rgb) -> tuple[int, int]:
    """(collision shape id, visual shape id) of a primitive."""
    raise TypeError(f"no pybullet shape for {type(shape).__name__}")


@create_shape.register
def _(shape: Sphere, client, rgb) -> tuple[int, int]:
    return (client.createCollisionShape(pybullet.GEOM_SPHERE, radius=shape.radius),
            client.createVisualShape(pybullet.GEOM_SPHERE, radius=shape.radius, rgbaColor=rgba(rgb)))


@create_shape.register
def _(shape: Box, client, rgb) -> tuple[int, int]:
    return (client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=shape.half_extents),
            client.createVisualShape(pybullet.GEOM_BOX, halfExtents=shape.half_extents, rgbaColor=rgba(rgb)))


@create_shape.register
def _(shape: Cylinder, client, rgb) -> tuple[int, int]:
    return (client.createCollisionShape(pybullet.GEOM_CYLINDER, radius=shape.radius, height=shape.length),
            client.createVisualShape(pybullet.GEOM_CYLINDER, radius=shape.radius, length=shape.length,
                                     rgbaColor=rgba(rgb)))


def set_dynamics(client, body_id: int, link: int, body: Body) -> None:
    client.changeDynamics(body_id, link, restitution=body.restitution, lateralFriction=body.lateral_friction,
                          rollingFriction=body.rolling_friction, linearDamping=0.0, angularDamping=0.0)


@functools.singledispatch
def add_asset(shape, client, body: Body) -> tuple[int, list[PartInfo]]:
    """Create `body` in the client; return its unique id and its parts."""
    raise TypeError(f"no asset for {type(shape).__name__}")


@add_asset.register(Sphere)
@add_asset.register(Box)
@add_asset.register(Cylinder)
def _(shape, client, body: Body) -> tuple[int, list[PartInfo]]:
    collision, visual = create_shape(shape, client, body.rgb)
    body_id = client.createMultiBody(body.mass, collision, visual, body.position, body.orientation)
    set_dynamics(client, body_id, -1, body)
    part = PartInfo(body.name, body.name, -1, tuple(body.rgb), body.tracked, shape.surface_points(),
                    float(shape.size), type(shape).__name__.lower())
    return body_id, [part]


@add_asset.register
def _(shape: Compound, client, body: Body) -> tuple[int, list[PartInfo]]:
    base, links = shape.parts[0], shape.parts[1:]
    shapes = [create_shape(part.shape, client, part.rgb) for part in shape.parts]
    joint_types = {"fixed": pybullet.JOINT_FIXED, "revolute": pybullet.JOINT_REVOLUTE}
    body_id = client.createMultiBody(
        baseMass=base.mass if body.mass > 0 else 0.0, baseCollisionShapeIndex=shapes[0][0],
        baseVisualShapeIndex=shapes[0][1], basePosition=body.position, baseOrientation=body.orientation,
        linkMasses=[part.mass for part in links], linkCollisionShapeIndices=[s[0] for s in shapes[1:]],
        linkVisualShapeIndices=[s[1] for s in shapes[1:]], linkPositions=[part.position for part in links],
        linkOrientations=[part.orientation for part in links],
        linkInertialFramePositions=[(0, 0, 0)] * len(links), linkInertialFrameOrientations=[(0, 0, 0, 1)] * len(links),
        linkParentIndices=[part.parent for part in links], linkJointTypes=[joint_types[part.joint] for part in links],
        linkJointAxis=[part.axis for part in links],
    )
    for link in range(-1, len(links)):
        set_dynamics(client, body_id, link, body)
    for link, part in enumerate(links):
        if part.joint == "revolute":
            client.setJointMotorControl2(body_id, link, pybullet.VELOCITY_CONTROL, force=0)
    parts = [PartInfo(f"{body.name}.{part.name}", body.name, index - 1, tuple(part.rgb), part.tracked,
                      part.shape.surface_points(), float(part.shape.size), type(part.shape).__name__.lower())
             for index, part in enumerate(shape.parts)]
    return body_id, parts


def visual_points(geometry: int, dimensions, mesh_file: bytes, scale: float) -> np.ndarray:
    """Points of one visual shape in its own frame (getVisualShapeData conventions)."""
    if geometry == pybullet.GEOM_SPHERE:
        return dimensions[0] * fibonacci_sphere(128)
    if geometry == pybullet.GEOM_BOX:
        return box_corners(np.asarray(dimensions[:3]) / 2)
    if geometry == pybullet.GEOM_CYLINDER:
        return cylinder_points(dimensions[1], dimensions[0])
    if geometry == pybullet.GEOM_CAPSULE:
        return capsule_points(dimensions[1], dimensions[0])
    if geometry == pybullet.GEOM_MESH:
        path = mesh_file.decode()
        return np.asarray(dimensions[:3]) * (stl_vertices(path) if path.lower().endswith(".stl") else obj_vertices(path))
    return np.zeros((0, 3))


@functools.lru_cache(maxsize=32)
def obj_vertices(path: str) -> np.ndarray:
    """Vertices of a Wavefront .obj file (the 'v x y z' lines)."""
    rows = [line.split()[1:4] for line in Path(path).read_text(errors="replace").splitlines() if line.startswith("v ")]
    return np.asarray(rows, float) if rows else np.zeros((0, 3))


@functools.lru_cache(maxsize=32)
def stl_vertices(path: str) -> np.ndarray:
    """Vertices of a binary STL file (80-byte header, triangle count, 50 bytes per triangle)."""
    data = Path(path).read_bytes()
    count = int(np.frombuffer(data, np.uint32, 1, 80)[0]) if len(data) >= 84 else 0
    if count == 0 or len(data) != 84 + 50 * count:
        return np.zeros((0, 3))
    triangles = np.frombuffer(data, np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")]),
                              count, 84)
    return np.unique(triangles["vertices"].reshape(-1, 3).astype(float), axis=0)


@add_asset.register
def _(shape: URDFAsset, client, body: Body) -> tuple[int, list[PartInfo]]:
    path = Path(pybullet_data.getDataPath()) / shape.path
    with c_output_silenced():  # the URDF importer prints warnings about missing joint axes
        body_id = client.loadURDF(str(path), body.position, body.orientation, useFixedBase=shape.fixed_base,
                                  globalScaling=shape.scale, flags=pybullet.URDF_MAINTAIN_LINK_ORDER)
    names = {-1: "base"}
    for joint in range(client.getNumJoints(body_id)):
        names[joint] = client.getJointInfo(body_id, joint)[12].decode()
    colours = dict(shape.link_colours)
    points: dict[int, list[np.ndarray]] = {link: [] for link in names}
    for visual in client.getVisualShapeData(body_id):
        link, geometry, dimensions, mesh_file, local_position, local_orientation = (
            visual[1], visual[2], visual[3], visual[4], visual[5], visual[6])
        local = visual_points(geometry, dimensions, mesh_file, shape.scale)
        rotation = np.asarray(client.getMatrixFromQuaternion(local_orientation)).reshape(3, 3)
        points[link].append(local @ rotation.T + np.asarray(local_position))
    parts = []
    for link, name in names.items():
        rgb = tuple(colours.get(name, shape.default_rgb))
        client.changeVisualShape(body_id, link, rgbaColor=rgba(rgb))
        set_dynamics(client, body_id, link, body)
        local = np.concatenate(points[link]) if points[link] else np.zeros((0, 3))
        size = float(np.linalg.norm(local, axis=1).max()) if len(local) else 0.0
        parts.append(PartInfo(f"{body.name}.{name}", body.name, link, rgb, name in shape.tracked_links, local, size,
                              "urdf"))
    return body_id, parts
