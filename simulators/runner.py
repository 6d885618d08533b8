"""The deterministic pybullet runner: ScenarioSpec -> Clip.

One pybullet DIRECT client per clip, so clips never leak state into each other. Physics runs
at a fixed step of 1 / (fps * substeps) seconds with substeps = round(240 / fps), which is
exactly 1/240 s whenever fps divides 240; frame 0 is the initial state and each later frame is
recorded after `substeps` steps. A family that animates bodies (kinematic motion) is called
before every step with the time that step ends at.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet
from pybullet_utils import bullet_client

from .assets import PartInfo, add_asset, check_colour
from .camera import linear_depth, projection_matrix, view_matrix
from .clip import Clip, ObjectInfo
from .families import FAMILIES, Family
from .quiet import c_output_silenced
from .render import render
from .scene import Scene
from .spec import ScenarioSpec
from .tracks import compute_tracks, hidden_intervals

PHYSICS_HZ = 240
SOLVER_ITERATIONS = 50


@dataclass
class SimHandle:
    """What a family's animate() may use: the client and the unique id of each body by name."""

    client: bullet_client.BulletClient
    body_ids: dict[str, int]


def substeps_per_frame(fps: float) -> int:
    return max(1, round(PHYSICS_HZ / fps))


def link_frames(client, body_id: int, links: list[int]) -> np.ndarray:
    """(len(links), 7) world pose (xyz + quaternion xyzw) of each link's frame; -1 is the base."""
    poses = np.empty((len(links), 7))
    moving = [link for link in links if link >= 0]
    states = dict(zip(moving, client.getLinkStates(body_id, moving, computeForwardKinematics=1))) if moving else {}
    for row, link in enumerate(links):
        if link < 0:
            com_position, com_orientation = client.getBasePositionAndOrientation(body_id)
            inertial = client.getDynamicsInfo(body_id, -1)[3:5]
            position, orientation = client.multiplyTransforms(com_position, com_orientation,
                                                              *client.invertTransform(*inertial))
        else:
            position, orientation = states[link][4], states[link][5]
        poses[row, :3], poses[row, 3:] = position, orientation
    return poses


def new_client(step_s: float) -> bullet_client.BulletClient:
    """A fresh DIRECT client with gravity, the fixed time step and the deterministic solver settings."""
    with c_output_silenced():
        client = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
    client.setGravity(0, 0, -9.81)
    client.setPhysicsEngineParameter(fixedTimeStep=step_s, numSubSteps=0, numSolverIterations=SOLVER_ITERATIONS,
                                     deterministicOverlappingPairs=1)
    return client


def hold(client, held: list, time_s: float) -> None:
    """Put bodies whose release time has not come back at their initial pose, at rest."""
    for body, body_id in held:
        if time_s <= body.release_time:
            client.resetBasePositionAndOrientation(body_id, body.position, body.orientation)
            client.resetBaseVelocity(body_id, (0, 0, 0), (0, 0, 0))


@dataclass
class Setup:
    """What one clip's simulation derives from its spec before any physics runs."""

    family: Family
    scene: Scene
    view: list[float]
    projection: list[float]
    substeps: int
    step_s: float
    animates: bool


def prepare(spec: ScenarioSpec) -> Setup:
    family: Family = FAMILIES.get(spec.family)()
    scene = family.build(spec.params)
    height, width = spec.resolution
    substeps = substeps_per_frame(spec.fps)
    return Setup(family, scene, view_matrix(scene.camera), projection_matrix(scene.camera, width, height), substeps,
                 1.0 / (spec.fps * substeps), type(family).animate is not Family.animate)


