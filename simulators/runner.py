"""The deterministic pybullet runner: ScenarioSpec -> Clip.

One pybullet DIRECT client per clip, so clips never leak state into each other. Physics runs
at a fixed step of 1 / (fps * substeps) seconds with substeps = round(240 / fps), which is
exactly 1/240 s whenever fps divides 240; frame 0 is the initial state and each later frame is
recorded after `substeps` steps.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pybullet
from pybullet_utils import bullet_client

from .camera import linear_depth, projection_matrix, view_matrix
from .clip import Clip, ObjectInfo
from .families import FAMILIES
from .quiet import c_output_silenced
from .render import render
from .scene import Body, Box, Scene, Sphere
from .spec import ScenarioSpec
from .tracks import compute_tracks, hidden_intervals

PHYSICS_HZ = 240
SOLVER_ITERATIONS = 50


@functools.singledispatch
def create_shape(shape: Any, client: bullet_client.BulletClient, rgba: list[float]) -> tuple[int, int]:
    """(collision shape id, visual shape id) for one shape type."""
    raise TypeError(f"no pybullet shape for {type(shape).__name__}")


@create_shape.register
def _(shape: Sphere, client: bullet_client.BulletClient, rgba: list[float]) -> tuple[int, int]:
    return (client.createCollisionShape(pybullet.GEOM_SPHERE, radius=shape.radius),
            client.createVisualShape(pybullet.GEOM_SPHERE, radius=shape.radius, rgbaColor=rgba))


@create_shape.register
def _(shape: Box, client: bullet_client.BulletClient, rgba: list[float]) -> tuple[int, int]:
    return (client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=shape.half_extents),
            client.createVisualShape(pybullet.GEOM_BOX, halfExtents=shape.half_extents, rgbaColor=rgba))


def add_body(client: bullet_client.BulletClient, body: Body) -> int:
    collision, visual = create_shape(body.shape, client, [c / 255 for c in body.rgb] + [1.0])
    body_id = client.createMultiBody(body.mass, collision, visual, body.position, body.orientation)
    client.changeDynamics(
        body_id, -1, restitution=body.restitution, lateralFriction=body.lateral_friction,
        rollingFriction=body.rolling_friction, linearDamping=0.0, angularDamping=0.0,
    )
    if body.mass > 0 and body.release_time <= 0:
        client.resetBaseVelocity(body_id, body.linear_velocity, body.angular_velocity)
    return body_id


def substeps_per_frame(fps: float) -> int:
    return max(1, round(PHYSICS_HZ / fps))


def build_scene(spec: ScenarioSpec) -> Scene:
    return FAMILIES.get(spec.family)().build(spec.params)


def simulate(spec: ScenarioSpec, with_depth: bool = True) -> Clip:
    """Simulate and render one scenario; the same spec always gives a bit-identical Clip."""
    family = FAMILIES.get(spec.family)()
    scene = family.build(spec.params)
    height, width = spec.resolution
    view, projection = view_matrix(scene.camera), projection_matrix(scene.camera, width, height)
    substeps = substeps_per_frame(spec.fps)

    with c_output_silenced():
        client = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
    try:
        client.setGravity(0, 0, -9.81)
        step_s = 1.0 / (spec.fps * substeps)
        client.setPhysicsEngineParameter(
            fixedTimeStep=step_s, numSubSteps=0, numSolverIterations=SOLVER_ITERATIONS,
            deterministicOverlappingPairs=1,
        )
        body_ids = [add_body(client, body) for body in scene.bodies]
        held = [(body, body_id) for body, body_id in zip(scene.bodies, body_ids) if body.release_time > 0]
        objects, shapes, object_body_ids = [], [], []
        seg_lookup = {}
        for body, body_id in zip(scene.bodies, body_ids):
            if body.is_scenery:
                continue
            object_id = len(objects)
            objects.append(ObjectInfo(object_id, body.name, body.role, tuple(body.rgb), True,
                                      float(body.shape.size), type(body.shape).__name__.lower(), body.tracked))
            shapes.append(body.shape)
            object_body_ids.append(body_id)
            seg_lookup[body_id] = object_id
        names = {body_id: body.name for body, body_id in zip(scene.bodies, body_ids)}

        video = np.empty((spec.n_frames, height, width, 3), np.uint8)
        seg = np.empty((spec.n_frames, height, width), np.int16)
        depth = np.empty((spec.n_frames, height, width), np.float16) if with_depth else None
        poses = np.empty((spec.n_frames, len(objects), 7))
        contacts: list[dict] = []
        for frame in range(spec.n_frames):
            if frame > 0:
                frame_contacts: dict[tuple, dict] = {}
                for substep in range(substeps):
                    client.stepSimulation()
                    time_s = ((frame - 1) * substeps + substep + 1) * step_s
                    for body, body_id in held:
                        if time_s <= body.release_time:
                            client.resetBasePositionAndOrientation(body_id, body.position, body.orientation)
                            client.resetBaseVelocity(body_id, (0, 0, 0), (0, 0, 0))
                    _collect_contacts(client, seg_lookup, names, frame, frame_contacts)
                contacts.extend(frame_contacts[key] for key in sorted(frame_contacts))
            for k, body_id in enumerate(object_body_ids):
                position, orientation = client.getBasePositionAndOrientation(body_id)
                poses[frame, k, :3], poses[frame, k, 3:] = position, orientation
            rgb, depth_buffer, seg_ids = render(client, width, height, view, projection, scene.light_direction)
            video[frame] = rgb
            seg[frame] = _map_ids(seg_ids, seg_lookup)
            if depth is not None:
                depth[frame] = linear_depth(depth_buffer, scene.camera.near, scene.camera.far)
    finally:
        client.disconnect()

    tracks = compute_tracks(seg, poses, objects, shapes, view, projection)
    events = {
        **scene.events,
        "contacts": contacts,
        "hidden": hidden_intervals(tracks[tracks["object"].isin([o.name for o in objects if o.tracked])]),
        "expected_count": len([o for o in objects if o.tracked]),
    }
    events.update(family.events(scene, tracks, contacts))
    return Clip(spec=spec, video=video, seg=seg, objects=objects, tracks=tracks, prompt=scene.prompt,
                events=events, camera={"view": view, "projection": projection}, depth=depth)


def _map_ids(seg_ids: np.ndarray, lookup: dict[int, int]) -> np.ndarray:
    mapped = np.full(seg_ids.shape, -1, np.int16)
    for body_id, object_id in lookup.items():
        mapped[seg_ids == body_id] = object_id
    return mapped


def _collect_contacts(client, seg_lookup: dict[int, int], names: dict[int, str], frame: int,
                      frame_contacts: dict[tuple, dict]) -> None:
    """Keep, per recorded frame and pair of bodies and links, the contact with the largest normal force."""
    for point in client.getContactPoints():
        body_a, body_b, link_a, link_b = point[1], point[2], point[3], point[4]
        if body_a not in seg_lookup and body_b not in seg_lookup:
            continue
        if names[body_a] > names[body_b]:
            body_a, body_b, link_a, link_b = body_b, body_a, link_b, link_a
            position, normal = point[6], tuple(-n for n in point[7])
        else:
            position, normal = point[5], point[7]
        key = (names[body_a], names[body_b], link_a, link_b)
        force = float(point[9])
        if key not in frame_contacts or force > frame_contacts[key]["force"]:
            frame_contacts[key] = {
                "frame": frame, "a": names[body_a], "b": names[body_b], "link_a": link_a, "link_b": link_b,
                "force": force, "position": [float(x) for x in position], "normal": [float(x) for x in normal],
            }
