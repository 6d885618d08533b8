"""ramp: a ball rolls and a box slides (or sticks) down the same incline (friction).

A static grey plank is tilted to `slope_deg`; its lower end meets the floor. A ball and a box
rest on it in two lanes side by side and are released together during the context. With the
plank's friction 1.0 (Bullet multiplies the two bodies' coefficients) the box's coefficient is
`box_friction`: it slides when tan(slope) > mu, with acceleration g (sin a - mu cos a) along
the slope, and stays put otherwise. The ball (friction 1.0, enough to roll without slipping)
rolls with g sin(a) * 5/7 (a solid sphere). Whichever of the two is faster starts lower on the
slope, so the two never pass each other on the slope. A low grey wall on the floor past the
ramp's foot stops both in view (they may end side by side there, the ball in front).
"""
from __future__ import annotations

import math

import numpy as np

from ..scene import Body, Box, Camera, Scene, Sphere
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, grey, view_words

GRAVITY = 9.81
BALL_RADIUS = 0.27
BOX_HALF = 0.25
PLANK_LENGTH = 2.5  # along the slope, metres
PLANK_HALF_WIDTH = 0.7
PLANK_THICKNESS = 0.12
PLANK_BOTTOM_X = 0.3  # where the plank's top face meets the floor
STOP_WALL_X = 1.3  # the inner face of a low wall on the floor that stops both objects in view
STOP_WALL_HALF = (0.1, PLANK_HALF_WIDTH, 0.3)
BALL_LANE_Y = -0.35  # the ball runs nearer the camera, the box further away
BOX_LANE_Y = 0.35
PLANK_FRICTION = 1.0
SUPPORT_INSET = 0.02  # from the plank's upper end, along x
SUPPORT_HALF_WIDTH = 0.08
BALL_FRICTION = 1.0
RAMP_CAMERA = Camera(eye=(0.0, -4.4, 1.7), target=(0.0, 0.0, 0.8), fov_deg=50.0)


