"""Reference-free gravity: the vertical acceleration of a falling or thrown ball, in the video's own scale.

Free-flight arcs are found in the observed track itself (no ground-truth contacts): runs of frames where
the ball is seen whole, split where it bounces (its lowest point: moving down, then up) and where it rests.
One parabola v = a/2 tau^2 + b_i tau + c_i per arc with a shared a (dynamics.fitted_acceleration) gives the
acceleration in px/frame^2; the ball's known radius R (metres, from the prompt) against its observed radius
sqrt(area / pi) (px) gives metres per pixel at the ball's depth:

    g_obs = a * fps^2 * R / r_px     (m/s^2),  compared with 9.81 m/s^2.
"""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import runs
from .dynamics import MIN_ARC_FRAMES, fitted_acceleration, leave_one_out_accelerations
from .observation import Observation
from .reference_free_common import REST_PX, seen_whole

STANDARD_GRAVITY = 9.81
"""m/s^2: what a ball in free flight must fall with."""
GRAVITY_FREE_ROLES = ("falling", "projectile")
"""Roles of the objects the prompt says are dropped or thrown (free_fall, projectile)."""
GRAVITY_FREE_SHAPES = ("sphere",)
"""Shapes whose metric size can be read from the image whatever their orientation: a sphere's outline is a
disc of radius f R / depth, so sqrt(area / pi) is its radius in px."""
GRAVITY_FREE_TOLERANCE = 0.1
"""Relative errors of the fitted gravity below this cost nothing (train split, 20 clips: clean <= 0.05, blur <= 0.07,
H.264 at crf 18-28 <= 0.17, which costs at most 0.08 of score; gravity_scale at 0.63 g gives 0.20-0.55)."""
LANDING_DECELERATION_PX = 1.0
"""px/frame^2: a downward step shorter than the one before by more than this ends a free-flight arc (a ball
meeting the floor); under gravity at 64 px and 8 fps each step down is 2-3 px longer than the last."""
REPEAT_PX = 0.01
"""Two frames whose ball centroids agree within this (px, both axes) are one frame shown twice."""
GRAVITY_FREE_TAG = 0.25
"""wrong_gravity fires when the fitted gravity is off by more than this share of 9.81 m/s^2, and so is every fit
with one frame left out (_off_without_any_frame; undetermined, so no tag, without a frame more than the fit's
unknowns, 1 + 2 per arc): no single bad frame explains the error. A stutter cut a thrown ball's arc into two
3-frame arcs, one of them a hop on the floor, and the fit read 0.38 g; with any frame of the hop left out,
1.16 g (16% off). After H.264 a ball's last hop before it rests, ending on the floor, bent a 7-frame fit to
0.70 g where leaving its landing frame out read 0.89 g. A ball under 0.63 g whose arc has 4 frames is off
whichever frame is left out."""


