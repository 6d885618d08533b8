"""projectile: a ball thrown from the left with a sampled velocity (parabola)."""
from __future__ import annotations

from ..scene import Body, Scene, Sphere
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, view_words

BALL_RADIUS = 0.27


@FAMILIES.register("projectile")
class Projectile(Family):
    name = "projectile"
    principle = "gravity"
    in_distribution = {"speed_x": (0.7, 1.4), "speed_z": (3.0, 4.5), "height": (0.2, 0.6)}
    ood = {"speed_x": (1.6, 2.0), "speed_z": (4.8, 5.4)}

    def build(self, params: dict) -> Scene:
        velocity = (params["speed_x"], 0.0, params["speed_z"])
        [(colour, rgb)] = colours(params, 1)
        ball = Body(
            "ball", "projectile", Sphere(BALL_RADIUS), rgb,
            (-1.6, 0.0, params["height"] + BALL_RADIUS), linear_velocity=velocity, restitution=0.5,
        )
        view = camera(params)
        prompt = (
            f"A {colour} ball {2 * BALL_RADIUS:.2f} m across is thrown from near the left edge at "
            f"{params['speed_x']:.1f} m/s to the right and {params['speed_z']:.1f} m/s upwards, flies in an arc and "
            f"lands on a grey floor in front of a light grey wall, bouncing. {view_words(view)}"
        )
        return Scene([*floor_and_backdrop(params), ball], view, prompt,
                     events={"launch_velocity": list(velocity), "gravity": 9.81})
