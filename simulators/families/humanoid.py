"""The DeepMimic humanoid of pybullet_data and its motion-capture clips, posed kinematically.

The humanoid (`humanoid/humanoid.urdf`, loaded at scale 0.25 as DeepMimic does, about 1.6 m
tall) and the clips (`data/motions/humanoid3d_*.txt`) are y-up: y is up, the character runs
along +x and its right side is +z. Our world is z-up, so every root pose is turned by
+90 degrees about x (y -> z, z -> -y): the character then faces +x with its right side at -y.
Joint rotations are local to their parent link and need no conversion.

A clip's "Frames" rows are: duration (s), root position (3), root rotation (4, w x y z), then
per joint chest (4), neck (4), right hip (4), right knee (1), right ankle (4), right shoulder (4),
right elbow (1), left hip (4), left knee (1), left ankle (4), left shoulder (4), left elbow (1);
quaternions are w x y z, knee and elbow angles radians. Poses between frames are interpolated
(positions and angles linearly, rotations by slerp), so any frame rate works; a looping clip
wraps around, its root advancing by the clip's displacement each cycle.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pybullet
import pybullet_data

from ..scene import Quat, Vec3

HUMANOID_URDF = "humanoid/humanoid.urdf"
HUMANOID_SCALE = 0.25
RUN_CLIP = "data/motions/humanoid3d_run.txt"

JOINT_LAYOUT: tuple[tuple[str, int], ...] = (
    ("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4), ("right_shoulder", 4),
    ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4), ("left_shoulder", 4),
    ("left_elbow", 1),
)
"""Joints in the order of a frame row, with their degrees of freedom (4: a w x y z quaternion)."""

LINKS = ("base", "root", "chest", "neck", "right_hip", "right_knee", "right_ankle", "right_shoulder", "right_elbow",
         "right_wrist", "left_hip", "left_knee", "left_ankle", "left_shoulder", "left_elbow", "left_wrist")
"""Every link of the humanoid ('base' is the pybullet base, an invisible dummy; 'neck' is the head,
'*_hip' the thighs, '*_knee' the shins, '*_ankle' the feet, '*_shoulder' the upper arms)."""

FOOT_BOX_CENTRE: Vec3 = (0.18 * HUMANOID_SCALE, -0.09 * HUMANOID_SCALE, 0.0)
FOOT_BOX_HALF: Vec3 = (0.354 * HUMANOID_SCALE, 0.11 * HUMANOID_SCALE, 0.18 * HUMANOID_SCALE)
"""The foot's box in its ankle link's frame (URDF visual origin and half its size, scaled)."""

Y_UP_TO_Z_UP: Quat = (np.sqrt(0.5), 0.0, 0.0, np.sqrt(0.5))
"""+90 degrees about x, (x, y, z, w): maps the clips' y-up frame onto our z-up world."""


# ------------------------------------------------------------------------------ quaternions (x, y, z, w)
def quat_multiply(a, b) -> tuple[float, float, float, float]:
    """Hamilton product a * b of two quaternions (x, y, z, w)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)


def quat_rotate(q, vector) -> tuple[float, float, float]:
    """Rotate a 3-vector by the unit quaternion q (x, y, z, w)."""
    x, y, z, _ = quat_multiply(quat_multiply(q, (*vector, 0.0)), (-q[0], -q[1], -q[2], q[3]))
    return (x, y, z)


def quat_about_z(angle_rad: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, float(np.sin(angle_rad / 2)), float(np.cos(angle_rad / 2)))


# ------------------------------------------------------------------------------ motion clips
SPHERICAL = tuple(name for name, dof in JOINT_LAYOUT if dof == 4)
REVOLUTE = tuple(name for name, dof in JOINT_LAYOUT if dof == 1)


@dataclass(frozen=True)
class Pose:
    """One pose in the clip's own y-up frame: root position (3,) and rotation (x, y, z, w); the
    spherical joints' local rotations (len(SPHERICAL), 4) and the revolute joints' angles (len(REVOLUTE),)."""

    root_position: np.ndarray
    root_rotation: np.ndarray
    rotations: np.ndarray
    angles: np.ndarray

    def with_root(self, position=None, rotation=None) -> Pose:
        return Pose(self.root_position if position is None else np.asarray(position, float),
                    self.root_rotation if rotation is None else np.asarray(rotation, float), self.rotations, self.angles)

    def with_joint(self, name: str, rotation) -> Pose:
        """This pose with one spherical joint's local rotation replaced."""
        rotations = self.rotations.copy()
        rotations[SPHERICAL.index(name)] = rotation
        return Pose(self.root_position, self.root_rotation, rotations, self.angles)