def simulate(spec: ScenarioSpec, with_depth: bool = True) -> Clip:
    """Simulate and render one scenario; the same spec always gives a bit-identical Clip."""
    setup = prepare(spec)
    family, scene, view, projection = setup.family, setup.scene, setup.view, setup.projection
    substeps, step_s, animates = setup.substeps, setup.step_s, setup.animates
    height, width = spec.resolution

    client = new_client(step_s)
    try:
        body_ids: dict[str, int] = {}
        parts: list[tuple[int, PartInfo]] = []
        for body in scene.bodies:
            body_id, body_parts = add_asset(body.shape, client, body)
            body_ids[body.name] = body_id
            if body.mass > 0 and body.release_time <= 0:
                client.resetBaseVelocity(body_id, body.linear_velocity, body.angular_velocity)
            for part in body_parts:
                check_colour(part, body.is_scenery)
                if not body.is_scenery:
                    parts.append((body_id, part))
        roles = {body.name: body.role for body in scene.bodies}
        rigid = {body.name: not any(getattr(p, "joint", "fixed") != "fixed" for p in getattr(body.shape, "parts", ()))
                 for body in scene.bodies}
        objects = [ObjectInfo(index, part.name, roles[part.body], part.rgb, rigid[part.body], part.size, part.shape,
                              part.tracked, part.body, part.link) for index, (_, part) in enumerate(parts)]
        seg_lookup = _seg_lookup([(body_id, part.link) for body_id, part in parts])
        links_by_body: dict[int, list[int]] = {}
        for body_id, part in parts:
            links_by_body.setdefault(body_id, []).append(part.link)
        held = [(body, body_ids[body.name]) for body in scene.bodies if body.release_time > 0]
        names = {body_id: name for name, body_id in body_ids.items()}
        handle = SimHandle(client, body_ids)

        video = np.empty((spec.n_frames, height, width, 3), np.uint8)
        seg_keys = np.empty((spec.n_frames, height, width), np.int32)
        depth_buffer = np.empty((spec.n_frames, height, width), np.float32)
        poses = np.empty((spec.n_frames, len(parts), 7))
        contacts: list[dict] = []
        step, get_contact_points = client.stepSimulation, client.getContactPoints  # bound once: BulletClient resolves attributes on every access
        if animates:
            family.animate(handle, 0.0)
        for frame in range(spec.n_frames):
            if frame > 0:
                strongest: dict[tuple, tuple] = {}
                for substep in range(substeps):
                    time_s = ((frame - 1) * substeps + substep + 1) * step_s
                    if animates:
                        family.animate(handle, time_s)
                    step()
                    hold(client, held, time_s)
                    _strongest_contacts(get_contact_points, strongest)
                contacts.extend(_contact_records(strongest, names, frame))
            row = 0
            for body_id, links in links_by_body.items():
                poses[frame, row:row + len(links)] = link_frames(client, body_id, links)
                row += len(links)
            video[frame], depth_buffer[frame], seg_keys[frame] = render(client, width, height, view, projection,
                                                                         scene.light_direction)
    finally:
        client.disconnect()

    seg = _map_ids(seg_keys, seg_lookup)
    depth = linear_depth(depth_buffer, scene.camera.near, scene.camera.far).astype(np.float16) if with_depth else None
    tracks = compute_tracks(seg, poses, objects, [part.local_points for _, part in parts], view, projection)
    tracked = [k for k, obj in enumerate(objects) if obj.tracked]
    tracked_names = [objects[k].name for k in tracked]
    n_objects = len(objects)
    in_frame = tracks["in_frame"].to_numpy().reshape(-1, n_objects)[:, tracked]
    visible_frac = tracks["visible_frac"].to_numpy().reshape(-1, n_objects)[:, tracked]
    events = {
        **scene.events,
        "contacts": contacts,
        "hidden": hidden_intervals(tracked_names, in_frame, visible_frac),
        "expected_count": len(tracked_names),
    }
    events.update(family.events(scene, tracks, contacts))
    return Clip(spec=spec, video=video, seg=seg, objects=objects, tracks=tracks, prompt=scene.prompt,
                events=events, camera={"view": view, "projection": projection}, depth=depth)


def _seg_lookup(body_links: list[tuple[int, int]]) -> np.ndarray:
    """(n_bodies, n_links + 1) table: object index of (body id, link + 1), -1 for scenery."""
    n_bodies = 1 + max((body for body, _ in body_links), default=0)
    n_links = 1 + max((link + 1 for _, link in body_links), default=0)
    table = np.full((n_bodies + 1, n_links + 1), -1, np.int16)
    for index, (body, link) in enumerate(body_links):
        table[body, link + 1] = index
    return table


def _map_ids(seg_ids: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """Segmentation keys body + ((link + 1) << 24) to object indices (-1 for background and scenery)."""
    body = np.clip(seg_ids & 0xFFFFFF, 0, lookup.shape[0] - 1)
    link = np.clip(seg_ids >> 24, 0, lookup.shape[1] - 1)
    return np.where(seg_ids >= 0, lookup[body, link], np.int16(-1))


def _strongest_contacts(get_contact_points, strongest: dict[tuple, tuple]) -> None:
    """Keep, per (body a, body b, link a, link b), the contact point with the largest normal force so far."""
    for point in get_contact_points():
        key = point[1:5]
        best = strongest.get(key)
        if best is None or point[9] > best[9]:
            strongest[key] = point


def _contact_records(strongest: dict[tuple, tuple], names: dict[int, str], frame: int) -> list[dict]:
    """One record per pair of bodies and links in contact during the frame, bodies ordered by name."""
    records = {}
    for point in strongest.values():
        body_a, body_b, link_a, link_b = point[1:5]
        position, normal = point[5], point[7]
        if names[body_a] > names[body_b]:
            body_a, body_b, link_a, link_b = body_b, body_a, link_b, link_a
            position, normal = point[6], tuple(-n for n in point[7])
        key = (names[body_a], names[body_b], link_a, link_b)
        if key not in records or point[9] > records[key]["force"]:
            records[key] = {
                "frame": frame, "a": names[body_a], "b": names[body_b], "link_a": link_a, "link_b": link_b,
                "force": float(point[9]), "position": [float(x) for x in position],
                "normal": [float(x) for x in normal],
            }
    return [records[key] for key in sorted(records)]
