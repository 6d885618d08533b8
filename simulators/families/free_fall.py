"""free_fall: a ball held still, then released onto the floor (gravity, bounce).

The release falls inside the context frames of the default suites (0.5 s of context), so a
model sees the ball hang and start to fall, and must continue the fall and the bounces.
"""
from __future__ import annotations

from ..scene import Body, Scene, Sphere
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, view_words

BALL_RADIUS = 0.27


@FAMILIES.register("free_fall")
class FreeFall(Family):
    name = "free_fall"
    principle = "gravity"
    in_distribution = {"height": (1.2, 2.0), "restitution": (0.3, 0.7), "x": (-0.8, 0.8),
                       "release_time": (0.2, 0.35)}
    ood = {"height": (2.2, 2.5), "restitution": (0.75, 0.9)}

    def build(self, params: dict) -> Scene:
        [(colour, rgb)] = colours(params, 1)
        ball = Body(
            "ball", "falling", Sphere(BALL_RADIUS), rgb,
            (params["x"], 0.0, params["height"] + BALL_RADIUS), restitution=params["restitution"],
            release_time=params["release_time"],
        )
        view = camera(params)
        prompt = (
            f"A {colour} ball {2 * BALL_RADIUS:.2f} m across is held {params['height']:.1f} m above a grey floor in "
            f"front of a light grey wall, then dropped after {params['release_time']:.1f} s; it falls and bounces. "
            f"{view_words(view)}"
        )
        return Scene([*floor_and_backdrop(params), ball], view, prompt,
                     events={"drop_height_m": params["height"], "release_time_s": params["release_time"],
                             "gravity": 9.81})