def slope_frame(slope_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top point of the plank's surface, unit vector down the slope, unit normal out of the surface)."""
    angle = math.radians(slope_deg)
    down = np.array([math.cos(angle), 0.0, -math.sin(angle)])
    normal = np.array([math.sin(angle), 0.0, math.cos(angle)])
    top = np.array([PLANK_BOTTOM_X, 0.0, 0.0]) - PLANK_LENGTH * down
    return top, down, normal


def expected_accelerations(slope_deg: float, box_friction: float) -> dict[str, float]:
    """Acceleration along the slope (m/s^2) of the rolling ball and of the box (0 when it sticks)."""
    angle = math.radians(slope_deg)
    sliding = GRAVITY * (math.sin(angle) - box_friction * math.cos(angle))
    return {"ball": GRAVITY * math.sin(angle) * 5.0 / 7.0, "box": max(0.0, sliding)}


@FAMILIES.register("ramp")
class Ramp(Family):
    name = "ramp"
    principle = "friction"
    in_distribution = {"slope_deg": (20.0, 32.0), "box_friction": (0.2, 0.8), "upper_start": (0.3, 0.45),
                       "lower_start": (0.95, 1.2), "release_time": (0.2, 0.3)}
    ood = {"slope_deg": (36.0, 42.0), "box_friction": (0.04, 0.15)}

    def build(self, params: dict) -> Scene:
        slope_deg, mu = params["slope_deg"], params["box_friction"]
        top, down, normal = slope_frame(slope_deg)
        half_angle = math.radians(slope_deg) / 2
        tilt = (0.0, math.sin(half_angle), 0.0, math.cos(half_angle))  # about +y: the plank's x axis points downhill
        expected = expected_accelerations(slope_deg, mu)
        box_leads = expected["box"] > expected["ball"]
        ball_start = params["upper_start"] if box_leads else params["lower_start"]
        box_start = params["lower_start"] if box_leads else params["upper_start"]
        (ball_colour, ball_rgb), (box_colour, box_rgb) = colours(params, 2)

        centre = top + down * PLANK_LENGTH / 2 - normal * PLANK_THICKNESS / 2
        plank = Body("plank", "scenery", Box((PLANK_LENGTH / 2, PLANK_HALF_WIDTH, PLANK_THICKNESS / 2)), grey(120),
                     tuple(centre.tolist()), tilt, mass=0.0, lateral_friction=PLANK_FRICTION, tracked=False)
        # A post under the plank's upper end, its top just below the plank's underside (never touching the box).
        post_right = SUPPORT_INSET + 2 * SUPPORT_HALF_WIDTH
        support_height = float(top[2] - post_right * math.tan(2 * half_angle) - PLANK_THICKNESS / math.cos(2 * half_angle))
        support = Body("support", "scenery", Box((SUPPORT_HALF_WIDTH, PLANK_HALF_WIDTH, support_height / 2)), grey(110),
                       (float(top[0] + SUPPORT_INSET + SUPPORT_HALF_WIDTH), 0.0, support_height / 2), mass=0.0,
                       tracked=False)
        stop_wall = Body("stop_wall", "scenery", Box(STOP_WALL_HALF), grey(120),
                         (STOP_WALL_X + STOP_WALL_HALF[0], 0.0, STOP_WALL_HALF[2]), mass=0.0, restitution=0.0,
                         tracked=False)
        ball_centre = top + down * ball_start + normal * BALL_RADIUS + [0.0, BALL_LANE_Y, 0.0]
        box_centre = top + down * box_start + normal * BOX_HALF + [0.0, BOX_LANE_Y, 0.0]
        ball = Body("ball", "rolling", Sphere(BALL_RADIUS), ball_rgb, tuple(ball_centre.tolist()), mass=1.0,
                    restitution=0.0, lateral_friction=BALL_FRICTION, release_time=params["release_time"])
        box = Body("box", "sliding", Box((BOX_HALF, BOX_HALF, BOX_HALF)), box_rgb, tuple(box_centre.tolist()), tilt,
                   mass=1.0, restitution=0.0, lateral_friction=mu, release_time=params["release_time"])

        slides = math.tan(math.radians(slope_deg)) > mu
        if slides:
            box_motion = "slides down " + ("faster than the ball" if box_leads else "more slowly than the ball")
        else:
            box_motion = "stays where it is, held by friction"
        view = camera(params, RAMP_CAMERA)
        prompt = (
            f"A {ball_colour} ball and a {box_colour} box are released side by side after "
            f"{params['release_time']:.1f} s on a grey ramp inclined at {slope_deg:.0f} degrees; the ball rolls down "
            f"and the box {box_motion}. The ball is {2 * BALL_RADIUS:.2f} m across and nearer the camera, the box a "
            f"cube {2 * BOX_HALF:.1f} m on a side. A low grey wall on the floor stops whatever reaches it. "
            f"{view_words(view)}"
        )
        events = {
            "slope_deg": slope_deg, "box_friction": mu, "ball_friction": BALL_FRICTION,
            "box_slides": bool(slides), "expected_acceleration": expected, "release_time_s": params["release_time"],
            "gravity": GRAVITY,
        }
        return Scene([*floor_and_backdrop(params), plank, support, stop_wall, ball, box], view, prompt, events=events)

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        """Per object, the first frame it has left the plank (ball: past the lower end; box: its front edge
        past it), or None; measuring the slope's accelerations uses the frames before."""
        top, down, normal = slope_frame(scene.events["slope_deg"])
        left_plank = {}
        for name, offset, margin in (("ball", BALL_RADIUS, 0.0), ("box", BOX_HALF, BOX_HALF)):
            rows = tracks[tracks["object"] == name]
            position = rows[["x", "y", "z"]].to_numpy() - normal * offset
            along = (position - top) @ down
            past = np.flatnonzero(along + margin > PLANK_LENGTH)
            left_plank[name] = int(past[0]) if past.size else None
        return {"leaves_ramp_frame": left_plank}