class MotionClip:
    """A DeepMimic motion clip, sampled at any time by interpolating between its frames."""

    def __init__(self, relative_path: str):
        data = json.loads((Path(pybullet_data.getDataPath()) / relative_path).read_text())
        frames = np.asarray(data["Frames"], float)
        self.times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
        self.duration = float(self.times[-1])
        self.root_positions = frames[:, 1:4]
        columns, column = {}, 8
        for name, dof in JOINT_LAYOUT:
            columns[name] = list(range(column, column + dof))
            column += dof
        wxyz_to_xyzw = [1, 2, 3, 0]
        self.rotations = np.stack([frames[:, [4, 5, 6, 7]][:, wxyz_to_xyzw]]
                                  + [frames[:, columns[name]][:, wxyz_to_xyzw] for name in SPHERICAL], axis=1)
        """(F, 1 + len(SPHERICAL), 4): the root's rotation, then the spherical joints', (x, y, z, w)."""
        self.angles = frames[:, [columns[name][0] for name in REVOLUTE]]
        # slerp between consecutive frames, precomputed per interval: start, sign-corrected end, angle
        start, end = self.rotations[:-1], self.rotations[1:]
        cosine = np.einsum("fjk,fjk->fj", start, end)
        self._slerp_start, self._slerp_end = start, np.where(cosine[..., None] < 0, -end, end)
        self._slerp_angle = np.arccos(np.minimum(np.abs(cosine), 1.0))
        self._slerp_sine = np.sin(self._slerp_angle)
        self.cycle_displacement = self.root_positions[-1] - self.root_positions[0]
        """Root displacement over one cycle (the clip's last frame repeats the first, moved on)."""

    @property
    def mean_velocity(self) -> np.ndarray:
        """Average root velocity over a cycle, m/s, in the clip's y-up frame."""
        return self.cycle_displacement / self.duration

    def pose(self, time_s: float) -> Pose:
        """The pose at time_s, looping: each full cycle moves the root on by cycle_displacement."""
        cycle, local = divmod(float(time_s), self.duration)
        index = min(max(int(np.searchsorted(self.times, local, side="right")) - 1, 0), len(self.times) - 2)
        fraction = (local - self.times[index]) / (self.times[index + 1] - self.times[index])
        fraction = min(max(fraction, 0.0), 1.0)
        position = ((1 - fraction) * self.root_positions[index] + fraction * self.root_positions[index + 1]
                    + cycle * self.cycle_displacement)
        angle, sine = self._slerp_angle[index], self._slerp_sine[index]
        near = sine < 1e-6
        safe = np.where(near, 1.0, sine)
        weight_start = np.where(near, 1.0 - fraction, np.sin((1.0 - fraction) * angle) / safe)
        weight_end = np.where(near, fraction, np.sin(fraction * angle) / safe)
        rotations = weight_start[:, None] * self._slerp_start[index] + weight_end[:, None] * self._slerp_end[index]
        rotations /= np.sqrt(np.einsum("jk,jk->j", rotations, rotations))[:, None]
        angles = (1 - fraction) * self.angles[index] + fraction * self.angles[index + 1]
        return Pose(position, rotations[0], rotations[1:], angles)


@functools.lru_cache(maxsize=4)
def motion_clip(relative_path: str) -> MotionClip:
    return MotionClip(relative_path)


def standing_pose() -> Pose:
    """Upright with arms hanging, in the clip frame (root 0.89 m above the soles, as DeepMimic starts it)."""
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    return Pose(np.array([0.0, 0.889, 0.0]), identity, np.tile(identity, (len(SPHERICAL), 1)), np.zeros(len(REVOLUTE)))


# ------------------------------------------------------------------------------ posing in pybullet
def heading_turn(heading_rad: float) -> tuple[float, float, float, float]:
    """The rotation from a clip's y-up frame into our z-up world, then by heading_rad about z."""
    return quat_multiply(quat_about_z(heading_rad), Y_UP_TO_Z_UP)


def world_root(pose: Pose, turn, offset: Vec3 = (0.0, 0.0, 0.0)) -> tuple[tuple, tuple]:
    """Root position and rotation (x, y, z, w) in our z-up world: the clip frame turned by `turn`
    (see heading_turn), then moved by offset."""
    x, y, z = quat_rotate(turn, pose.root_position)
    rotation = quat_multiply(turn, pose.root_rotation)
    norm = float(np.sqrt(sum(c * c for c in rotation)))
    return (x + offset[0], y + offset[1], z + offset[2]), tuple(c / norm for c in rotation)


class HumanoidPoser:
    """Sets a loaded humanoid to poses; the body is made kinematic (no collisions, no motors)."""

    def __init__(self, client, body_id: int):
        self.client, self.body_id = client, body_id
        self.client_id = client._client
        self.joint_index = {client.getJointInfo(body_id, j)[1].decode(): j for j in range(client.getNumJoints(body_id))}
        for link in range(-1, client.getNumJoints(body_id)):
            client.setCollisionFilterGroupMask(body_id, link, 0, 0)
        for name in SPHERICAL:
            client.setJointMotorControlMultiDof(body_id, self.joint_index[name], pybullet.POSITION_CONTROL,
                                                targetPosition=[0, 0, 0, 1], positionGain=0, velocityGain=0,
                                                force=[0, 0, 0])
        for name in REVOLUTE:
            client.setJointMotorControl2(body_id, self.joint_index[name], pybullet.VELOCITY_CONTROL, force=0)
        self.joints = [self.joint_index[name] for name in SPHERICAL + REVOLUTE]
        self.velocities = [[0.0, 0.0, 0.0]] * len(SPHERICAL) + [[0.0]] * len(REVOLUTE)

    def apply(self, pose: Pose, position, rotation) -> None:
        """Root at (position, rotation) in the world and every joint to the pose's local rotation."""
        pybullet.resetBasePositionAndOrientation(self.body_id, position, rotation, physicsClientId=self.client_id)
        values = pose.rotations.tolist() + [[angle] for angle in pose.angles.tolist()]
        pybullet.resetJointStatesMultiDof(self.body_id, self.joints, values, self.velocities,
                                          physicsClientId=self.client_id)
