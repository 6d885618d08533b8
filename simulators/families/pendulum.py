"""pendulum: a bob on a light rigid rod swings about a fixed pivot (energy).

One Compound: a static grey mount at the pivot (the base), a small grey hinge link on a
frictionless revolute joint about y, a thin grey rod fixed to the hinge and the coloured bob
fixed to the rod's end, `rod_length` below the pivot. The hinge's joint frame is turned by the
initial angle, so the pendulum starts at rest at `initial_angle_deg` and swings from frame 0
(the start shows in the context). No damping: mechanical energy is conserved, and the bob comes
back to the same height every half period. The rod and hinge weigh 1% of the bob, and the bob is
a solid sphere, so the body is a physical pendulum whose small-angle period
2 pi sqrt(I / (m g d)) exceeds the point-mass 2 pi sqrt(L / g) by 0.5% (L = 1.7 m) to 1.6%
(L = 0.9 m, ood); both are recorded.
"""
from __future__ import annotations

import math

from ..scene import Body, Box, Camera, Compound, Cylinder, Part, Scene, Sphere
from .base import FAMILIES, Family, camera, colours, floor_and_backdrop, grey, view_words

GRAVITY = 9.81
BOB_RADIUS = 0.27
BOB_MASS = 1.0
HINGE_RADIUS = 0.04
HINGE_MASS = 0.005
ROD_RADIUS = 0.025
ROD_MASS = 0.005
PIVOT_HEIGHT = 2.75
MOUNT_HALF_EXTENTS = (0.18, 0.12, 0.06)
PENDULUM_CAMERA = Camera(eye=(0.0, -3.3, 1.75), target=(0.0, 0.0, 1.75), fov_deg=50.0)
"""Closer than the side camera: the 0.27 m bob is 5.6 px in radius at 64x64."""


def rod_span(length: float) -> float:
    """Length of the visible rod: from the pivot to the bob's surface."""
    return length - BOB_RADIUS


def inertia_about_pivot(length: float) -> tuple[float, float]:
    """(moment of inertia about the pivot, kg m^2; mass times pivot-to-centre-of-mass distance, kg m)."""
    rod = rod_span(length)
    bob = BOB_MASS * (length**2 + 0.4 * BOB_RADIUS**2)
    rod_inertia = ROD_MASS * (rod**2 / 12 + (rod / 2) ** 2)
    hinge = 0.4 * HINGE_MASS * HINGE_RADIUS**2
    return bob + rod_inertia + hinge, BOB_MASS * length + ROD_MASS * rod / 2


def small_angle_period(length: float) -> float:
    """2 pi sqrt(L / g): the period of a point mass on a massless rod, seconds."""
    return 2 * math.pi * math.sqrt(length / GRAVITY)


def physical_period(length: float) -> float:
    """Small-angle period of this body (solid bob, light rod), 2 pi sqrt(I / (m g d)), seconds."""
    inertia, mass_distance = inertia_about_pivot(length)
    return 2 * math.pi * math.sqrt(inertia / (mass_distance * GRAVITY))


@FAMILIES.register("pendulum")
class Pendulum(Family):
    name = "pendulum"
    principle = "energy"
    in_distribution = {"rod_length": (1.2, 1.7), "initial_angle_deg": (25.0, 45.0), "pivot_x": (-0.2, 0.2)}
    ood = {"rod_length": (0.9, 1.1), "initial_angle_deg": (50.0, 60.0)}

    def build(self, params: dict) -> Scene:
        length, angle_deg = params["rod_length"], params["initial_angle_deg"]
        half = math.radians(angle_deg) / 2
        # Turning the hinge's joint frame about +y by the angle swings the bob towards -x (to the left).
        start = (0.0, math.sin(half), 0.0, math.cos(half))
        rod = rod_span(length)
        [(colour, rgb)] = colours(params, 1)
        pendulum = Compound(parts=(
            Part("mount", Box(MOUNT_HALF_EXTENTS), grey(90), tracked=False),
            Part("hinge", Sphere(HINGE_RADIUS), grey(90), orientation=start, mass=HINGE_MASS, parent=0,
                 joint="revolute", axis=(0.0, 1.0, 0.0), tracked=False),
            Part("rod", Cylinder(ROD_RADIUS, rod), grey(100), position=(0.0, 0.0, -rod / 2), mass=ROD_MASS, parent=1,
                 tracked=False),
            Part("bob", Sphere(BOB_RADIUS), rgb, position=(0.0, 0.0, -length + rod / 2), mass=BOB_MASS, parent=2),
        ))
        body = Body("pendulum", "pendulum", pendulum, rgb, (params["pivot_x"], 0.0, PIVOT_HEIGHT), mass=0.0,
                    restitution=0.0)
        view = camera(params, PENDULUM_CAMERA)
        prompt = (
            f"A {colour} ball {2 * BOB_RADIUS:.2f} m across hangs from a fixed pivot on a thin grey rod {length:.1f} m "
            f"long; it is let go {angle_deg:.0f} degrees to the left and swings back and forth like a pendulum. "
            f"{view_words(view)}"
        )
        events = {
            "rod_length_m": length, "initial_angle_deg": angle_deg, "pivot": [params["pivot_x"], 0.0, PIVOT_HEIGHT],
            "small_angle_period_s": small_angle_period(length), "physical_period_s": physical_period(length),
            "gravity": GRAVITY,
        }
        return Scene([*floor_and_backdrop(params), body], view, prompt, events=events)
