"""crowd: several balls or upright cylinders ("people") cross a floor, passing behind walls
(object permanence).

Three to six objects, each in its own palette colour, move in three rows (lanes at three
depths), neighbouring rows going opposite ways, and bounce back off two low grey kerbs at the
sides; within a row the follower is a little faster, so it may catch up and bump into the one
ahead. One or two dark grey walls stand between the rows and the camera, so
objects disappear behind a wall and come out again. However many are in view, the number of
objects that exist never changes: nothing appears out of nowhere and nothing vanishes. The
objects glide without friction (a flat-coloured ball looks the same rolling or sliding), so they
keep their speed between bounces, and come back out after bouncing off a kerb behind a wall.
"""
from __future__ import annotations

import numpy as np

from ..scene import Body, Box, Camera, Cylinder, Scene, Sphere
from .base import FAMILIES, OCCLUDER_RGB, Family, camera, colour_list, colours, floor_and_backdrop, grey, view_words

BALL_RADIUS = 0.3
PERSON_RADIUS, PERSON_HEIGHT = 0.25, 0.7
LANES_Y = (-0.2, 0.45, 1.1)
"""Depths of the three lanes; neighbouring lanes head opposite ways."""
STARTS_X = (-0.05, -0.7)
"""Start positions along a lane heading right, the front one first (mirrored for lanes heading left):
all start in the open middle and meet the walls near the kerbs."""
KERB_X, KERB_HALF = 1.7, (0.05, 1.0, 0.125)
"""Two low grey kerbs, at x = -KERB_X and +KERB_X, send the objects back so that they stay in view."""
WALL_Y, WALL_HALF_HEIGHT = -0.8, 0.66
WALL_X = 0.9
"""The walls stand at x = -WALL_X and/or +WALL_X, in front of where the objects bounce back."""
CROWD_CAMERA = Camera(eye=(0.0, -3.0, 2.0), target=(0.0, 0.45, 0.3), fov_deg=50.0)
NUMBER_WORDS = {3: "Three", 4: "Four", 5: "Five", 6: "Six"}


def layout(params: dict, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (count, 2) and velocities (count, 2): objects fill the lanes in turn, at most
    two per lane; a follower is a little faster than the one ahead, so it may catch up and bump.
    The small jitters come from a stream seeded by the `layout` param (so every random choice
    still comes from the params)."""
    rng = np.random.default_rng(int(params["layout"] * 2**32))
    first_lane_heading = 1.0 if params["layout"] < 0.5 else -1.0
    start, velocity = np.zeros((count, 2)), np.zeros((count, 2))
    for index in range(count):
        lane, place = index % len(LANES_Y), index // len(LANES_Y)
        heading = first_lane_heading * (-1.0) ** lane
        speed = params["speed"] * (rng.uniform(0.85, 1.0) if place == 0 else rng.uniform(1.0, 1.15))
        start[index] = heading * (STARTS_X[place] + rng.uniform(-0.1, 0.1)), LANES_Y[lane] + rng.uniform(-0.05, 0.05)
        drift = rng.uniform(-0.04, 0.04)
        velocity[index] = heading * speed * np.cos(drift), speed * np.sin(drift)
    return start, velocity


def kerbs(params: dict) -> list[Body]:
    """Two low grey kerbs (scenery) at the ends of the lanes."""
    level = grey(params.get("visual_floor_grey", 170.0) - 25)
    return [Body(f"kerb_{index}", "scenery", Box(KERB_HALF), level, (side * (KERB_X + KERB_HALF[0]), 0.45, KERB_HALF[2]),
                 mass=0.0, restitution=1.0, lateral_friction=0.0, tracked=False)
            for index, side in enumerate((-1.0, 1.0))]


@FAMILIES.register("crowd")
class Crowd(Family):
    name = "crowd"
    principle = "permanence"
    in_distribution = {
        "count": (2.5, 6.49), "people": (0.0, 1.0), "speed": (0.9, 1.2), "layout": (0.0, 1.0),
        "walls": (0.0, 1.0), "wall_half_width": (0.3, 0.38),
    }
    ood = {"speed": (1.35, 1.6), "wall_half_width": (0.42, 0.5)}

    def build(self, params: dict) -> Scene:
        count = int(round(params["count"]))
        people = params["people"] >= 0.5
        start, velocity = layout(params, count)
        named = colours(params, count)
        objects = []
        for index, ((_, rgb), (x, y), (vx, vy)) in enumerate(zip(named, start, velocity)):
            if people:
                objects.append(Body(f"person_{index}", "person", Cylinder(PERSON_RADIUS, PERSON_HEIGHT), rgb,
                                    (x, y, PERSON_HEIGHT / 2), mass=1.0, linear_velocity=(vx, vy, 0.0),
                                    restitution=0.9, lateral_friction=0.0))
            else:
                objects.append(Body(f"ball_{index}", "ball", Sphere(BALL_RADIUS), rgb, (x, y, BALL_RADIUS),
                                    mass=1.0, linear_velocity=(vx, vy, 0.0), restitution=0.9, lateral_friction=0.0))
        n_walls = 1 + int(params["walls"] >= 0.5)
        wall_xs = (-WALL_X, WALL_X) if n_walls == 2 else ((WALL_X if params["walls"] >= 0.25 else -WALL_X),)
        walls = [Body(f"wall_{index}", "occluder", Box((params["wall_half_width"], 0.05, WALL_HALF_HEIGHT)),
                      OCCLUDER_RGB, (x, WALL_Y, WALL_HALF_HEIGHT), mass=0.0, tracked=False)
                 for index, x in enumerate(wall_xs)]
        kind = (f"upright cylinders {PERSON_HEIGHT:.1f} m tall, like people," if people
                else f"balls {2 * BALL_RADIUS:.1f} m across")
        names = colour_list([colour for colour, _ in named])
        wall_words = "a dark grey wall" if n_walls == 1 else "two dark grey walls"
        view = camera(params, CROWD_CAMERA)
        prompt = (f"{NUMBER_WORDS[count]} {kind} coloured {names} glide back and forth at about "
                  f"{params['speed']:.1f} m/s across a grey floor in three rows "
                  f"between two low grey kerbs, passing behind {wall_words} in front of them; all {count} stay "
                  f"there the whole time. {view_words(view)}")
        return Scene([*floor_and_backdrop(params), *kerbs(params), *walls, *objects], view,
                     prompt, events={"object_count": count, "people": people, "walls": n_walls})

    def animate(self, sim, time_s: float) -> None:
        """Before the first step only: process contacts only once bodies touch (Bullet's default
        speculative contacts stop a slow body dead at a kerb instead of bouncing it back)."""
        if time_s == 0.0:
            for name, body_id in sim.body_ids.items():
                if name.startswith(("ball_", "person_")):
                    sim.client.changeDynamics(body_id, -1, contactProcessingThreshold=0.0)

    def events(self, scene: Scene, tracks, contacts: list[dict]) -> dict:
        """Per frame: how many objects exist, how many show at all, how many clearly show (>= half)."""
        names = [body.name for body in scene.bodies if body.tracked and not body.is_scenery]
        rows = tracks[tracks["object"].isin(names)]
        by_frame = rows.groupby("t")
        return {
            "existing_count": by_frame["object"].count().astype(int).tolist(),
            "visible_count": by_frame["visible_px"].apply(lambda px: int((px > 0).sum())).tolist(),
            "clearly_visible_count": by_frame["visible_frac"].apply(lambda frac: int((frac >= 0.5).sum())).tolist(),
        }
