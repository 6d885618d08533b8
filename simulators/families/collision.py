"""collision: two balls roll towards each other and collide (momentum; elastic to inelastic)."""
from __future__ import annotations

from ..scene import Body, Scene, Sphere
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, view_words

BALL_RADIUS = 0.27
AT_REST_MPS = 0.1
"""The prompt calls the right ball 'lying still' below this speed (m/s), else 'rolling towards it at ...'."""


def rolling(speed: float) -> tuple[float, float, float]:
    """Angular velocity of a ball rolling without slipping along +x at `speed` m/s."""
    return (0.0, speed / BALL_RADIUS, 0.0)


@FAMILIES.register("collision")
class Collision(Family):
    name = "collision"
    principle = "momentum"
    in_distribution = {
        "speed_left": (1.5, 2.5), "speed_right": (-1.0, 0.0), "restitution": (0.2, 0.9),
        "mass_ratio": (0.5, 2.0),
    }
    ood = {"speed_left": (2.8, 3.3), "mass_ratio": (3.0, 4.0)}

    def build(self, params: dict) -> Scene:
        # Bullet multiplies the restitutions of the two bodies in a contact.
        restitution = params["restitution"] ** 0.5
        (left_colour, left_rgb), (right_colour, right_rgb) = colours(params, 2)
        left = Body(
            "left_ball", "ball", Sphere(BALL_RADIUS), left_rgb, (-1.4, 0.0, BALL_RADIUS),
            mass=1.0, linear_velocity=(params["speed_left"], 0.0, 0.0),
            angular_velocity=rolling(params["speed_left"]), restitution=restitution,
        )
        right = Body(
            "right_ball", "ball", Sphere(BALL_RADIUS), right_rgb, (0.4, 0.0, BALL_RADIUS),
            mass=params["mass_ratio"], linear_velocity=(params["speed_right"], 0.0, 0.0),
            angular_velocity=rolling(params["speed_right"]), restitution=restitution,
        )
        heavier = right_colour if params["mass_ratio"] > 1 else left_colour
        right_motion = ("lying still" if params["speed_right"] > -AT_REST_MPS
                        else f"rolling towards it at {-params['speed_right']:.1f} m/s")
        view = camera(params)
        prompt = (
            f"A {left_colour} ball rolls from the left at {params['speed_left']:.1f} m/s along a grey floor into a "
            f"{right_colour} ball {right_motion} "
            f"and they collide; both are {2 * BALL_RADIUS:.2f} m across and the {heavier} ball is heavier. "
            f"{view_words(view)}"
        )
        return Scene([*floor_and_backdrop(params), left, right], view, prompt,
                     events={"restitution": params["restitution"], "masses": [1.0, params["mass_ratio"]]})

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        between = [c for c in contacts if {c["a"], c["b"]} == {"left_ball", "right_ball"}]
        return {"first_ball_contact_frame": between[0]["frame"] if between else None}
