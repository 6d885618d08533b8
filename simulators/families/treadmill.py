"""treadmill: a person runs in place on a treadmill whose belt runs backwards under them
(direction of time: which way things move).

The DeepMimic humanoid plays the motion-capture run (`humanoid3d_run.txt`, 3.56 m/s) with the
root's forward translation removed: a straight line at the clip's mean forward velocity is
subtracted, so the root keeps its small fore-and-aft sway and its vertical bob, and a foot that
is planted in the capture moves backwards at the mean speed, the belt's speed. The belt is a loop
of light and dark grey slats of uneven lengths and three coloured marker slats (kinematic boxes
moved every step, wrapping around under the deck's ends) running opposite to the runner's facing.
Seen from the side, framed on the legs and the belt. The failures this scenario exposes: a
runner running backwards (time reversed), or a belt running the wrong way under planted feet.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pybullet
from scipy.spatial.transform import Rotation

from ..scene import Body, Box, Camera, Compound, Part, Scene, URDFAsset
from .base import FAMILIES, Family, camera, colour_list, colours, floor_and_backdrop, grey, view_words
from .humanoid import (
    FOOT_BOX_CENTRE,
    FOOT_BOX_HALF,
    HUMANOID_SCALE,
    HUMANOID_URDF,
    RUN_CLIP,
    HumanoidPoser,
    heading_turn,
    motion_clip,
    world_root,
)

BELT_TOP = 0.08
"""Height of the belt's top surface above the floor, metres."""
SOLE_CONTACT_Z = -0.015
"""Height of a planted sole in the run clip's frame (its soles dip up to 5 cm lower at heel strike)."""
BELT_HALF_WIDTH = 0.3
SLAT_THICKNESS = 0.03
SLAT_LENGTHS = (0.3, 0.45, 0.2, 0.4, 0.3, 0.25, 0.6, 0.2, 0.3, 0.55, 0.2, 0.3)
"""Slat lengths along the belt loop (m): uneven, so the belt's shift between frames is unambiguous."""
MARKER_SLATS = (0, 4, 8)
"""Slats painted in palette colours and tracked, 1.35 m apart: the belt's motion seen by the tracker."""
BELT_LENGTH = float(sum(SLAT_LENGTHS))
SLAT_GREYS = (215.0, 145.0)
DECK_RGB = grey(150)
STANCE_HEIGHT = 0.01
"""A foot is in stance when its lowest corner is within this height of the belt top, metres."""
CAMERA_DISTANCE = 1.45
CAMERA_HEIGHT = 0.5
CAMERA_RISE = 0.35
CAMERA_BEHIND = 0.12
"""The frame is centred this far behind the hips: the trailing foot swings further back than the leading one."""
CAMERA_JITTER = 0.3
MANNEQUIN_HEIGHT_M = 1.6
"""The DeepMimic humanoid at HUMANOID_SCALE, for the prompt."""
"""Share of the seed's camera offset applied: the frame is tight, so it may only move a little."""


