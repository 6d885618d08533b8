"""chair: a rigid chair tips over when pushed, or is dropped onto the floor (rigidity).

The chair is one Compound of six boxes joined by fixed joints: a seat (the base), a back and
four legs, each in its own palette colour. A param picks the scenario: either the chair stands
on the floor and a push at the top of its back (after the context) tips it over sideways, or it
is held tilted above the floor, released inside the context, and lands and tumbles. Whatever
happens, the distances between its parts never change: a chair that bends, stretches or comes
apart breaks rigidity. Legs are sturdy (0.16 m square) and the camera is close so that every
part is observable at 64x64.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial.transform import Rotation

from ..scene import Body, Box, Camera, Compound, Part, Scene
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, view_words

SEAT_HALF = (0.32, 0.30, 0.07)
BACK_HALF = (0.32, 0.05, 0.28)
LEG_HALF = (0.08, 0.08, 0.25)
LEG_X, LEG_Y = 0.24, 0.22
SEAT_HEIGHT = 2 * LEG_HALF[2] + SEAT_HALF[2]
"""Height of the seat's centre (the chair's base frame) above the bottom of the legs."""
BACK_TOP = (0.0, 0.0, BACK_HALF[2])
"""Where the push lands, in the back's frame: the middle of its top edge."""
PUSH_DURATION_S = 0.15
CHAIR_CAMERA = Camera(eye=(0.6, -2.7, 2.0), target=(0.0, 0.0, 0.6), fov_deg=50.0)
KINDS = ("tip", "drop")


def chair_parts(rgbs: list) -> tuple[Part, ...]:
    """Seat (base), back and four legs; positions are joint frames in the seat's frame."""
    seat, back, *legs = rgbs
    leg_z = -SEAT_HALF[2] - LEG_HALF[2]
    corners = (("leg_front_left", -LEG_X, -LEG_Y), ("leg_front_right", LEG_X, -LEG_Y),
               ("leg_back_left", -LEG_X, LEG_Y), ("leg_back_right", LEG_X, LEG_Y))
    return (
        Part("seat", Box(SEAT_HALF), seat, mass=3.0),
        Part("back", Box(BACK_HALF), back, (0.0, SEAT_HALF[1] - BACK_HALF[1], SEAT_HALF[2] + BACK_HALF[2]), mass=2.0),
        *(Part(name, Box(LEG_HALF), rgb, (x, y, leg_z), mass=0.5) for (name, x, y), rgb in zip(corners, legs)),
    )


@FAMILIES.register("chair")
class Chair(Family):
    name = "chair"
    principle = "rigidity"
    in_distribution = {
        "kind": (0.0, 1.0), "push_force": (70.0, 110.0), "push_time": (0.5, 0.7), "push_right": (0.0, 1.0),
        "drop_height": (0.3, 0.7), "tilt_deg": (32.0, 48.0), "release_time": (0.3, 0.45), "yaw_deg": (-20.0, 20.0),
    }
    ood = {"push_force": (130.0, 160.0), "drop_height": (0.8, 1.0)}

    def build(self, params: dict) -> Scene:
        names_rgbs = colours(params, 6)
        parts = chair_parts([rgb for _, rgb in names_rgbs])
        seat, back, *legs = (name for name, _ in names_rgbs)
        self.kind = KINDS[int(params["kind"] >= 0.5)]
        self.direction = 1.0 if params["push_right"] >= 0.5 else -1.0
        self.push_force, self.push_time = params["push_force"], params["push_time"]
        yaw = np.deg2rad(params["yaw_deg"])
        looks = (f"It is made of boxes: a {seat} seat {2 * SEAT_HALF[0]:.2f} m wide, a {back} back and square legs "
                 f"coloured {legs[0]} (front left), {legs[1]} (front right), {legs[2]} (back left) and {legs[3]} "
                 "(back right).")
        view = camera(params, CHAIR_CAMERA)
        if self.kind == "tip":
            orientation = Rotation.from_euler("z", yaw).as_quat()
            position, release_time = (0.0, 0.0, SEAT_HEIGHT), 0.0
            side = "right" if self.direction > 0 else "left"
            prompt = (f"A chair stands on a grey floor; after {params['push_time']:.1f} s it is pushed at the top of its "
                      f"back, tips over to the {side} and falls on its side, staying rigid. {looks} "
                      f"{view_words(view, 'the front')}")
        else:
            tilt = np.deg2rad(params["tilt_deg"]) * self.direction
            orientation = Rotation.from_euler("zy", [yaw, tilt]).as_quat()
            position, release_time = (0.0, 0.0, SEAT_HEIGHT + params["drop_height"]), params["release_time"]
            prompt = (f"A chair is held tilted {params['drop_height']:.1f} m above a grey floor, then dropped after "
                      f"{params['release_time']:.1f} s; it lands on its legs and tumbles, staying rigid. {looks} "
                      f"{view_words(view, 'the front')}")
        chair = Body("chair", "rigid", Compound(parts), parts[0].rgb, position, tuple(orientation.tolist()),
                     mass=7.0, restitution=0.2, lateral_friction=0.7, release_time=release_time)
        return Scene([*floor_and_backdrop(params), chair], view, prompt,
                     events={"scenario": self.kind, "rigid": True})

    def animate(self, sim, time_s: float) -> None:
        """The push: a horizontal force on the top of the back, along the chair's width, for 0.15 s."""
        if self.kind == "tip" and self.push_time < time_s <= self.push_time + PUSH_DURATION_S:
            sim.client.applyExternalForce(sim.body_ids["chair"], 0, (self.direction * self.push_force, 0.0, 0.0),
                                          BACK_TOP, sim.client.LINK_FRAME)

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        """Distance (m) between the link frames of every pair of parts at frame 0; rigidity keeps them."""
        first = tracks[tracks["t"] == 0].set_index("object")
        parts = [name for name in first.index if name.startswith("chair.")]
        distances = [{"a": a, "b": b, "distance_m": float(np.linalg.norm(
            first.loc[a, ["x", "y", "z"]].to_numpy(float) - first.loc[b, ["x", "y", "z"]].to_numpy(float)))}
            for a, b in itertools.combinations(parts, 2)]
        return {"part_distances_m": distances}
