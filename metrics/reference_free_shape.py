"""Reference-free rigidity: a rigid object keeps its outline's proportions, and a rigid body its parts' angles.

From the observed video alone (no ground-truth masks):
(a) Shape. The aspect of a rigid ball's outline: the log-Euclidean norm of its scale-free second-moment
    matrix (rigidity.log_shape), i.e. the log ratio of its principal axes; it does not change when the
    object turns in the image plane, moves, or comes closer (uniform scale). It is compared, in every frame
    where the object is seen whole (reference_free_common.seen_whole: not cut by the edge, not partly
    hidden), with its median over the opening frames (the context).
(b) Part angles. For a body of several tracked rigid parts (the chair), the angle between each elongated
    part's principal axis and the body's base part's, against its median over the opening frames: a leg
    that swings away from the seat turns relative to it; a chair that tumbles turns all its parts together.
Perspective (parts turning out of the image plane) changes both legitimately and slowly; the tolerances
below are measured on the train split's clean and H.264 clips.
"""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import MetricOutput, register_metric
from .common import evaluated_frames
from .observation import Observation
from .reference_free_common import seen_whole, touching_another
from .rigidity import (
    MIN_WIDTH_PX,
    _tag_runs,
    frame_losses,
    log_shape,
    minor_width_px,
    running_median,
    shape_distance,
)

ASPECT_TOLERANCE = 0.3
"""Aspect changes (nats, log axis ratio) below this cost nothing."""
ASPECT_CAP = 0.4
"""An aspect change of its tolerance + this costs the whole frame."""
ASPECT_TAG = 0.4
"""shape_changed fires when the aspect change stays above this for TAG_FRAMES seen frames in a row."""
ANGLE_TOLERANCE_DEG = 20.0
"""Changes of a part's angle to its body's base part below this (degrees) cost nothing."""
ANGLE_CAP_DEG = 30.0
"""A part-angle change of its tolerance + this costs the whole frame."""
ANGLE_TAG_DEG = 35.0
"""rigidity_broken fires when a part's angle change stays above this for TAG_FRAMES seen frames in a row."""
MIN_ELONGATION = 0.35
"""A part's principal axis counts only when its outline is this elongated (log axis ratio, nats)."""
ASPECT_SHAPES = ("sphere",)
"""Shapes whose outline keeps its aspect from every viewpoint (a sphere's is a disc). Boxes and cylinders turn
out of the image plane legitimately: with every rigid object in, clean train clips scored down to 0.15
(chair), 0.23 (dominoes) and 0.06 (treadmill thighs)."""
EXCLUDED_ROLES = ("marker",)
RIGID_BODY_ROLES = ("rigid",)
"""Roles of multi-part bodies whose parts never move against each other (the chair: "staying rigid"); a
runner's or a mannequin's links are each rigid but the body bends at its joints."""
"""Flat marker discs turn out of the image plane with the body they sit on (a face marker narrows to a sliver
as the head turns): their outline changes legitimately."""


def aspect(covariance: np.ndarray) -> np.ndarray:
    """(...,) log ratio of the principal axes (nats) of (..., 3) second moments mu20, mu11, mu02."""
    return shape_distance(log_shape(covariance))


def axis_angle_deg(covariance: np.ndarray) -> np.ndarray:
    """(...,) orientation of the principal axis in degrees, in [-90, 90), of (..., 3) second moments."""
    return 0.5 * np.degrees(np.arctan2(2 * covariance[..., 1], covariance[..., 0] - covariance[..., 2]))


def _baseline(series: np.ndarray, valid: np.ndarray, n_context: int) -> float:
    """Median of a (T,) real series over the valid context frames (NaN when there is none)."""
    context = series[:n_context][valid[:n_context]]
    return float(np.median(context)) if context.size else np.nan


def _lost(observation: Observation, scored: np.ndarray, after: np.ndarray, k: int) -> bool:
    """Object k, seen in the context, has no scored frame after it and is detected in under half of those frames:
    its shape cannot be verified, and every frame after the context costs the whole loss (noise, black or
    one-colour frames never score better than a still video)."""
    return not scored.any() and observation.detected[after, k].mean() < 0.5


