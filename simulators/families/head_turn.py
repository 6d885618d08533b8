"""head_turn: a standing person turns their head to look over one shoulder and back (joint limits).

The DeepMimic humanoid stands still, facing the camera, and turns its head: the neck joint's yaw
relative to the chest follows a smooth (raised-cosine) profile up to a sampled maximum, holds
it, and turns back; the torso turns the same way by a smaller share of that angle. The head and
the chest are coloured and each carries a coloured marker disc on its front (kinematic
cylinders following their links), so the head's yaw relative to the torso
can be read from pixels: the offset of each marker from its link's centre. Camera from the
front, framed on the head and shoulders. Every turn stays within the human limit of
NECK_YAW_LIMIT_DEG; the failure this scenario exposes is a head that turns further (an owl's
180 degrees).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pybullet
from scipy.spatial.transform import Rotation

from ..scene import Body, Camera, Cylinder, Scene, URDFAsset
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, grey, view_words
from .humanoid import (
    HUMANOID_SCALE,
    HUMANOID_URDF,
    HumanoidPoser,
    heading_turn,
    standing_pose,
    world_root,
)

NECK_YAW_LIMIT_DEG = 85.0
"""Active axial rotation of the human neck, each way: typically 70-90 degrees; we take 85."""
STANDING_LIFT = 0.01
"""The standing pose's soles sit 1 cm below the root's zero: lift the body onto the floor."""
HEAD_CENTRE = (0.0, 0.7 * HUMANOID_SCALE, 0.0)
CHEST_CENTRE = (0.0, 0.48 * HUMANOID_SCALE, 0.0)
"""Centres of the head's and the chest's spheres in their link frames (y up, x forwards)."""
MARKER_RADIUS = 0.04
MARKER_THICKNESS = 0.03
FACE_MARKER_OFFSET = (0.107, HEAD_CENTRE[1], 0.0)
CHEST_MARKER_OFFSET = (0.115, CHEST_CENTRE[1] + 0.01, 0.0)
"""Centres of the marker discs in their link frames: on the front of the head (a sphere of radius
0.1025 m) and of the chest (0.11 m); seen from the front, no part of either disc is hidden by its link."""
DISC_FACING_FORWARDS = (0.0, float(np.sqrt(0.5)), 0.0, float(np.sqrt(0.5)))
"""Turns a cylinder's axis (z) onto the link's forward axis (x): +90 degrees about y."""
CAMERA_DISTANCE = 0.7
CAMERA_HEIGHT = 1.4
BASE_CAMERA = Camera(eye=(0.0, -CAMERA_DISTANCE, CAMERA_HEIGHT + 0.1), target=(0.0, 0.0, CAMERA_HEIGHT))
"""From the front, slightly above, framed on the head and shoulders."""
CAMERA_JITTER = 0.15
"""Share of the seed's camera offset applied: the frame is tight."""


def yaw_about_up(angle_rad: float) -> tuple[float, float, float, float]:
    """A rotation about the humanoid's local up axis (y in its link frames), (x, y, z, w)."""
    return (0.0, math.sin(angle_rad / 2), 0.0, math.cos(angle_rad / 2))


def relative_yaw_deg(parent_quaternions: np.ndarray, child_quaternions: np.ndarray) -> np.ndarray:
    """(T,) signed yaw (degrees, + turns to the person's left) of a child link relative to its parent
    link, about the parent's up axis (y), from (T, 4) world quaternions x, y, z, w."""
    relative = Rotation.from_quat(parent_quaternions).inv() * Rotation.from_quat(child_quaternions)
    return np.degrees(relative.as_rotvec()[:, 1])


