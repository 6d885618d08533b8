"""Occlusion: hidden objects come back when and where they should, and the number of objects holds."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, image_diagonal, runs, truth_hidden, truth_visible
from .observation import Observation

REEMERGENCE_GRACE_FRAMES = 2
"""The video must show the object within this many frames after the truth shows it clearly again."""
MISPLACED_DIAG = 0.1
"""A re-emerged object that is never within this share of the image diagonal of its true centroid over the
grace window is misplaced (about 9 px at 64x64, three times a rolling ball's step per frame)."""
COUNT_CHANGED_FRAMES = 2
"""count_changed fires when the observed count is off for this many frames in a row."""


def reemergences(clip: Clip, observation: Observation) -> list[tuple[int, int]]:
    """(object index k, frame r) for every time the truth hides object k completely (not one pixel shows,
    behind an occluder or out of frame) and shows it clearly again at frame r, after the context, staying
    clearly visible over the grace window (so a flicker at a boundary is not a re-emergence)."""
    visible = truth_visible(clip, observation)
    hidden = truth_hidden(clip)
    n_context, n_frames = clip.spec.n_context, clip.spec.n_frames
    found = []
    for k in range(visible.shape[1]):
        for start, end in runs(~visible[:, k]):
            window = slice(end, min(n_frames, end + REEMERGENCE_GRACE_FRAMES + 1))
            if start > 0 and hidden[start:end, k].any() and n_context <= end < n_frames and visible[window, k].all():
                found.append((k, end))
    return found


@register_metric("reemergence", principle="permanence", unit="share of re-emergences missed or misplaced",
                 needs_alignment=True, tags=("reemergence_missed", "reemergence_misplaced"))
def reemergence(clip: Clip, observation: Observation) -> MetricOutput:
    """Share of the objects hidden by the truth that the video shows again in time and in the right place."""
    found = reemergences(clip, observation)
    if not found:
        return MetricOutput(np.nan, np.nan, reason="no object re-emerges from hiding after the context")
    threshold = MISPLACED_DIAG * image_diagonal(clip)
    true_u, true_v = clip.track_matrix("seg_u"), clip.track_matrix("seg_v")
    n_frames = clip.spec.n_frames
    right, events = 0, []
    for k, frame in found:
        name = observation.object_names[k]
        window = np.arange(frame, min(n_frames, frame + REEMERGENCE_GRACE_FRAMES + 1))
        shown = window[observation.detected[window, k]]
        if shown.size == 0:
            events.append(FailureEvent(
                clip.clip_id, "reemergence_missed", int(frame), name, 1.0,
                f"{name} comes out of hiding at frame {frame} in the ground truth but the video does not show it "
                f"by frame {window[-1]}",
            ))
            continue
        distance = np.hypot(observation.u[shown, k] - true_u[shown, k], observation.v[shown, k] - true_v[shown, k])
        if np.nanmin(distance) > threshold:  # a stutter may show it a frame behind: one right frame is enough
            seen, closest = int(shown[0]), float(np.nanmin(distance))
            events.append(FailureEvent(
                clip.clip_id, "reemergence_misplaced", seen, name, min(1.0, closest / (2.5 * threshold)),
                f"{name} comes out of hiding at frame {seen} at least {closest:.1f} px from where it truly is "
                f"(through frame {window[-1]})",
            ))
            continue
        right += 1
    share = right / len(found)
    return MetricOutput(float(share), 1.0 - share, events)


def observed_counts(observation: Observation) -> np.ndarray:
    """(T,) number of objects seen per frame: detected tracked objects plus unmatched saturated blobs no
    larger than the largest object may be (a whole-frame colour is no object)."""
    counts = observation.detected.sum(axis=1).astype(int)
    blobs = observation.blobs
    if len(blobs):
        largest = observation.config.max_area_ratio * max(float(observation.expected_area.max()),
                                                          observation.config.min_area_px)
        object_sized = blobs[blobs["area"] <= largest]
        counts += np.bincount(object_sized["t"].to_numpy(int), minlength=counts.size)[:counts.size]
    return counts


@register_metric("count", principle="permanence", unit="mean relative count error", needs_alignment=False,
                 tags=("count_changed",))
def object_count(clip: Clip, observation: Observation) -> MetricOutput:
    """Number of objects seen per frame against the number the truth shows."""
    after_context = evaluated_frames(clip)
    n_observed = observed_counts(observation)
    # An object partly shown (some pixels but less than clearly visible) may be counted or not.
    fewest = truth_visible(clip, observation).sum(axis=1)
    most = (clip.track_matrix("visible_px") > 0).sum(axis=1)
    off_by = np.maximum(fewest - n_observed, 0) + np.maximum(n_observed - most, 0)
    error = np.minimum(1.0, off_by / np.maximum(1, fewest))[after_context]
    value = float(1.0 - error.mean())
    events = []
    for start, end in runs((off_by > 0) & after_context):
        if end - start >= COUNT_CHANGED_FRAMES:
            events.append(FailureEvent(
                clip.clip_id, "count_changed", start, "", float(error[start - clip.spec.n_context:end - clip.spec.n_context].max()),
                f"the video shows {n_observed[start]} objects at frame {start} where the ground truth shows "
                f"{fewest[start]}" + (f" to {most[start]}" if most[start] != fewest[start] else "")
                + f" (for {end - start} frames)",
            ))
    return MetricOutput(value, float(error.mean()), events)