def aspect_errors(clip: Clip, observation: Observation, whole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) running median of |aspect - its context median| (nats, NaN where not seen whole after the context),
    and (T, K) bool frames that count (after the context, seen whole; every frame after the context, each
    costing the whole loss, when the object is lost: _lost), for each rigid tracked object at least
    MIN_WIDTH_PX wide in the context, of a shape in ASPECT_SHAPES and seen whole in the context."""
    n_context = clip.spec.n_context
    error = np.full(whole.shape, np.nan)
    counted = np.zeros(whole.shape, bool)
    after = evaluated_frames(clip)
    for k, obj in enumerate(clip.tracked_objects):
        if (not obj.rigid or obj.shape not in ASPECT_SHAPES or obj.role in EXCLUDED_ROLES
                or not whole[:n_context, k].any()):
            continue
        if np.median(minor_width_px(observation.covariance[:n_context][whole[:n_context, k], k])) < MIN_WIDTH_PX:
            continue
        series = aspect(observation.covariance[:, k])
        change = np.abs(series - _baseline(series, whole[:, k], n_context))
        scored = whole[:, k] & after
        error[:, k] = running_median(change, scored)
        counted[:, k] = after if _lost(observation, scored, after, k) else scored
    return error, counted


def angle_errors(clip: Clip, observation: Observation, whole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) running median of |change of the angle between a part's principal axis and its body's base part's|
    (degrees, relative to the context median), and (T, K) bool frames that count; only elongated parts of
    bodies of several tracked rigid parts."""
    n_context = clip.spec.n_context
    error = np.full(whole.shape, np.nan)
    counted = np.zeros(whole.shape, bool)
    after = evaluated_frames(clip)
    bodies: dict[str, list[int]] = {}
    for k, obj in enumerate(clip.tracked_objects):
        if obj.body and obj.rigid and obj.role in RIGID_BODY_ROLES:
            bodies.setdefault(obj.body, []).append(k)
    for members in bodies.values():
        if len(members) < 2:
            continue
        base = next((k for k in members if clip.tracked_objects[k].link == -1), members[0])
        angle = axis_angle_deg(observation.covariance)
        elongated = aspect(observation.covariance) >= MIN_ELONGATION
        for k in members:
            if k == base:
                continue
            valid = whole[:, k] & whole[:, base] & elongated[:, k] & elongated[:, base]
            if not valid[:n_context].any():
                continue
            doubled = np.radians(2 * (angle[:, k] - angle[:, base]))  # an axis is defined modulo 180 degrees
            context = doubled[:n_context][valid[:n_context]]
            reference = np.arctan2(np.median(np.sin(context)), np.median(np.cos(context)))
            turned = np.degrees(np.abs(np.angle(np.exp(1j * (doubled - reference))))) / 2
            scored = valid & after
            error[:, k] = running_median(turned, scored)
            counted[:, k] = after if _lost(observation, scored, after, k) else scored
    return error, counted


@register_metric("rigidity_free", principle="rigidity", unit="worst object's mean aspect or part-angle loss",
                 needs_alignment=False, tags=("shape_changed", "rigidity_broken"))
def rigidity_free(clip: Clip, observation: Observation) -> MetricOutput:
    """Rigid objects keep their outline's aspect, and rigid bodies the angles between their parts, as in the context."""
    whole = seen_whole(observation, clip.spec.resolution)
    shape_error, shape_counted = aspect_errors(clip, observation, whole & ~touching_another(observation))
    turn_error, turn_counted = angle_errors(clip, observation, whole)
    if not shape_counted.any() and not turn_counted.any():
        return MetricOutput(np.nan, np.nan, reason="no rigid object is seen whole in the context and after it")
    losses = np.concatenate([frame_losses(shape_error, shape_counted, ASPECT_TOLERANCE, ASPECT_CAP),
                             frame_losses(turn_error, turn_counted, ANGLE_TOLERANCE_DEG, ANGLE_CAP_DEG)])
    worst = float(np.nanmax(losses))
    names = observation.object_names
    everyone = np.ones(len(names), bool)
    events = _tag_runs(clip, shape_error, shape_counted, ASPECT_TAG, everyone, names, "shape_changed",
                       lambda name, frame, value: (f"{name}'s outline changes its proportions from frame {frame}: its axis "
                                                   f"ratio is off the context's by up to {value:.2f} nats"))
    events += _tag_runs(clip, turn_error, turn_counted, ANGLE_TAG_DEG, everyone, names, "rigidity_broken",
                        lambda name, frame, value: (f"{name} turns relative to the rest of its rigid body from frame "
                                                    f"{frame}: by up to {value:.0f} degrees against the context"))
    return MetricOutput(float(np.clip(1.0 - worst, 0.0, 1.0)), worst,
                        sorted(events, key=lambda event: (event.frame, event.tag, event.object)))
