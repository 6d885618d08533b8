"""Dynamics: velocities and accelerations of the observed objects, and the gravity of falling ones."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, image_diagonal, truth_visible
from .observation import Observation

MAX_RATE_ERROR_DIAG = 0.1
"""Velocity (px/frame) and acceleration (px/frame^2) errors are capped at this share of the image
diagonal; a pair of frames where the truth shows the object but the video lost it costs the cap.
Real objects move at most about 0.05 D per frame in the suites, so the cap is a clearly wrong rate."""
VELOCITY_TOLERANCE_DIAG = 0.02
"""Velocity errors below max(1 px, this share of the diagonal) per frame cost nothing: the difference
of two centroids, each within 0.85 px of the truth after H.264, errs by up to about 1.7 px/frame."""
ACCELERATION_TOLERANCE_DIAG = 0.03
"""Acceleration errors below max(1 px, this share of the diagonal) per frame^2 cost nothing: a second
difference adds up the error of three centroids."""

BALLISTIC_FAMILIES = ("free_fall", "projectile")
"""Families whose main object flies freely under gravity between floor contacts."""
BALLISTIC_ROLES = ("falling", "projectile")
"""Roles of the objects in free flight in those families."""
MIN_ARC_FRAMES = 3
"""A free-flight arc needs at least this many frames to constrain a parabola (3 coefficients per arc)."""
MIN_FIT_FRAMES = 4
"""The joint parabola fit needs at least this many frames overall (one more than its first arc's unknowns)."""
MIN_DETECTED_SHARE = 0.75
"""Below this share of the free-flight frames detected in the video, the object counts as lost (score 0)."""
GRAVITY_TOLERANCE = 0.15
"""Relative acceleration errors below this cost nothing: a parabola through 4 centroids, each within
0.85 px after H.264, gets its curvature within about 10% of a fall of 2-4 px/frame^2."""
WRONG_GRAVITY_RELATIVE = 0.3
"""wrong_gravity fires when the fitted acceleration is off by more than this share of the true one..."""
WRONG_GRAVITY_MIN_FRAMES = 5
"""...and the fit rests on at least this many observed frames."""


# ----------------------------------------------------------------------------------- velocity
def _rate_errors(observed: tuple[np.ndarray, np.ndarray], truth: tuple[np.ndarray, np.ndarray],
                 detected: np.ndarray, valid: np.ndarray, scored_frames: np.ndarray, order: int,
                 cap: float) -> np.ndarray:
    """(T, K) error in px/frame^order of the order-th finite difference of the observed centroids against the
    truth's, capped at `cap`; cap where the truth has the difference but the video lost the object; NaN where
    it is not scored (frame not scored, or the truth misses one of the order + 1 frames ending at t)."""
    n_frames = valid.shape[0]
    observed_u, observed_v = (np.diff(track, n=order, axis=0) for track in observed)
    true_u, true_v = (np.diff(track, n=order, axis=0) for track in truth)
    # valid/detected over the order + 1 frames t - order .. t, aligned with the difference ending at t.
    window_valid = np.ones((n_frames - order, valid.shape[1]), bool)
    window_detected = np.ones_like(window_valid)
    for lag in range(order + 1):
        window_valid &= valid[lag:n_frames - order + lag]
        window_detected &= detected[lag:n_frames - order + lag]
    error = np.minimum(np.hypot(observed_u - true_u, observed_v - true_v), cap)
    error = np.where(window_detected, np.nan_to_num(error, nan=cap), cap)
    scored = window_valid & scored_frames[order:, None]
    out = np.full(valid.shape, np.nan)
    out[order:] = np.where(scored, error, np.nan)
    return out


@register_metric("velocity", principle="trajectory", unit="px per frame over the image diagonal",
                 needs_alignment=True)
def velocity_consistency(clip: Clip, observation: Observation) -> MetricOutput:
    """Velocity and acceleration errors of the object centroids (finite differences) after the context."""
    diagonal = image_diagonal(clip)
    cap = MAX_RATE_ERROR_DIAG * diagonal
    valid = truth_visible(clip, observation)
    truth = (clip.track_matrix("seg_u"), clip.track_matrix("seg_v"))
    observed = (observation.u, observation.v)
    after_context = evaluated_frames(clip)
    velocity = _rate_errors(observed, truth, observation.detected, valid, after_context, 1, cap)
    acceleration = _rate_errors(observed, truth, observation.detected, valid, after_context, 2, cap)
    if np.isnan(velocity).all():
        return MetricOutput(np.nan, np.nan, reason="no object is visible in two consecutive frames after the context")
    losses = []
    for errors, share in ((velocity, VELOCITY_TOLERANCE_DIAG), (acceleration, ACCELERATION_TOLERANCE_DIAG)):
        if np.isnan(errors).all():
            continue
        tolerance = max(1.0, share * diagonal)
        losses.append(np.nanmean(np.maximum(errors - tolerance, 0.0)) / (cap - tolerance))
    value = float(np.clip(1.0 - np.mean(losses), 0.0, 1.0))
    return MetricOutput(value, float(np.nanmean(velocity)) / diagonal)


# ------------------------------------------------------------------------------------ gravity
def free_flight_arcs(clip: Clip, k: int) -> list[np.ndarray]:
    """Runs of frames (from the last context frame on) over which tracked object k flies freely in the
    truth: released, no contact in between, clearly visible; each run at least MIN_ARC_FRAMES long."""
    obj = clip.tracked_objects[k]
    body = obj.body or obj.name
    contact_frames = {contact["frame"] for contact in clip.events.get("contacts", [])
                      if body in (contact["a"], contact["b"])}
    release_frame = float(clip.events.get("release_time_s", 0.0)) * clip.spec.fps
    visible = clip.track_matrix("visible_frac")[:, k] >= 0.5
    arcs, current = [], []
    for t in range(clip.spec.n_context - 1, clip.spec.n_frames):
        flies_in = bool(current) and t not in contact_frames and t - 1 >= release_frame
        if visible[t] and (flies_in or not current):
            current.append(t)
            continue
        if len(current) >= MIN_ARC_FRAMES:
            arcs.append(np.array(current))
        current = [t] if visible[t] else []
    if len(current) >= MIN_ARC_FRAMES:
        arcs.append(np.array(current))
    return arcs


def fit_arcs(arcs: list[np.ndarray], v: np.ndarray) -> list[np.ndarray]:
    """The arcs' frames where v is finite, keeping the arcs still MIN_ARC_FRAMES long: what fitted_acceleration
    fits, with 1 + 2 per arc unknowns (a shared a, and b_i, c_i)."""
    kept = [arc[np.isfinite(v[arc])] for arc in arcs]
    return [arc for arc in kept if len(arc) >= MIN_ARC_FRAMES]


def arc_design(kept: list[np.ndarray], v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(design (n, 1 + 2 per arc), target (n,)) of the joint fit v = a/2 tau^2 + b_i tau + c_i over the arcs' frames
    (columns a, b_1, c_1, b_2, c_2, ...), shared by fitted_acceleration and time_direction_free's bounces;
    tau counted from each arc's first frame."""
    n_frames = sum(len(arc) for arc in kept)
    design = np.zeros((n_frames, 1 + 2 * len(kept)))
    row = 0
    for index, arc in enumerate(kept):
        tau = (arc - arc[0]).astype(float)
        design[row:row + len(arc), 0] = 0.5 * tau**2
        design[row:row + len(arc), 1 + 2 * index] = tau
        design[row:row + len(arc), 2 + 2 * index] = 1.0
        row += len(arc)
    return design, np.concatenate([v[arc] for arc in kept])


def fitted_acceleration(arcs: list[np.ndarray], v: np.ndarray) -> tuple[float, int]:
    """(vertical acceleration in px/frame^2, frames used) of parabolas v = a/2 t^2 + b_i t + c_i fitted
    jointly by least squares, one per arc with a shared a, over the frames where v is finite; NaN when
    fewer than MIN_FIT_FRAMES frames (or a frame too few for the unknowns) remain.

    When there are frames to spare, the one frame whose removal leaves the smallest residual is left out
    (least trimmed squares over n - 1 frames), so that a single stuttered or mis-detected frame does not
    bend the fit."""
    kept = fit_arcs(arcs, v)
    n_unknowns = 1 + 2 * len(kept)
    n_frames = sum(len(arc) for arc in kept)
    if not kept or n_frames < max(MIN_FIT_FRAMES, n_unknowns + 1):
        return float("nan"), n_frames
    design, target = arc_design(kept, v)
    subsets = [np.ones(n_frames, bool)]
    if n_frames >= n_unknowns + 2:
        subsets = [np.arange(n_frames) != left_out for left_out in range(n_frames)]
    best, best_residual = float("nan"), np.inf
    for rows in subsets:
        coefficients, _, rank, _ = np.linalg.lstsq(design[rows], target[rows], rcond=None)
        residual = float(np.sum((design[rows] @ coefficients - target[rows]) ** 2))
        if rank == n_unknowns and residual < best_residual:
            best, best_residual = float(coefficients[0]), residual
    return best, n_frames


def leave_one_out_accelerations(arcs: list[np.ndarray], v: np.ndarray) -> np.ndarray:
    """(n,) the acceleration (px/frame^2) of the joint fit of fitted_acceleration with each one of its n frames
    left out, NaN where the rest no longer determine the fit: what the fit says whichever single frame is bad."""
    kept = fit_arcs(arcs, v)
    if not kept:
        return np.array([])
    design, target = arc_design(kept, v)
    out = np.full(target.size, np.nan)
    for left_out in range(target.size):
        rows = np.arange(target.size) != left_out
        coefficients, _, rank, _ = np.linalg.lstsq(design[rows], target[rows], rcond=None)
        if rank == design.shape[1]:
            out[left_out] = float(coefficients[0])
    return out


@register_metric("gravity", principle="gravity", unit="relative error of the vertical acceleration",
                 needs_alignment=True, tags=("wrong_gravity",))
def gravity_consistency(clip: Clip, observation: Observation) -> MetricOutput:
    """Vertical acceleration of parabolas fitted to the free-flight arcs, observed against the truth's."""
    if clip.spec.family not in BALLISTIC_FAMILIES:
        return MetricOutput(np.nan, np.nan, reason=f"{clip.spec.family} has no object in free flight to fit")
    true_v = clip.track_matrix("seg_v")
    observed_v = np.where(observation.detected, observation.v, np.nan)
    scores, errors, events = [], [], []
    for k, obj in enumerate(clip.tracked_objects):
        if obj.role not in BALLISTIC_ROLES:
            continue
        arcs = free_flight_arcs(clip, k)
        true_acceleration, n_true = fitted_acceleration(arcs, true_v[:, k])
        if np.isnan(true_acceleration) or true_acceleration == 0.0:
            continue
        observed_acceleration, n_observed = fitted_acceleration(arcs, observed_v[:, k])
        if np.isnan(observed_acceleration) or n_observed < MIN_DETECTED_SHARE * n_true:
            scores.append(0.0)  # the object is lost in free flight
            errors.append(1.0)
            continue
        relative = abs(observed_acceleration - true_acceleration) / abs(true_acceleration)
        scores.append(1.0 - min(1.0, max(0.0, relative - GRAVITY_TOLERANCE) / (1.0 - GRAVITY_TOLERANCE)))
        errors.append(relative)
        if relative > WRONG_GRAVITY_RELATIVE and n_observed >= WRONG_GRAVITY_MIN_FRAMES:
            first = int(min(arc[0] for arc in arcs))
            events.append(FailureEvent(
                clip.clip_id, "wrong_gravity", max(first, clip.spec.n_context), obj.name, min(1.0, relative),
                f"{obj.name} falls at {observed_acceleration:.2f} px/frame^2 where gravity gives "
                f"{true_acceleration:.2f} px/frame^2 ({relative:.0%} off, fitted over {n_observed} frames)",
            ))
    if not scores:
        return MetricOutput(np.nan, np.nan, reason="no free-flight arc of 4 or more frames after the context")
    return MetricOutput(float(np.mean(scores)), float(np.mean(errors)), events)
