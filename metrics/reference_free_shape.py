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
(c) Parts at rest. While a body of several rigid parts is at rest (the median step of its parts seen in two
    frames in a row is under REST_PX), none of its parts may move: each part's drift from where it was when
    the rest began, the largest displacement of its centroid or (for an elongated part) of either end of its
    principal axis, in px. A tumbling chair turns out of the image plane and changes what (a) and (b) see
    legitimately; a chair lying still changes nothing, so a leg or the back that swings while the rest of the
    chair lies still is caught however the chair is seen.
Perspective (parts turning out of the image plane) changes (a) and (b) legitimately and slowly; the tolerances
below are measured on the train split's clean and H.264 clips.
"""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import MetricOutput, register_metric
from .common import evaluated_frames, runs
from .observation import Observation
from .reference_free_common import REST_PX, seen_whole, touching_another
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
DRIFT_TOLERANCE_PX = 1.5
"""A part's drift from its place at the start of its body's rest below this (px) costs nothing: clean and H.264
train clips drift up to 2.1 px (a part's outline under lossy coding), bent ones 3.3-14 px (20 chair train seeds,
the bend at moderate severity)."""
DRIFT_CAP_PX = 3.0
"""A drift of its tolerance + this costs the whole frame."""
DRIFT_TAG_PX = 2.75
"""rigidity_broken fires when a part's drift stays above this for TAG_FRAMES frames of its body's rest in a row."""
MIN_RESTING_PARTS = 3
"""A body is judged at rest only when at least this many of its parts are seen in both frames."""
BRIDGE_PX = 1.0
"""One step between two rest steps whose median part step is under this (px) is a twitch, and the rest goes on:
a part squashed or bent while the chair lies still moves its neighbours' outlines by 0.5-0.8 px in that frame,
and a rest restarted there measures the part against its changed self (train: chair stretch AUROC 0.65 -> 1.0,
clean and H.264 unchanged)."""
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
    for members in _rigid_bodies(clip).values():
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


def _axis_ends(observation: Observation, t: int, k: int) -> np.ndarray:
    """(2, 2) the two ends (u, v) of object k's principal axis at frame t: centroid -+ sqrt(3 lambda_max) along
    the major axis (axis_angle_deg; the half-length of a uniform bar whose variance along it is lambda_max)."""
    mu20, mu11, mu02 = observation.covariance[t, k]
    largest = (mu20 + mu02) / 2 + np.sqrt(((mu20 - mu02) / 2) ** 2 + mu11 ** 2)
    angle = np.radians(axis_angle_deg(observation.covariance[t, k]))
    half = np.sqrt(3.0 * max(largest, 0.0)) * np.array([np.cos(angle), np.sin(angle)])
    centre = np.array([observation.u[t, k], observation.v[t, k]])
    return np.stack([centre - half, centre + half])


def part_drift(observation: Observation, anchor: int, t: int, k: int, elongated: np.ndarray) -> float:
    """How far (px) part k moved from frame `anchor` to frame t: its centroid's displacement, or, when it is
    elongated in both frames, the larger displacement of its axis ends if that is more (ends paired the way that
    moves them least: an axis has no direction)."""
    drift = float(np.hypot(observation.u[t, k] - observation.u[anchor, k], observation.v[t, k] - observation.v[anchor, k]))
    if elongated[anchor, k] and elongated[t, k]:
        before, after = _axis_ends(observation, anchor, k), _axis_ends(observation, t, k)
        ends = min(np.linalg.norm(after - before, axis=1).max(), np.linalg.norm(after[::-1] - before, axis=1).max())
        drift = max(drift, float(ends))
    return drift


def _rest_errors(clip: Clip, observation: Observation, change) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) running median of change(anchor, t, k), how much rigid-body part k changed from frame `anchor`, where
    its body's rest began, to frame t of that rest after the context (NaN elsewhere), and (T, K) bool frames that
    count. A body is at rest from frame t - 1 to t when the median step of its parts seen in both is under REST_PX
    (at least MIN_RESTING_PARTS of them), or when one step under BRIDGE_PX lies between two such steps; a rest is a
    run of such steps, and begins at the frame before its first step (at the first frame after the context, for a
    rest that begins in the context)."""
    n_frames = observation.n_frames
    error = np.full(observation.detected.shape, np.nan)
    counted = np.zeros(observation.detected.shape, bool)
    after = evaluated_frames(clip)
    for members in _rigid_bodies(clip).values():
        if len(members) < 2:
            continue
        detected = observation.detected[:, members]
        steps = np.hypot(np.diff(observation.u[:, members], axis=0), np.diff(observation.v[:, members], axis=0))
        median_step = np.full(n_frames - 1, np.inf)  # step t -> t + 1
        for t in range(n_frames - 1):
            both = detected[t] & detected[t + 1]
            if both.sum() >= MIN_RESTING_PARTS:
                median_step[t] = np.median(steps[t][both])
        at_rest = median_step < REST_PX
        at_rest[1:-1] |= at_rest[:-2] & at_rest[2:] & (median_step[1:-1] < BRIDGE_PX)  # a twitch
        changed = np.full((n_frames, len(members)), np.nan)
        for first, end in runs(at_rest):
            # The rest runs from frame `first` to frame `end`; generated frames are compared with generated ones (a
            # video blurred or coded differently from its context changes every outline where the context ends).
            anchor = max(first, clip.spec.n_context)
            for i, k in enumerate(members):
                if not observation.detected[anchor, k]:
                    continue
                for t in range(first + 1, end + 1):
                    if observation.detected[t, k] and after[t]:
                        changed[t, i] = change(anchor, t, k)
        for i, k in enumerate(members):
            seen = np.isfinite(changed[:, i])
            error[:, k] = running_median(changed[:, i], seen)
            counted[:, k] = seen
    return error, counted


