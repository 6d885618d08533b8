"""Trajectory consistency: how far the observed objects are from where physics puts them."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, image_diagonal, runs, truth_visible
from .observation import Observation

MAX_ERROR_DIAG = 0.25
"""Displacements are capped at this share of the image diagonal; a lost object costs the cap."""
TOLERANCE_DIAG = 0.011
"""Errors below max(1 px, this share of the diagonal) are observation noise and cost nothing."""
DIVERGED_DIAG = 0.1
"""trajectory_diverged fires when an object is this far off for DIVERGED_FRAMES frames in a row."""
DIVERGED_FRAMES = 2


def displacement_px(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) distance in px between observed and true visible centroids, capped; and the (T, K) mask of
    scored entries (after the context, object clearly visible in the truth). Lost objects cost the cap."""
    cap = MAX_ERROR_DIAG * image_diagonal(clip)
    scored = truth_visible(clip, observation) & evaluated_frames(clip)[:, None]
    true_u, true_v = clip.track_matrix("seg_u"), clip.track_matrix("seg_v")
    distance = np.hypot(observation.u - true_u, observation.v - true_v)
    distance = np.where(observation.detected, np.minimum(distance, cap), cap)
    return np.where(scored, distance, np.nan), scored


@register_metric("trajectory", principle="trajectory", unit="fraction of image diagonal", needs_alignment=True,
                 tags=("trajectory_diverged",))
def trajectory_consistency(clip: Clip, observation: Observation) -> MetricOutput:
    """Average and final displacement error of the object centroids after the context."""
    diagonal = image_diagonal(clip)
    cap = MAX_ERROR_DIAG * diagonal
    tolerance = max(1.0, TOLERANCE_DIAG * diagonal)
    distance, scored = displacement_px(clip, observation)
    if not scored.any():
        return MetricOutput(np.nan, np.nan, reason="no object is visible after the context in the ground truth")
    excess = np.maximum(distance - tolerance, 0.0)
    average = np.nanmean(excess)
    finals = [excess[np.flatnonzero(scored[:, k])[-1], k] for k in range(scored.shape[1]) if scored[:, k].any()]
    final = float(np.mean(finals))
    value = float(np.clip(1.0 - 0.5 * (average + final) / cap, 0.0, 1.0))

    events = []
    threshold = DIVERGED_DIAG * diagonal
    # Where the truth hides the object (occluded or out of frame) but the video shows it, its
    # distance is taken to the projection of its true centre, which is defined there too.
    hidden_seen = ~truth_visible(clip, observation) & observation.detected & evaluated_frames(clip)[:, None]
    to_centre = np.hypot(observation.u - clip.track_matrix("u"), observation.v - clip.track_matrix("v"))
    off_by = np.where(hidden_seen, np.minimum(to_centre, cap), distance)
    for k, name in enumerate(observation.object_names):
        off = (scored[:, k] | hidden_seen[:, k]) & observation.detected[:, k] & (np.nan_to_num(off_by[:, k]) > threshold)
        for start, end in runs(off):
            if end - start >= DIVERGED_FRAMES:
                worst = float(np.nanmax(off_by[start:end, k]))
                events.append(FailureEvent(
                    clip.clip_id, "trajectory_diverged", start, name, min(1.0, worst / cap),
                    f"{name} is {off_by[start, k]:.1f} px from its true position at frame {start} "
                    f"(up to {worst:.1f} px by frame {end - 1})",
                ))
                break
    return MetricOutput(value, float(np.nanmean(distance)) / diagonal, events)