def repeated_frames(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(T - 1,) bool: frame t + 1 shows the ball exactly where frame t does (within REPEAT_PX on both axes): a
    repeated frame (a stutter), after which the rest of the flight runs one frame late; a parabola shifted in
    time keeps its curvature, so the arc is cut there rather than bent."""
    with np.errstate(invalid="ignore"):
        return (np.abs(np.diff(v)) < REPEAT_PX) & (np.abs(np.diff(u)) < REPEAT_PX)


def flight_arcs(v: np.ndarray, usable: np.ndarray, start: int, u: np.ndarray | None = None) -> list[np.ndarray]:
    """Runs of frames (from `start` on) of a (T,) observed height track v (px, down) in free flight: usable
    (seen whole), not vertically at rest (both steps around the frame under REST_PX), not a bounce (the
    lowest frame between a step down and a step up: the contact falls next to it), and cut after a frame
    where a downward motion slows by more than LANDING_DECELERATION_PX (the floor stops it; in free flight
    each step down is longer than the last), and at a repeated frame (repeated_frames, when u is given); each
    run at least MIN_ARC_FRAMES long."""
    n_frames = v.size
    steps = np.diff(v)
    excluded = ~usable.copy()
    cut_after = np.zeros(n_frames, bool)
    with np.errstate(invalid="ignore"):
        still = np.abs(steps) < REST_PX
        excluded[1:-1] |= (steps[:-1] > 0) & (steps[1:] < 0)  # bounce
        excluded[1:-1] |= still[:-1] & still[1:]
        excluded[1:] |= repeated_frames(v, u) if u is not None else False  # a stutter: cut the arc there
        excluded[0] |= bool(still[0]) if still.size else False
        excluded[-1] |= bool(still[-1]) if still.size else False
        cut_after[1:-1] = (steps[:-1] > REST_PX) & (steps[1:] < steps[:-1] - LANDING_DECELERATION_PX)
    excluded[:start] = True
    arcs = []
    for first, end in runs(~excluded):
        pieces = np.split(np.arange(first, end), np.flatnonzero(cut_after[first:end - 1]) + 1)
        arcs += [piece for piece in pieces if piece.size >= MIN_ARC_FRAMES]
    return arcs


def _off_without_any_frame(arcs: list[np.ndarray], v: np.ndarray, metres_per_px_frame2: float) -> bool:
    """Every fit of the arcs with one frame left out gives a gravity off 9.81 m/s^2 by more than GRAVITY_FREE_TAG
    (metres_per_px_frame2 turns px/frame^2 into m/s^2); False when a left-out fit is undetermined."""
    with np.errstate(invalid="ignore"):
        relative = np.abs(leave_one_out_accelerations(arcs, v) * metres_per_px_frame2 - STANDARD_GRAVITY) / STANDARD_GRAVITY
    return bool(relative.size and np.all(relative > GRAVITY_FREE_TAG))


@register_metric("gravity_free", principle="gravity", unit="relative error of the fitted gravity against 9.81 m/s^2",
                 needs_alignment=False, tags=("wrong_gravity",))
def gravity_free(clip: Clip, observation: Observation) -> MetricOutput:
    """Vertical acceleration of the dropped or thrown ball's free-flight arcs, in m/s^2 from its known size, against 9.81."""
    candidates = [k for k, obj in enumerate(clip.tracked_objects)
                  if obj.role in GRAVITY_FREE_ROLES and obj.shape in GRAVITY_FREE_SHAPES and obj.size > 0]
    if not candidates:
        return MetricOutput(np.nan, np.nan, reason=f"{clip.spec.family} has no dropped or thrown ball of known size")
    whole = seen_whole(observation, clip.spec.resolution)
    fps = clip.spec.fps
    scores, errors, events = [], [], []
    for k in candidates:
        obj = clip.tracked_objects[k]
        v = np.where(observation.detected[:, k], observation.v[:, k], np.nan)
        u = np.where(observation.detected[:, k], observation.u[:, k], np.nan)
        arcs = flight_arcs(v, whole[:, k], clip.spec.n_context - 1, u)
        acceleration, n_frames = fitted_acceleration(arcs, v)
        if np.isnan(acceleration):
            continue
        frames = np.concatenate(arcs)
        radius_px = float(np.sqrt(np.median(observation.area[frames, k]) / np.pi))
        gravity = acceleration * fps**2 * obj.size / radius_px
        relative = abs(gravity - STANDARD_GRAVITY) / STANDARD_GRAVITY
        scores.append(1.0 - min(1.0, max(0.0, relative - GRAVITY_FREE_TOLERANCE) / (1.0 - GRAVITY_FREE_TOLERANCE)))
        errors.append(relative)
        if relative > GRAVITY_FREE_TAG and _off_without_any_frame(arcs, v, fps * fps * obj.size / radius_px):
            events.append(FailureEvent(
                clip.clip_id, "wrong_gravity", int(frames.min()), obj.name, float(min(1.0, relative)),
                f"{obj.name} falls at {gravity:.1f} m/s^2 in the video's own scale (its {obj.size:.2f} m radius is "
                f"{radius_px:.1f} px), {relative:.0%} off 9.81 m/s^2 (fitted over {n_frames} frames)"))
    if not scores:
        return MetricOutput(np.nan, np.nan, reason="the ball shows no free-flight arc of 4 or more frames after the context")
    return MetricOutput(float(np.mean(scores)), float(np.mean(errors)), events)
