"""Rigidity: a rigid object keeps its shape, and the parts of a rigid body keep their distances.

(a) Shape. For each rigid tracked object, the observed second moments and area are compared with
those of the ground truth's own segmentation mask (its largest connected component, as observe()
keeps), frame by frame: perspective and occlusion change both legitimately, so only the gap
observed - truth counts, taken relative to its median over the context frames (which removes the
colour keyer's constant bias). The shape gap is the log-Euclidean distance between the scale-free
covariances (covariance / sqrt(det), matrix log): it sees aspect and orientation, and a uniform
erosion of the outline (what H.264 does to small parts) leaves it nearly unchanged; the area gap
is |log area ratio|, which H.264 disturbs more, so it only enters the score, with a wider tolerance.
(b) Part distances. For a body of several tracked parts (ObjectInfo.body shared, e.g. the chair),
the distance between each pair of parts' observed centroids is compared with the truth's (the
seg centroids), again relative to the context frames; each part's error is the median over its
pairs (a part that moves on its own changes all of its pairs, the others one each).

Only frames after the context where the truth shows the object (common.truth_visible; for shapes,
at least WHOLE_FRAC of it) count; a
frame where the video does not show such an object costs the full loss (its shape cannot be
verified) but raises no tag. value = 1 - the worst object's (or part's) mean per-frame loss.
"""
from __future__ import annotations

import itertools
import warnings

import cv2
import numpy as np
from scipy.ndimage import median_filter

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, runs, truth_visible
from .observation import Observation

PIXEL_VARIANCE = 1.0 / 12.0
"""Variance of a unit pixel along each axis (px^2), added to the covariance so a one-pixel-thin mask stays
non-singular."""
SMOOTHING_FRAMES = 5
"""Per-frame errors are replaced by their running median over this many seen frames (robust to one-frame
codec flicker)."""
SHAPE_TOLERANCE = 0.3
"""Shape distances (nats) below this are observation noise and cost nothing: H.264 at crf 28 reaches 0.36
(95th percentile over objects) on the 13 families."""
AREA_TOLERANCE = 0.45
"""|log area ratio| below this costs nothing: H.264 erodes small and thin parts by up to 0.42 (95th percentile)."""
SHAPE_CAP = 0.6
"""An error of its tolerance + this costs the whole frame."""
WHOLE_FRAC = 0.8
"""Shapes are compared only where the truth shows at least this share of the object: a partly hidden
object's visible sliver changes shape legitimately and fast, and may split into pieces."""
SHAPE_TAG = 0.47
"""shape_changed fires when an object's shape distance stays above this for TAG_FRAMES seen frames in a row:
above the largest distance H.264 (0.45), blur (0.46) or noise (0.07) caused on 39 clips of 13 families."""
DISTANCE_TOLERANCE_PX = 1.5
"""Part-distance errors below this (px) are observation noise (centroids move by <= 0.85 px under H.264)."""
DISTANCE_CAP_PX = 4.0
"""A part-distance error of DISTANCE_TOLERANCE_PX + this costs the whole frame."""
DISTANCE_TAG_PX = 2.5
"""rigidity_broken fires when a part's median pair-distance error exceeds this for TAG_FRAMES frames in a row."""
TAG_FRAMES = 3