@FAMILIES.register("treadmill")
class Treadmill(Family):
    name = "treadmill"
    principle = "direction of time"
    in_distribution = {"speed_scale": (0.9, 1.1), "phase": (0.0, 1.0), "facing": (0.0, 1.0)}
    ood = {"speed_scale": (1.15, 1.25)}

    def build(self, params: dict[str, Any]) -> Scene:
        clip = motion_clip(RUN_CLIP)
        self.speed_scale = float(params["speed_scale"])
        self.start_s = float(params["phase"]) * clip.duration
        self.facing = 1.0 if params["facing"] < 0.5 else -1.0
        self.turn = heading_turn(0.0 if self.facing > 0 else np.pi)
        self.run_speed = float(clip.mean_velocity[0]) * self.speed_scale
        self.belt_velocity = -self.facing * self.run_speed
        self.offset = (0.0, 0.0, BELT_TOP - SOLE_CONTACT_Z)
        self.slat_starts = np.concatenate([[0.0], np.cumsum(SLAT_LENGTHS)[:-1]]) - BELT_LENGTH / 2
        self.poser: HumanoidPoser | None = None
        self.record: list[tuple[float, ...]] = []

        near, far = ("right", "left") if self.facing > 0 else ("left", "right")
        words = {f"{near}_hip": f"{near} thigh", f"{near}_knee": f"{near} shin",
                 f"{far}_hip": f"{far} thigh"}
        palette = colours(params, len(words) + len(MARKER_SLATS))
        link_colours = dict(zip(words, palette))
        marker_colours = dict(zip(MARKER_SLATS, palette[len(words):]))
        runner = Body(
            "runner", "person",
            URDFAsset(HUMANOID_URDF, HUMANOID_SCALE, fixed_base=True,
                      link_colours=tuple((link, rgb) for link, (_, rgb) in link_colours.items()),
                      tracked_links=tuple(words), default_rgb=grey(125)),
            grey(125), (0.0, 0.0, 1.0),
        )
        deck_half_height = (BELT_TOP - SLAT_THICKNESS) / 2
        deck = Body("deck", "scenery", Box((BELT_LENGTH / 2, BELT_HALF_WIDTH + 0.04, deck_half_height)), DECK_RGB,
                    (0.0, 0.0, deck_half_height), mass=0.0, tracked=False)
        markers = [Body(self.slat_name(index), "belt", Box((SLAT_LENGTHS[index] / 2, BELT_HALF_WIDTH, SLAT_THICKNESS / 2)),
                        rgb, self.slat_position(index, 0.0), mass=0.0)
                   for index, (_, rgb) in marker_colours.items()]
        grey_slats = [index for index in range(len(SLAT_LENGTHS)) if index not in MARKER_SLATS]
        first = self.slat_position(grey_slats[0], 0.0)[0]
        belt = Body("belt", "scenery", Compound(tuple(
            Part(f"slat{index}_{loop}", Box((SLAT_LENGTHS[index] / 2, BELT_HALF_WIDTH, SLAT_THICKNESS / 2)),
                 grey(SLAT_GREYS[index % 2]), (self.slat_position(index, 0.0)[0] - first + loop * BELT_LENGTH, 0.0, 0.0),
                 tracked=False)
            for loop in (0, -1, 1) for index in grey_slats)), grey(SLAT_GREYS[0]), self.slat_position(grey_slats[0], 0.0),
            mass=0.0, tracked=False)
        self.belt_origin = self.slat_starts[grey_slats[0]] + SLAT_LENGTHS[grey_slats[0]] / 2

        centre_x = -CAMERA_BEHIND * self.facing
        base = Camera(eye=(centre_x, -CAMERA_DISTANCE, CAMERA_HEIGHT + CAMERA_RISE), target=(centre_x, 0.0, CAMERA_HEIGHT))
        view = camera({**params, "visual_camera_dx": CAMERA_JITTER * params.get("visual_camera_dx", 0.0),
                       "visual_camera_dz": CAMERA_JITTER * params.get("visual_camera_dz", 0.0)}, base)
        facing_word, belt_word = ("right", "left") if self.facing > 0 else ("left", "right")
        parts = colour_list([f"a {colour} {words[link]}" for link, (colour, _) in link_colours.items()])
        stripes = colour_list([colour for colour, _ in marker_colours.values()])
        prompt = (
            f"A grey mannequin about {MANNEQUIN_HEIGHT_M:.1f} m tall with {parts} runs on a treadmill at "
            f"{self.run_speed:.1f} m/s, facing {facing_word}. The belt of light and dark grey slats with {stripes} "
            f"stripes runs to the {belt_word} under its feet. {view_words(view, framing=', framed on the legs')}"
        )
        return Scene([*floor_and_backdrop(params), deck, belt, *markers, runner], view, prompt, events={
            "belt_direction": [-self.facing, 0.0, 0.0],
            "belt_speed_mps": self.run_speed,
            "belt_velocity_mps": self.belt_velocity,
            "facing_direction": [self.facing, 0.0, 0.0],
            "belt_top_m": BELT_TOP,
            "gait_cycle_s": clip.duration / self.speed_scale,
            "belt_markers": [self.slat_name(index) for index in MARKER_SLATS],
        })

    @staticmethod
    def slat_name(index: int) -> str:
        """Name of a marker slat's body (the grey slats are parts of the body 'belt')."""
        return f"belt_marker{MARKER_SLATS.index(index)}"

    def slat_position(self, index: int, time_s: float) -> tuple[float, float, float]:
        """Centre of slat `index` at time_s: the belt moves at belt_velocity and wraps around its loop."""
        start = self.slat_starts[index] + self.belt_velocity * time_s
        start = (start + BELT_LENGTH / 2) % BELT_LENGTH - BELT_LENGTH / 2
        return (float(start + SLAT_LENGTHS[index] / 2), 0.0, BELT_TOP - SLAT_THICKNESS / 2)

    def belt_position(self, time_s: float) -> tuple[float, float, float]:
        """Position of the grey slats' body: three copies of the loop shifted by the belt's wrapped travel,
        so the slats in view always match the marker slats (each wrapped on its own)."""
        travel = (self.belt_velocity * time_s + BELT_LENGTH / 2) % BELT_LENGTH - BELT_LENGTH / 2
        return (float(self.belt_origin + travel), 0.0, BELT_TOP - SLAT_THICKNESS / 2)

    def clip_time(self, time_s: float) -> float:
        """Time in the motion clip (s) at scene time time_s."""
        return self.start_s + self.speed_scale * time_s

    def animate(self, sim, time_s: float) -> None:
        client, runner = sim.client, sim.body_ids["runner"]
        if self.poser is None:
            self.poser = HumanoidPoser(client, runner)
            self.ankles = [self.poser.joint_index["right_ankle"], self.poser.joint_index["left_ankle"]]
            self.marker_ids = [sim.body_ids[self.slat_name(index)] for index in MARKER_SLATS]
            for body in [sim.body_ids["belt"], *self.marker_ids]:  # kinematic: nothing to collide with
                for link in range(-1, client.getNumJoints(body)):
                    client.setCollisionFilterGroupMask(body, link, 0, 0)
            self.client_id = client._client
        clip = motion_clip(RUN_CLIP)
        local = self.clip_time(time_s)
        pose = clip.pose(local)
        # remove the forward translation: a straight line at the clip's mean velocity (clip frame, y up)
        in_place = pose.root_position - clip.mean_velocity * local - clip.root_positions[0] * (1.0, 0.0, 1.0)
        position, rotation = world_root(pose.with_root(in_place), self.turn, self.offset)
        self.poser.apply(pose, position, rotation)
        identity = (0.0, 0.0, 0.0, 1.0)
        pybullet.resetBasePositionAndOrientation(sim.body_ids["belt"], self.belt_position(time_s), identity,
                                                 physicsClientId=self.client_id)
        for body, index in zip(self.marker_ids, MARKER_SLATS):
            pybullet.resetBasePositionAndOrientation(body, self.slat_position(index, time_s), identity,
                                                     physicsClientId=self.client_id)
        right, left = client.getLinkStates(runner, self.ankles, computeForwardKinematics=1)
        self.record.append((time_s, *right[4], *right[5], *left[4], *left[5]))

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict[str, Any]:
        """Per frame and foot: the height of the foot's lowest corner, stance (that corner within
        STANCE_HEIGHT of the belt top) and the horizontal velocity along x of that corner, the
        contact point (m/s, differenced over one physics step); and the gait phase (0..1 through
        the capture's cycle; it advances with time: gait_direction +1)."""
        n_frames = int(tracks["t"].max()) + 1
        record = np.asarray(self.record)
        times = record[:, 0]
        frame_times = np.linspace(0.0, times[-1], n_frames)
        rows = np.searchsorted(times, frame_times - 1e-9)
        before, after = np.maximum(rows - 1, 0), np.minimum(rows + 1, len(times) - 1)
        feet = {}
        for side, start in (("right", 1), ("left", 8)):
            corners = foot_corners(record[:, start:start + 3], record[:, start + 3:start + 7])
            lowest = corners[rows, :, 2].argmin(axis=1)
            height = corners[rows, lowest, 2]
            velocity = ((corners[after, lowest, 0] - corners[before, lowest, 0]) / (times[after] - times[before]))
            feet[side] = {"lowest_m": np.round(height, 5).tolist(),
                          "stance": (height < BELT_TOP + STANCE_HEIGHT).tolist(),
                          "contact_velocity_x_mps": np.round(velocity, 4).tolist()}
        clip = motion_clip(RUN_CLIP)
        phase = [(self.clip_time(t) % clip.duration) / clip.duration for t in frame_times]
        return {"feet": feet, "gait_phase": np.round(phase, 5).tolist(), "gait_direction": 1}


def foot_corners(positions: np.ndarray, quaternions: np.ndarray) -> np.ndarray:
    """(N, 8, 3) world corners of the foot's box from the ankle link's world pose (positions (N, 3),
    quaternions (N, 4) x, y, z, w), e.g. from the tracks of `runner.right_ankle`."""
    rotation = Rotation.from_quat(quaternions).as_matrix()
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    corners = signs * np.asarray(FOOT_BOX_HALF) + np.asarray(FOOT_BOX_CENTRE)
    return np.einsum("nij,kj->nki", rotation, corners) + positions[:, None, :]