@FAMILIES.register("head_turn")
class HeadTurn(Family):
    name = "head_turn"
    principle = "joint limits"
    in_distribution = {"max_yaw_deg": (40.0, 75.0), "side": (0.0, 1.0), "turn_start_s": (0.5, 0.9),
                       "turn_duration_s": (0.8, 1.3), "hold_s": (0.4, 0.9), "torso_share": (0.0, 0.25)}
    ood = {"max_yaw_deg": (76.0, 84.0)}

    def build(self, params: dict[str, Any]) -> Scene:
        self.sign = 1.0 if params["side"] < 0.5 else -1.0  # +1: to the person's left
        self.max_yaw = math.radians(params["max_yaw_deg"]) * self.sign
        self.start_s, self.turn_s, self.hold_s = params["turn_start_s"], params["turn_duration_s"], params["hold_s"]
        self.torso_share = params["torso_share"]
        self.turn = heading_turn(-np.pi / 2)  # facing -y, the camera
        self.poser: HumanoidPoser | None = None

        (head_colour, head_rgb), (chest_colour, chest_rgb), (face_colour, face_rgb), (badge_colour, badge_rgb) = (
            colours(params, 4))
        person = Body(
            "person", "person",
            URDFAsset(HUMANOID_URDF, HUMANOID_SCALE, fixed_base=True,
                      link_colours=(("neck", head_rgb), ("chest", chest_rgb)), tracked_links=("neck", "chest"),
                      default_rgb=grey(125)),
            grey(125), (0.0, 0.0, 1.0),
        )
        face = Body("face_marker", "marker", Cylinder(MARKER_RADIUS, MARKER_THICKNESS), face_rgb, (0.0, -1.0, 1.5),
                    mass=0.0)
        badge = Body("chest_marker", "marker", Cylinder(MARKER_RADIUS, MARKER_THICKNESS), badge_rgb, (0.0, -1.0, 1.2),
                     mass=0.0)
        view = camera({**params, "visual_camera_dx": CAMERA_JITTER * params.get("visual_camera_dx", 0.0),
                       "visual_camera_dz": CAMERA_JITTER * params.get("visual_camera_dz", 0.0)}, BASE_CAMERA)
        side = "left" if self.sign > 0 else "right"
        prompt = (
            f"A grey mannequin with a {head_colour} head and a {chest_colour} chest stands facing the camera; a "
            f"{face_colour} disc marks its face and a {badge_colour} disc its chest. After {self.start_s:.1f} s it "
            f"turns its head about {params['max_yaw_deg']:.0f} degrees in {self.turn_s:.1f} s to look over its "
            f"{side} shoulder, its torso turning slightly with it, holds it {self.hold_s:.1f} s, then turns back. {view_words(view, 'the front', ', framed on the head and shoulders')}"
        )
        return Scene([*floor_and_backdrop(params), person, face, badge], view, prompt, events={
            "neck_yaw_limit_deg": NECK_YAW_LIMIT_DEG,
            "max_yaw_deg": float(params["max_yaw_deg"]),
            "turn_side": side,
            "torso_share": float(self.torso_share),
        })

    def neck_yaw(self, time_s: float) -> float:
        """Head-vs-torso yaw (rad) at time_s: raised-cosine ramp up, hold, raised-cosine ramp down."""
        up = min(max((time_s - self.start_s) / self.turn_s, 0.0), 1.0)
        down = min(max((time_s - self.start_s - self.turn_s - self.hold_s) / self.turn_s, 0.0), 1.0)
        return self.max_yaw * 0.5 * (math.cos(math.pi * down) - math.cos(math.pi * up))

    def animate(self, sim, time_s: float) -> None:
        client, person = sim.client, sim.body_ids["person"]
        if self.poser is None:
            self.poser = HumanoidPoser(client, person)
            self.links = [self.poser.joint_index["neck"], self.poser.joint_index["chest"]]
            self.markers = [sim.body_ids["face_marker"], sim.body_ids["chest_marker"]]
            self.standing = standing_pose()
        neck = self.neck_yaw(time_s)
        pose = self.standing.with_root(rotation=yaw_about_up(self.torso_share * neck)).with_joint("neck", yaw_about_up(neck))
        position, rotation = world_root(pose, self.turn, (0.0, 0.0, STANDING_LIFT))
        self.poser.apply(pose, position, rotation)
        states = client.getLinkStates(person, self.links, computeForwardKinematics=1)
        for marker, state, offset in zip(self.markers, states, (FACE_MARKER_OFFSET, CHEST_MARKER_OFFSET)):
            centre, orientation = pybullet.multiplyTransforms(state[4], state[5], offset, DISC_FACING_FORWARDS)
            client.resetBasePositionAndOrientation(marker, centre, orientation)

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict[str, Any]:
        """Per frame: the head's yaw relative to the chest, and the chest's (torso's) yaw relative to
        its rest heading, degrees (+ to the person's left), from the links' tracked orientations."""
        head = tracks[tracks["object"] == "person.neck"].sort_values("t")
        chest = tracks[tracks["object"] == "person.chest"].sort_values("t")
        quaternion = ["qx", "qy", "qz", "qw"]
        head_vs_torso = relative_yaw_deg(chest[quaternion].to_numpy(), head[quaternion].to_numpy())
        rest = np.tile(world_root(standing_pose(), self.turn)[1], (len(chest), 1))
        torso = relative_yaw_deg(rest, chest[quaternion].to_numpy())
        return {"head_vs_torso_yaw_deg": np.round(head_vs_torso, 3).tolist(),
                "torso_yaw_deg": np.round(torso, 3).tolist(),
                "peak_head_vs_torso_yaw_deg": float(np.round(np.abs(head_vs_torso).max(), 3))}