def mask_moments(seg: np.ndarray, object_id: int, frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Area (T,) in px and covariance (T, 3) mu20, mu11, mu02 (px^2) of the largest connected component
    of `seg == object_id` in every frame of seg (T, H, W), or only in the frames where the (T,) bool `frames`
    is True; NaN elsewhere and where the object has no pixel."""
    n_frames = seg.shape[0]
    area = np.full(n_frames, np.nan)
    covariance = np.full((n_frames, 3), np.nan)
    for t in range(n_frames) if frames is None else np.flatnonzero(frames):
        mask = (seg[t] == object_id).view(np.uint8)
        if not mask.any():
            continue
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        moments = cv2.moments((labels == largest).view(np.uint8), binaryImage=True)
        area[t] = moments["m00"]
        covariance[t] = moments["mu20"] / moments["m00"], moments["mu11"] / moments["m00"], moments["mu02"] / moments["m00"]
    return area, covariance


def log_shape(covariance: np.ndarray) -> np.ndarray:
    """(..., 3) the scale-free shape of (..., 3) second moments mu20, mu11, mu02: the matrix logarithm of
    the covariance divided by its determinant's square root, as its entries (l11, l12, l22), trace 0."""
    matrix = np.empty((*covariance.shape[:-1], 2, 2))
    matrix[..., 0, 0] = covariance[..., 0] + PIXEL_VARIANCE
    matrix[..., 0, 1] = matrix[..., 1, 0] = covariance[..., 1]
    matrix[..., 1, 1] = covariance[..., 2] + PIXEL_VARIANCE
    finite = np.isfinite(matrix).all(axis=(-1, -2))
    eigenvalues, eigenvectors = np.linalg.eigh(np.where(finite[..., None, None], matrix, np.eye(2)))
    log_eigenvalues = np.log(np.maximum(eigenvalues, PIXEL_VARIANCE))
    log_eigenvalues -= log_eigenvalues.mean(axis=-1, keepdims=True)
    logarithm = np.einsum("...ij,...j,...kj->...ik", eigenvectors, log_eigenvalues, eigenvectors)
    shape = np.stack([logarithm[..., 0, 0], logarithm[..., 0, 1], logarithm[..., 1, 1]], axis=-1)
    return np.where(finite[..., None], shape, np.nan)


def shape_distance(difference: np.ndarray) -> np.ndarray:
    """(...,) Frobenius norm / sqrt(2) of (..., 3) symmetric-matrix entries (l11, l12, l22): for a pure
    stretch it is the log ratio of the stretched to the unstretched axis (nats)."""
    return np.sqrt((difference[..., 0] ** 2 + 2 * difference[..., 1] ** 2 + difference[..., 2] ** 2) / 2)


def running_median(series: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(T,) running median over SMOOTHING_FRAMES of the seen entries of a (T,) series; NaN where not seen."""
    out = np.full(series.shape, np.nan)
    frames = np.flatnonzero(seen)
    if frames.size:
        out[frames] = median_filter(series[frames], size=min(SMOOTHING_FRAMES, frames.size), mode="mirror")
    return out


def relative_to_context(series: np.ndarray, valid: np.ndarray, n_context: int) -> np.ndarray:
    """(T, ...) series minus its median over the valid context frames (NaN everywhere when there is none)."""
    mask = valid[:n_context].reshape(n_context, *([1] * (series.ndim - 1)))
    context = np.where(mask, series[:n_context], np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        baseline = np.nanmedian(context, axis=0)
    return series - baseline


MIN_WIDTH_PX = 5.5
"""Objects narrower than this in the truth (minor-axis width sqrt(12 λ_min), median over the frames that
count) get no shape term: H.264 erodes a 4-5 px chair leg's outline by a whole pixel, which reads as
stretch (0.47-0.56 nats at crf 23). Their rigidity is read from part distances."""


def minor_width_px(covariance: np.ndarray) -> np.ndarray:
    """(T,) width in px of a uniform bar with these (T, 3) second moments mu20, mu11, mu02."""
    mu20, mu11, mu02 = covariance[:, 0], covariance[:, 1], covariance[:, 2]
    smallest = (mu20 + mu02) / 2 - np.sqrt(((mu20 - mu02) / 2) ** 2 + mu11 ** 2)
    return np.sqrt(12.0 * np.maximum(smallest, 0.0))


def shape_errors(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, K) shape distance and (T, K) |log area ratio| (nats, running medians, NaN where not both seen)
    of every rigid tracked object at least MIN_WIDTH_PX wide, observed vs truth and relative to the context; and the (T, K) mask of
    the frames that count (after the context, truth shows at least WHOLE_FRAC of the object, and the
    context gives a baseline)."""
    n_context = clip.spec.n_context
    shown = truth_visible(clip, observation) & (clip.track_matrix("visible_frac") >= WHOLE_FRAC)
    shape = np.full(shown.shape, np.nan)
    area = np.full(shown.shape, np.nan)
    counted = np.zeros(shown.shape, bool)
    for k, obj in enumerate(clip.tracked_objects):
        if not obj.rigid:
            continue
        both = shown[:, k] & observation.detected[:, k]
        if not both[:n_context].any():
            continue
        # Only the frames where the truth shows the object are read below (its width; `both` is a subset).
        true_area, true_covariance = mask_moments(clip.seg, obj.id, shown[:, k])
        if np.nanmedian(minor_width_px(true_covariance)[shown[:, k]]) < MIN_WIDTH_PX:
            continue
        with np.errstate(all="ignore"):
            area_ratio = np.log(observation.area[:, k] / true_area)
        shape_gap = log_shape(observation.covariance[:, k]) - log_shape(true_covariance)
        area_change = np.abs(relative_to_context(area_ratio, both, n_context))
        shape_change = shape_distance(relative_to_context(shape_gap, both, n_context))
        scored = both & evaluated_frames(clip)
        shape[:, k] = running_median(shape_change, scored)
        area[:, k] = running_median(area_change, scored)
        counted[:, k] = shown[:, k] & evaluated_frames(clip)
    return shape, area, counted


def part_distance_errors(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) median over each part's pairs of |observed - true| centroid distance change (px, relative to
    the context), and the (T, K) mask of counted frames; only parts of multi-part rigid bodies."""
    objects = clip.tracked_objects
    n_context = clip.spec.n_context
    shown = truth_visible(clip, observation)
    true_u, true_v = clip.track_matrix("seg_u"), clip.track_matrix("seg_v")
    per_part: dict[int, list[np.ndarray]] = {}
    counted = np.zeros(shown.shape, bool)
    bodies: dict[str, list[int]] = {}
    for k, obj in enumerate(objects):
        if obj.body and obj.rigid:
            bodies.setdefault(obj.body, []).append(k)
    for members in bodies.values():
        if len(members) < 2:
            continue
        for a, b in itertools.combinations(members, 2):
            both = shown[:, a] & shown[:, b] & observation.detected[:, a] & observation.detected[:, b]
            if not both[:n_context].any():
                continue
            observed = np.hypot(observation.u[:, a] - observation.u[:, b], observation.v[:, a] - observation.v[:, b])
            true = np.hypot(true_u[:, a] - true_u[:, b], true_v[:, a] - true_v[:, b])
            change = np.abs(relative_to_context(observed - true, both, n_context))
            pair = np.where(both, change, np.nan)
            for k in (a, b):
                per_part.setdefault(k, []).append(pair)
                counted[:, k] |= shown[:, a] & shown[:, b]
    error = np.full(shown.shape, np.nan)
    for k, pairs in per_part.items():
        stacked = np.stack(pairs)
        has_any = np.isfinite(stacked).any(axis=0)
        median = np.full(stacked.shape[1], np.nan)
        median[has_any] = np.nanmedian(stacked[:, has_any], axis=0)
        error[:, k] = running_median(median, has_any & evaluated_frames(clip))
    return error, counted & evaluated_frames(clip)[:, None]


def frame_losses(error: np.ndarray, counted: np.ndarray, tolerance: float, cap: float) -> np.ndarray:
    """(K,) mean over counted frames of min(max(error - tolerance, 0) / cap, 1); an unseen frame costs 1;
    NaN for objects with no counted frame."""
    loss = np.where(np.isfinite(error), np.clip((np.nan_to_num(error) - tolerance) / cap, 0.0, 1.0), 1.0)
    total, frames = np.where(counted, loss, 0.0).sum(axis=0), counted.sum(axis=0)
    return np.where(frames > 0, total / np.maximum(frames, 1), np.nan)


def _tag_runs(clip: Clip, error: np.ndarray, counted: np.ndarray, threshold: float, eligible: np.ndarray,
              names: list[str], tag: str, describe, truth_hidden: np.ndarray | None = None) -> list[FailureEvent]:
    """One event per object: its first run of >= TAG_FRAMES counted frames with error above threshold (frames
    where it is not seen neither break nor extend a run). Frames of the (T, K) truth_hidden mask, where the
    ground truth hides the object (the aligned metric's frames that do not count), break a run: a crowd
    member's outline bled by H.264 in the frame before it walked behind another and in the two after it
    came out made no stretch of 3 frames."""
    events = []
    whole_clip = [(0, counted.shape[0])]
    for k, name in enumerate(names):
        if not eligible[k]:
            continue
        for first, end in (runs(~truth_hidden[:, k]) if truth_hidden is not None else whole_clip):
            frames = first + np.flatnonzero(counted[first:end, k] & np.isfinite(error[first:end, k]))
            over = error[frames, k] > threshold
            tagged = [(start, stop) for start, stop in runs(over) if stop - start >= TAG_FRAMES]
            if tagged:
                start, stop = tagged[0]
                worst = float(np.max(error[frames[start:stop], k]))
                events.append(FailureEvent(clip.clip_id, tag, int(frames[start]), name,
                                           float(min(1.0, worst / (2 * threshold))), describe(name, int(frames[start]), worst)))
                break
    return events


@register_metric("rigidity", principle="rigidity", unit="worst object's mean shape or part-distance loss",
                 needs_alignment=True, tags=("shape_changed", "rigidity_broken"))
def rigidity(clip: Clip, observation: Observation) -> MetricOutput:
    """Rigid objects keep their shape (area, aspect vs the truth's) and rigid bodies their part distances."""
    shape_error, area_error, shape_counted = shape_errors(clip, observation)
    distance_error, distance_counted = part_distance_errors(clip, observation)
    if not shape_counted.any() and not distance_counted.any():
        return MetricOutput(np.nan, np.nan, reason="no rigid object is visible in the context and after it in the ground truth")
    shape_loss = np.fmax(frame_losses(shape_error, shape_counted, SHAPE_TOLERANCE, SHAPE_CAP),
                         frame_losses(area_error, shape_counted, AREA_TOLERANCE, SHAPE_CAP))
    losses = np.concatenate([shape_loss, frame_losses(distance_error, distance_counted, DISTANCE_TOLERANCE_PX,
                                                      DISTANCE_CAP_PX)])
    worst = float(np.nanmax(losses))
    names = observation.object_names
    events = _tag_runs(
        clip, shape_error, shape_counted, SHAPE_TAG, np.ones(len(names), bool), names,
        "shape_changed",
        lambda name, frame, worst_error: (f"{name} changes shape from frame {frame}: its outline is stretched by up to "
                                          f"{worst_error:.2f} nats (log axis ratio) against the ground truth's"),
        truth_hidden=~shape_counted)
    events += _tag_runs(
        clip, distance_error, distance_counted, DISTANCE_TAG_PX, np.ones(len(names), bool), names, "rigidity_broken",
        lambda name, frame, worst_error: (f"{name} moves relative to the other parts of its rigid body from frame "
                                          f"{frame}: part distances off by up to {worst_error:.1f} px"),
        truth_hidden=~distance_counted)
    return MetricOutput(float(np.clip(1.0 - worst, 0.0, 1.0)), worst,
                        sorted(events, key=lambda event: (event.frame, event.tag, event.object)))
