"""projectile: a ball thrown from the left with a sampled velocity (parabola)."""
from __future__ import annotations

from ..scene import Body, Scene, Sphere
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop

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
        prompt = (
            f"A {colour} ball is thrown from the left at {params['speed_x']:.1f} m/s forwards and "
            f"{params['speed_z']:.1f} m/s upwards, flies in an arc and lands on a grey floor, seen from the side."
        )
        return Scene([*floor_and_backdrop(params), ball], camera(params), prompt,
                     events={"launch_velocity": list(velocity), "gravity": 9.81})