def rest_drift_errors(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
    """_rest_errors of each rigid-body part's drift (px, part_drift) while its body lies still."""
    elongated = aspect(observation.covariance) >= MIN_ELONGATION
    return _rest_errors(clip, observation, lambda anchor, t, k: part_drift(observation, anchor, t, k, elongated))


def rest_aspect_errors(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
    """_rest_errors of each rigid-body part's aspect change (nats, |aspect(t) - aspect(anchor)|) while its body lies
    still: a part lying still keeps its outline whatever its shape or the view, so a chair seat or leg squashed
    while the chair lies on the floor changes shape (train chairs: 0.4-0.8 nats at the moderate stretch)."""
    outline = aspect(observation.covariance)
    return _rest_errors(clip, observation, lambda anchor, t, k: float(abs(outline[t, k] - outline[anchor, k])))


def _rigid_bodies(clip: Clip) -> dict[str, list[int]]:
    """{body name: indices of its tracked parts} for bodies whose parts never move against each other."""
    bodies: dict[str, list[int]] = {}
    for k, obj in enumerate(clip.tracked_objects):
        if obj.body and obj.rigid and obj.role in RIGID_BODY_ROLES:
            bodies.setdefault(obj.body, []).append(k)
    return bodies


@register_metric("rigidity_free", principle="rigidity", unit="worst object's mean aspect or part-angle loss",
                 needs_alignment=False, tags=("shape_changed", "rigidity_broken"))
def rigidity_free(clip: Clip, observation: Observation) -> MetricOutput:
    """Rigid objects keep their outline's aspect, and rigid bodies the angles between their parts, as in the context."""
    whole = seen_whole(observation, clip.spec.resolution)
    shape_error, shape_counted = aspect_errors(clip, observation, whole & ~touching_another(observation))
    turn_error, turn_counted = angle_errors(clip, observation, whole)
    drift_error, drift_counted = rest_drift_errors(clip, observation)
    resting_error, resting_counted = rest_aspect_errors(clip, observation)
    if not shape_counted.any() and not turn_counted.any() and not drift_counted.any():
        return MetricOutput(np.nan, np.nan, reason="no rigid object is seen whole in the context and after it")
    losses = np.concatenate([frame_losses(shape_error, shape_counted, ASPECT_TOLERANCE, ASPECT_CAP),
                             frame_losses(turn_error, turn_counted, ANGLE_TOLERANCE_DEG, ANGLE_CAP_DEG),
                             frame_losses(drift_error, drift_counted, DRIFT_TOLERANCE_PX, DRIFT_CAP_PX),
                             frame_losses(resting_error, resting_counted, ASPECT_TOLERANCE, ASPECT_CAP)])
    worst = float(np.nanmax(losses))
    names = observation.object_names
    everyone = np.ones(len(names), bool)
    events = _tag_runs(clip, shape_error, shape_counted, ASPECT_TAG, everyone, names, "shape_changed",
                       lambda name, frame, value: (f"{name}'s outline changes its proportions from frame {frame}: its axis "
                                                   f"ratio is off the context's by up to {value:.2f} nats"))
    events += _tag_runs(clip, turn_error, turn_counted, ANGLE_TAG_DEG, everyone, names, "rigidity_broken",
                        lambda name, frame, value: (f"{name} turns relative to the rest of its rigid body from frame "
                                                    f"{frame}: by up to {value:.0f} degrees against the context"))
    drifts = _tag_runs(clip, drift_error, drift_counted, DRIFT_TAG_PX, everyone, names, "rigidity_broken",
                       lambda name, frame, value: (f"{name} moves by up to {value:.1f} px from frame {frame} while the rest "
                                                   f"of its rigid body lies still"))
    events += _tag_runs(clip, resting_error, resting_counted, ASPECT_TAG, everyone, names, "shape_changed",
                        lambda name, frame, value: (f"{name}'s outline changes its proportions from frame {frame} while "
                                                    f"its rigid body lies still: by up to {value:.2f} nats"))
    turned = {event.object for event in events if event.tag == "rigidity_broken"}
    events += [event for event in drifts if event.object not in turned]
    return MetricOutput(float(np.clip(1.0 - worst, 0.0, 1.0)), worst,
                        sorted(events, key=lambda event: (event.frame, event.tag, event.object)))
