"""occlusion: a ball rolls behind a wall and comes out the other side (object permanence).

Speeds are chosen so that at the default 4 s the ball stays in view after it re-emerges.
"""
from __future__ import annotations

from ..scene import Body, Box, Scene, Sphere
from .base import FAMILIES, OCCLUDER_RGB, Family, camera, colours, floor_and_backdrop, view_words

BALL_RADIUS = 0.27
WALL_Y = -1.0  # between the camera (y = -4.2) and the ball's path (y = 0)


@FAMILIES.register("occlusion")
class Occlusion(Family):
    name = "occlusion"
    principle = "permanence"
    in_distribution = {"speed": (0.7, 0.9), "wall_half_width": (0.3, 0.4), "wall_x": (-0.3, 0.0)}
    ood = {"speed": (1.0, 1.2), "wall_half_width": (0.45, 0.55)}

    def build(self, params: dict) -> Scene:
        [(colour, rgb)] = colours(params, 1)
        ball = Body(
            "ball", "rolling", Sphere(BALL_RADIUS), rgb, (-1.4, 0.0, BALL_RADIUS),
            linear_velocity=(params["speed"], 0.0, 0.0),
            angular_velocity=(0.0, params["speed"] / BALL_RADIUS, 0.0),
        )
        wall = Body(
            "wall", "occluder", Box((params["wall_half_width"], 0.05, 0.6)), OCCLUDER_RGB,
            (params["wall_x"], WALL_Y, 0.6), mass=0.0, tracked=False,
        )
        view = camera(params)
        prompt = (
            f"A {colour} ball {2 * BALL_RADIUS:.2f} m across rolls from left to right at {params['speed']:.1f} m/s "
            f"along a grey floor, passes "
            f"behind a dark grey wall standing nearer the camera and comes out on the other side. {view_words(view)}"
        )
        return Scene([*floor_and_backdrop(params), ball, wall], view, prompt)
