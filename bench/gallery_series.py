"""Per-frame series of the quantity each failure tag thresholds, for the gallery's small plot.

One function per failure tag (the SERIES registry) recomputes from the clip and the observation the
per-frame quantity its metric compares with a threshold, and the frames the metric counts beyond it.
Where a metric module has a helper returning the per-frame quantity, it is called; otherwise the
quantity is computed here with the metric module's own constants (imported, never copied). A tag
without an entry here (a plugin's metric) gets the gallery's displacement plot instead (bench.gallery).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from metrics import Observation
from metrics.common import evaluated_frames, frames_or_reason, image_diagonal, runs, truth_hidden, truth_visible
from metrics.direction import COS_AGREE, MIN_SPEED_SHARE, agreement, belt_motion, object_motion, reversal_evidence
from metrics.dynamics import WRONG_GRAVITY_RELATIVE, fitted_acceleration, free_flight_arcs
from metrics.joint_limits import BADGE, DEFAULT_LIMIT_DEG, FACE, HEAD, MARGIN_DEG, TORSO, head_vs_torso_yaw_deg
from metrics.occlusion import MISPLACED_DIAG, REEMERGENCE_GRACE_FRAMES, observed_counts, reemergences
from metrics.physics_iq import (
    CUT_GREY,
    CUT_SHARE,
    SPURIOUS_FREE,
    blurred_grey,
    cut_frames,
    kernel_px,
    motion_masks,
    scored_window,
    with_ghosts,
)
from metrics.rigidity import (
    DISTANCE_TAG_PX,
    DISTANCE_TOLERANCE_PX,
    SHAPE_TAG,
    SHAPE_TOLERANCE,
    part_distance_errors,
    shape_errors,
)
from metrics.trajectory import DIVERGED_DIAG, MAX_ERROR_DIAG, displacement_px
from simulators import Clip, Registry


@dataclass(frozen=True)
class MetricSeries:
    """What the gallery plots for one failure event.

    quantity: the y axis, with its unit. source: the metric code the numbers come from.
    x: (N,) frame of each value. lines: label -> (N,) values, NaN where undefined; the first is the
    quantity the metric thresholds. flagged: (N,) bool, the values the metric counts beyond its
    threshold for this event's object. thresholds: label -> y of a tag threshold (drawn red, dashed);
    levels: label -> y of a reference line that is no tag threshold (grey, dotted). band: (label,
    low (N,), high (N,)), the range the truth allows at each x, or None. marks: label -> (N,) bool,
    values marked along the top (where the video does not show the object, ...). spans: label ->
    [start, end) frame ranges shaded (where the truth hides the object, ...).
    """

    quantity: str
    source: str
    x: np.ndarray
    lines: dict[str, np.ndarray]
    flagged: np.ndarray
    thresholds: dict[str, float] = field(default_factory=dict)
    levels: dict[str, float] = field(default_factory=dict)
    band: tuple[str, np.ndarray, np.ndarray] | None = None
    marks: dict[str, np.ndarray] = field(default_factory=dict)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


SeriesFn = Callable[[Clip, Observation, str, str], "MetricSeries | None"]
"""(clip, observation of the generated video, tag, the event's object name or '') -> the series, or None
when the series cannot be read for that object (not tracked, no free flight, no frames kept)."""

SERIES: Registry[SeriesFn] = Registry("failure-tag series")


def register_series(*tags: str) -> Callable[[SeriesFn], SeriesFn]:
    """Decorator registering one series function under each of `tags` (it receives the tag)."""

    def decorate(fn: SeriesFn) -> SeriesFn:
        for tag in tags:
            SERIES.add(tag, fn)
        return fn

    return decorate


def series_for(tag: str, clip: Clip, observation: Observation, object_name: str) -> MetricSeries | None:
    """The series of `tag` for an event on `object_name`; None when the tag has none (or not for this object)."""
    return SERIES.get(tag)(clip, observation, tag, object_name) if tag in SERIES else None


def _index(observation: Observation, name: str) -> int | None:
    names = list(observation.object_names)
    return names.index(name) if name in names else None


def _frames(clip: Clip) -> np.ndarray:
    return np.arange(clip.spec.n_frames)


# ---------------------------------------------------------------------------------- trajectory
@register_series("trajectory_diverged")
def trajectory_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Distance (px) of the observed centroid from the true one (from the true centre's projection where the
    truth hides the object but the video shows it), over the frames metrics.trajectory tags on."""
    k = _index(observation, name)
    if k is None:
        return None
    diagonal = image_diagonal(clip)
    distance, scored = displacement_px(clip, observation)
    hidden_seen = ~truth_visible(clip, observation) & observation.detected & evaluated_frames(clip)[:, None]
    to_centre = np.hypot(observation.u - clip.track_matrix("u"), observation.v - clip.track_matrix("v"))
    off_by = np.where(hidden_seen, np.minimum(to_centre, MAX_ERROR_DIAG * diagonal), distance)[:, k]
    counted = (scored[:, k] | hidden_seen[:, k]) & observation.detected[:, k]
    value = np.where(counted, off_by, np.nan)
    threshold = DIVERGED_DIAG * diagonal
    return MetricSeries(
        f"{name}: |observed - true| (px)", "metrics.trajectory.displacement_px", _frames(clip),
        {"distance": value}, counted & (np.nan_to_num(value) > threshold),
        thresholds={f"{tag} ({DIVERGED_DIAG:g} diagonal)": threshold},
        marks={"lost by the video": scored[:, k] & ~observation.detected[:, k]})


# ----------------------------------------------------------------------------------- permanence
COUNT_BAND_PAD = 0.25
"""The truth's count range is drawn this much wider on each side, so a single allowed count shows as a band."""


@register_series("count_changed", "object_vanished", "object_appeared")
def count_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries:
    """Objects the video shows per frame (metrics.occlusion.observed_counts) against the range the truth shows
    (clearly visible .. any pixel). Flagged: for count_changed the frames off that range; for object_vanished
    the event object's frames lost while the truth shows it clearly; for object_appeared its frames seen while
    the truth hides it completely, or for an unknown object the frames with an unmatched blob."""
    after_context = evaluated_frames(clip)
    shown = observed_counts(observation).astype(float)
    visible = truth_visible(clip, observation)
    fewest, most = visible.sum(axis=1), (clip.track_matrix("visible_px") > 0).sum(axis=1)
    off_range = after_context & ((shown < fewest) | (shown > most))
    k = _index(observation, name)
    spans = {}
    if k is not None:
        lost = visible[:, k] & ~observation.detected[:, k] & after_context
        seen_hidden = truth_hidden(clip)[:, k] & observation.detected[:, k] & after_context
        marks = {f"{name} lost": lost, f"{name} seen, truth hides it": seen_hidden}
        spans = {f"truth hides {name}": runs(truth_hidden(clip)[:, k])}
        flagged = {"object_vanished": lost, "object_appeared": seen_hidden}.get(tag, off_range)
    else:
        blobs = np.zeros(clip.spec.n_frames, bool)
        if len(observation.blobs):
            blobs[observation.blobs["t"].to_numpy(int)] = True
        marks = {"unknown object seen": blobs & after_context}
        flagged = blobs & after_context if tag == "object_appeared" else off_range
    return MetricSeries(
        "objects in view", "metrics.occlusion.observed_counts", _frames(clip), {"seen in the video": shown},
        flagged, band=("truth: clearly visible .. any pixel", fewest - COUNT_BAND_PAD, most + COUNT_BAND_PAD),
        marks=marks, spans=spans)


@register_series("reemergence_missed", "reemergence_misplaced")
def reemergence_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Distance (px) of the observed centroid from the true one around the object's re-emergences
    (metrics.occlusion.reemergences), against MISPLACED_DIAG of the diagonal; flagged: the grace-window frames
    where the video does not show it (missed) or shows it too far off (misplaced)."""
    k = _index(observation, name)
    if k is None:
        return None
    detected = observation.detected[:, k]
    distance = np.hypot(observation.u[:, k] - clip.track_matrix("seg_u")[:, k],
                        observation.v[:, k] - clip.track_matrix("seg_v")[:, k])
    threshold = MISPLACED_DIAG * image_diagonal(clip)
    windows = [(frame, min(clip.spec.n_frames, frame + REEMERGENCE_GRACE_FRAMES + 1))
               for index, frame in reemergences(clip, observation) if index == k]
    in_window = np.zeros(clip.spec.n_frames, bool)
    for start, end in windows:
        in_window[start:end] = True
    flagged = in_window & (~detected if tag == "reemergence_missed" else detected & (np.nan_to_num(distance) > threshold))
    return MetricSeries(
        f"{name}: |observed - true| (px)", "metrics.occlusion.reemergences", _frames(clip), {"distance": distance},
        flagged, thresholds={f"reemergence_misplaced ({MISPLACED_DIAG:g} diagonal)": threshold},
        marks={"not shown by the video": in_window & ~detected},
        spans={f"truth hides {name}": runs(truth_hidden(clip)[:, k]),
               f"grace window ({REEMERGENCE_GRACE_FRAMES} frames)": windows})


# ------------------------------------------------------------------------------------- dynamics
def _second_differences(v: np.ndarray, arcs: list[np.ndarray]) -> np.ndarray:
    """(T,) v[t + 1] - 2 v[t] + v[t - 1] (px/frame^2) where t - 1, t, t + 1 lie in one arc; NaN elsewhere."""
    out = np.full(v.shape, np.nan)
    for arc in arcs:
        inner = arc[1:-1]
        out[inner] = v[inner + 1] - 2 * v[inner] + v[inner - 1]
    return out


@register_series("wrong_gravity")
def gravity_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Vertical acceleration (px/frame^2, + down) over the object's free-flight arcs: per frame the second
    difference of the observed and true centroid, and the parabola fits metrics.dynamics compares
    (fitted_acceleration); the band is the true fit +- WRONG_GRAVITY_RELATIVE, beyond which the tag fires."""
    k = _index(observation, name)
    if k is None:
        return None
    arcs = free_flight_arcs(clip, k)
    true_v = clip.track_matrix("seg_v")[:, k]
    observed_v = np.where(observation.detected[:, k], observation.v[:, k], np.nan)
    true_fit, _ = fitted_acceleration(arcs, true_v)
    observed_fit, _ = fitted_acceleration(arcs, observed_v)
    if not arcs or np.isnan(true_fit):
        return None
    observed = _second_differences(observed_v, arcs)
    low, high = sorted((true_fit * (1 - WRONG_GRAVITY_RELATIVE), true_fit * (1 + WRONG_GRAVITY_RELATIVE)))
    in_flight = np.zeros(clip.spec.n_frames, bool)
    in_flight[np.concatenate(arcs)] = True
    levels = {"truth's fit": true_fit}
    if np.isfinite(observed_fit):
        levels["video's fit"] = observed_fit
    return MetricSeries(
        f"{name}: vertical acceleration (px/frame²)", "metrics.dynamics.fitted_acceleration", _frames(clip),
        {"video": observed, "truth": _second_differences(true_v, arcs)},
        np.isfinite(observed) & ((observed < low) | (observed > high)), levels=levels,
        band=(f"{tag} outside truth ± {WRONG_GRAVITY_RELATIVE:.0%}", np.full(clip.spec.n_frames, low),
              np.full(clip.spec.n_frames, high)),
        marks={"lost in flight": in_flight & ~observation.detected[:, k]},
        spans={"free flight": runs(in_flight)})


# ------------------------------------------------------------------------------------ rigidity
@register_series("shape_changed")
def shape_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Shape distance (nats, running median) of the object's outline against the truth's, relative to the
    context (metrics.rigidity.shape_errors); the tag fires above SHAPE_TAG."""
    k = _index(observation, name)
    if k is None:
        return None
    shape, _, counted = shape_errors(clip, observation)
    value = np.where(counted[:, k], shape[:, k], np.nan)
    return MetricSeries(
        f"{name}: shape distance (nats)", "metrics.rigidity.shape_errors", _frames(clip), {"shape distance": value},
        counted[:, k] & (np.nan_to_num(value) > SHAPE_TAG), thresholds={f"{tag} ({SHAPE_TAG:g})": SHAPE_TAG},
        levels={f"free tolerance ({SHAPE_TOLERANCE:g})": SHAPE_TOLERANCE},
        marks={"not seen (full loss, no tag)": counted[:, k] & ~observation.detected[:, k]})


@register_series("rigidity_broken")
def part_distance_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Median error (px, running median) of the part's distances to the other parts of its rigid body,
    relative to the context (metrics.rigidity.part_distance_errors); the tag fires above DISTANCE_TAG_PX."""
    k = _index(observation, name)
    if k is None:
        return None
    error, counted = part_distance_errors(clip, observation)
    value = np.where(counted[:, k], error[:, k], np.nan)
    return MetricSeries(
        f"{name}: part distance error (px)", "metrics.rigidity.part_distance_errors", _frames(clip),
        {"distance error": value}, counted[:, k] & (np.nan_to_num(value) > DISTANCE_TAG_PX),
        thresholds={f"{tag} ({DISTANCE_TAG_PX:g} px)": DISTANCE_TAG_PX},
        levels={f"free tolerance ({DISTANCE_TOLERANCE_PX:g} px)": DISTANCE_TOLERANCE_PX},
        marks={"not seen (full loss, no tag)": counted[:, k] & ~observation.detected[:, k]})


# ----------------------------------------------------------------------------------- direction
@register_series("reversed_motion")
def direction_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Agreement of the observed with the true motion between frames t - 1 and t (plotted at t): the cosine
    of their angle and the observed speed along the true direction over the true speed (flow, or the band
    shift for the treadmill belt: metrics.direction.object_motion / belt_motion); reversed where the cosine
    is at most -COS_AGREE and the share at most -MIN_SPEED_SHARE (metrics.direction.agreement)."""
    if observation.frames is None:
        return None
    if name == "belt":
        motion = belt_motion(clip, observation)
        if motion is None:
            return None
        true, observed = motion
    else:
        k = _index(observation, name)
        if k is None:
            return None
        true, observed = (array[:, k] for array in object_motion(clip, observation))
    scored, _, reversed_ = agreement(true, observed)
    speed = np.hypot(true[:, 0], true[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        along = (observed * true).sum(axis=1) / speed
        cosine = along / np.hypot(observed[:, 0], observed[:, 1])
    cosine, share = np.where(scored, cosine, np.nan), np.where(scored, np.clip(along / speed, -1.5, 1.5), np.nan)
    return MetricSeries(
        f"{name}: observed vs true motion", "metrics.direction.agreement", np.arange(1, clip.spec.n_frames),
        {"cosine of the angle": cosine, "speed share along (clipped ±1.5)": share}, reversed_,
        thresholds={f"{tag}: cosine ≤ {-COS_AGREE:g}": -COS_AGREE, f"and share ≤ {-MIN_SPEED_SHARE:g}": -MIN_SPEED_SHARE},
        levels={"agree": COS_AGREE}, marks={"not observed": scored & np.isnan(cosine)})


@register_series("time_reversed")
def time_direction_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Evidence in [-1, 1] that the video's tail segment from frame s on plays the truth forwards (+1) or
    backwards (-1), per segment start s (metrics.direction.reversal_evidence); the tag fires at -1."""
    if observation.frames is None:
        return None
    found = reversal_evidence(clip, observation.frames)
    if found is None or found[0].size == 0:
        return None
    starts, evidence, _ = found
    return MetricSeries(
        "evidence of the tail from frame x on (+1 forwards)", "metrics.direction.reversal_evidence", starts,
        {"evidence": evidence}, evidence <= -1.0, thresholds={f"{tag} (-1)": -1.0}, levels={"undecided": 0.0})


# -------------------------------------------------------------------------------- joint limits
@register_series("impossible_rotation")
def rotation_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """|head-vs-torso yaw| (degrees) read from the face and chest markers
    (metrics.joint_limits.head_vs_torso_yaw_deg), a lower bound where the face is hidden; the tag fires
    beyond the neck's limit + MARGIN_DEG."""
    if not all(part in observation.object_names for part in (HEAD, TORSO, FACE, BADGE)):
        return None
    yaw, hidden, readable = head_vs_torso_yaw_deg(observation)
    limit = float(clip.events.get("neck_yaw_limit_deg", DEFAULT_LIMIT_DEG))
    allowed = limit + MARGIN_DEG
    return MetricSeries(
        "head vs torso yaw (degrees)", "metrics.joint_limits.head_vs_torso_yaw_deg", _frames(clip), {"yaw": yaw},
        evaluated_frames(clip) & readable & (np.nan_to_num(yaw) > allowed),
        thresholds={f"{tag}: limit + {MARGIN_DEG:g}": allowed}, levels={f"neck limit {limit:g}": limit},
        marks={"face hidden (lower bound)": hidden, "unreadable": evaluated_frames(clip) & ~readable})


# ---------------------------------------------------------------------------------- physics-iq
@register_series("implausible_motion")
def motion_series(clip: Clip, observation: Observation, tag: str, name: str) -> MetricSeries | None:
    """Over Physics-IQ's scored window: the share of the truth's still pixels that change by more than
    CUT_GREY blurred grey levels from the frame before (a cut above CUT_SHARE, metrics.physics_iq.cut_frames),
    and the share of them that have moved in the video's motion masks so far, cut frames and their ghosts
    left out (spurious motion, tagged above SPURIOUS_FREE at the end)."""
    frames, _ = frames_or_reason(clip, observation)
    if frames is None:
        return None
    window, kernel = scored_window(clip.spec), kernel_px(clip.spec.resolution)
    still = ~motion_masks(blurred_grey(clip.video, kernel), kernel)[window].any(axis=0)
    if not still.any():
        return None
    grey = blurred_grey(frames, kernel)
    steps = grey[window.start - 1:window.stop].astype(np.int16)
    changed = (np.abs(steps[1:] - steps[:-1])[:, still] > CUT_GREY).mean(axis=1)
    cuts = cut_frames(grey, still, window)
    kept = motion_masks(grey, kernel)[window] & ~with_ghosts(cuts)[:, None, None]
    moved = np.logical_or.accumulate(kept & still, axis=0)[:, still].mean(axis=1)
    return MetricSeries(
        "share of the truth's still pixels", "metrics.physics_iq.cut_frames / mask_scores",
        np.arange(window.start, window.stop), {"changed since the frame before": changed, "moved so far": moved},
        cuts | (moved > SPURIOUS_FREE), thresholds={f"cut ({CUT_SHARE:g})": CUT_SHARE,
                                                    f"spurious motion ({SPURIOUS_FREE:g})": SPURIOUS_FREE})
