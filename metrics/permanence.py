"""Object permanence: objects neither vanish while in view nor appear from nowhere."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, runs, truth_hidden, truth_visible
from .observation import Observation

EDGE_GRACE_FRAMES = 1
"""A lost or wrongly seen run this short, while the truth has the object crossing the image's edge or
changing its visibility, costs score but raises no tag: a video one frame late (a duplicated frame) shows
an object that is entering or leaving at the wrong side of the edge for one frame (70% of treadmill clips,
whose belt markers cross the frame at 20 px per frame, were tagged under a duplicated frame), and a chair
leg half hidden behind the seat as the chair falls, clearly visible (half of it) only from frame 5, was
lost in frame 5 alone after H.264 at crf 23."""


def crossing_edge(clip: Clip) -> np.ndarray:
    """(T, K) bool: in the truth the object touches the image border or is out of frame at t - 1, t or t + 1."""
    height, width = clip.spec.resolution
    x0, x1 = clip.track_matrix("bbox_x0"), clip.track_matrix("bbox_x1")
    y0, y1 = clip.track_matrix("bbox_y0"), clip.track_matrix("bbox_y1")
    with np.errstate(invalid="ignore"):
        at_edge = (x0 <= 0) | (y0 <= 0) | (x1 >= width - 1) | (y1 >= height - 1) | (clip.track_matrix("in_frame") < 1)
    around = at_edge.copy()
    around[1:] |= at_edge[:-1]
    around[:-1] |= at_edge[1:]
    return around


def visibility_changing(clip: Clip, observation: Observation) -> np.ndarray:
    """(T, K) bool: in the truth the object turns clearly visible (truth_visible) or not, or hidden (truth_hidden)
    or not, between t - 1 and t or between t and t + 1."""
    changing = np.zeros((clip.spec.n_frames, len(clip.tracked_objects)), bool)
    for state in (truth_visible(clip, observation), truth_hidden(clip)):
        change = state[1:] != state[:-1]
        changing[1:] |= change
        changing[:-1] |= change
    return changing


def _tagged(start: int, end: int, edge: np.ndarray) -> bool:
    return end - start > EDGE_GRACE_FRAMES or not edge[start:end].all()


@register_metric("permanence", principle="permanence", unit="share of frames with a permanence error",
                 needs_alignment=True, tags=("object_vanished", "object_appeared"))
def object_permanence(clip: Clip, observation: Observation) -> MetricOutput:
    """Share of visible objects the video lost, and of frames where something appeared from nowhere."""
    after_context = evaluated_frames(clip)
    visible = truth_visible(clip, observation) & after_context[:, None]
    hidden = truth_hidden(clip) & after_context[:, None]
    lost = visible & ~observation.detected
    seen_while_hidden = hidden & observation.detected
    blob_frames = np.zeros(clip.spec.n_frames, bool)
    if len(observation.blobs):
        blob_frames[observation.blobs["t"].to_numpy()] = True
    blob_frames &= after_context

    vanish_rate = lost.sum() / visible.sum() if visible.any() else 0.0
    appeared = blob_frames | seen_while_hidden.any(axis=1)
    appear_rate = appeared.sum() / after_context.sum()
    value = float((1.0 - vanish_rate) * (1.0 - appear_rate))
    raw = float((lost.any(axis=1) | appeared).sum() / after_context.sum())

    events = []
    n_scored = int(after_context.sum())
    edge = crossing_edge(clip) | visibility_changing(clip, observation)
    for k, name in enumerate(observation.object_names):
        for start, end in runs(lost[:, k]):
            if not _tagged(start, end, edge[:, k]):
                continue
            events.append(FailureEvent(
                clip.clip_id, "object_vanished", start, name, (end - start) / n_scored,
                f"{name} vanished at frame {start} (missing for {end - start} frames while visible in the ground truth)",
            ))
        for start, end in runs(seen_while_hidden[:, k]):
            if not _tagged(start, end, edge[:, k]):
                continue
            events.append(FailureEvent(
                clip.clip_id, "object_appeared", start, name, (end - start) / n_scored,
                f"{name} is seen at frame {start} where the ground truth has it hidden ({end - start} frames)",
            ))
    for start, end in runs(blob_frames):
        blob = observation.blobs[observation.blobs["t"] == start].iloc[0]
        events.append(FailureEvent(
            clip.clip_id, "object_appeared", start, "", (end - start) / n_scored,
            f"an unknown object (hue {blob['hue_deg']:.0f} deg, {int(blob['area'])} px at u={blob['u']:.0f}, "
            f"v={blob['v']:.0f}) appears at frame {start} for {end - start} frames",
        ))
    return MetricOutput(value, raw, sorted(events, key=lambda event: (event.frame, event.tag, event.object)))
