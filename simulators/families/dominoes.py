"""dominoes: a row of 4 to 6 dominoes knocked over one by one (causality).

Thick dominoes stand in a row along x, `spacing` apart (centre to centre). Just after the
context, the first one is tipped: it gets an angular velocity about its front bottom edge
(as a flick of a finger would give it). It falls onto the second, which falls onto the third,
and so on; each falls only once the one before it has hit it. The camera looks from the front
and a little from the left and above, so each domino shows its front face and side.
"""
from __future__ import annotations

import numpy as np

from ..scene import Body, Box, Camera, Scene
from .base import FAMILIES, Family, camera, colour_list, colours, floor_and_backdrop, view_words

DOMINO_HALF = (0.08, 0.25, 0.4)  # thickness (x, the direction of the fall), width (y), height (z); metres
DOMINO_MASS = 0.5
FALLEN_TILT_DEG = 45.0
DOMINO_CAMERA = Camera(eye=(-1.0, -3.1, 1.6), target=(-0.1, 0.0, 0.35), fov_deg=50.0)


def tilt_deg(quaternions: np.ndarray) -> np.ndarray:
    """Angle between each body's z axis and the vertical, degrees; quaternions (..., 4) xyzw."""
    x, y = quaternions[..., 0], quaternions[..., 1]
    z_of_z_axis = 1.0 - 2.0 * (x * x + y * y)
    return np.degrees(np.arccos(np.clip(z_of_z_axis, -1.0, 1.0)))


@FAMILIES.register("dominoes")
class Dominoes(Family):
    name = "dominoes"
    principle = "causality"
    in_distribution = {"count": (4.0, 6.999), "spacing": (0.42, 0.52), "push_time": (0.5, 0.7),
                       "push_speed": (1.8, 2.6)}
    ood = {"spacing": (0.56, 0.62), "push_speed": (3.0, 3.6)}

    def __init__(self) -> None:
        self.pushed = False
        self.params: dict = {}

    def positions(self, params: dict) -> list[float]:
        count, spacing = int(params["count"]), params["spacing"]
        first = -spacing * (count - 1) / 2 - DOMINO_HALF[2] / 2  # centre the row and the fallen last domino
        return [first + spacing * index for index in range(count)]

    def build(self, params: dict) -> Scene:
        self.params = params
        count = int(params["count"])
        palette = colours(params, count)
        dominoes = [
            Body(f"domino{index + 1}", "domino", Box(DOMINO_HALF), rgb, (x, 0.0, DOMINO_HALF[2]), mass=DOMINO_MASS,
                 restitution=0.0, lateral_friction=0.6)
            for index, (x, (_, rgb)) in enumerate(zip(self.positions(params), palette))
        ]
        names = colour_list([colour for colour, _ in palette])
        view = camera(params, DOMINO_CAMERA)
        prompt = (
            f"{count} dominoes, thick boxes {2 * DOMINO_HALF[2]:.1f} m tall ({names}, from left to right), stand in a "
            f"row on a grey floor; after {params['push_time']:.1f} s the {palette[0][0]} one is tipped to the right "
            "and knocks the next one over, "
            f"which knocks over the next, until all have fallen. {view_words(view)}"
        )
        events = {"domino_count": count, "spacing_m": params["spacing"], "push_time_s": params["push_time"],
                  "push_angular_speed": params["push_speed"], "fallen_tilt_deg": FALLEN_TILT_DEG}
        return Scene([*floor_and_backdrop(params), *dominoes], view, prompt, events=events)

    def animate(self, sim, time_s: float) -> None:
        """At push_time, set the first domino turning about its front bottom edge at push_speed rad/s."""
        if self.pushed or time_s < self.params["push_time"]:
            return
        self.pushed = True
        speed = self.params["push_speed"]
        thickness, height = DOMINO_HALF[0], DOMINO_HALF[2]
        # Rotation about +y through the edge (x + thickness, z = 0): the centre moves at omega x r.
        linear = (speed * height, 0.0, speed * thickness)
        sim.client.resetBaseVelocity(sim.body_ids["domino1"], linear, (0.0, speed, 0.0))

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        """Per domino the first frame it is tilted past 45 degrees, and the first frame each touches the next."""
        names = [body.name for body in scene.bodies if body.role == "domino"]
        falls = {}
        for name in names:
            rows = tracks[tracks["object"] == name]
            tilted = np.flatnonzero(tilt_deg(rows[["qx", "qy", "qz", "qw"]].to_numpy()) > FALLEN_TILT_DEG)
            falls[name] = int(tilted[0]) if tilted.size else None
        touches = []
        for first, second in zip(names, names[1:]):
            between = [c["frame"] for c in contacts if {c["a"], c["b"]} == {first, second}]
            touches.append({"a": first, "b": second, "frame": min(between) if between else None})
        return {"fall_frames": falls, "contact_frames": touches,
                "all_fell": all(frame is not None for frame in falls.values())}
