"""Corruptions of the direction of motion in one region only (the rest of the clip plays forwards)."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .corruptions import corruption, onset, paint_out

MIN_PATH_PX = 4.0
"""region_reverse reverses an object only when its visible centroid travels at least this far (px) over the
reversed frames; a clip without such an object (and without a belt) is left unchanged."""


def reversed_source(clip: Clip, start: int) -> np.ndarray:
    """(T,) index of the truth frame shown at each frame when the frames from `start` on play backwards."""
    source = np.arange(clip.spec.n_frames)
    source[start:] = source[start:][::-1]
    return source


def reverse_belt(clip: Clip, start: int) -> np.ndarray:
    """The treadmill belt band plays backwards from `start` on while the runner plays forwards: a band
    pixel takes the reversed frame's value where both frames show belt there (a marker slat or the grey
    slats, not the runner), so the runner is never copied."""
    marker_ids = [obj.id for obj in clip.objects if obj.name in clip.events["belt_markers"]]
    is_marker = np.isin(clip.seg, marker_ids)
    band = is_marker.any(axis=0)
    shows_belt = band & (is_marker | (clip.seg < 0))
    out = clip.video.copy()
    for t, source in enumerate(reversed_source(clip, start)):
        if t >= start:
            copy = shows_belt[t] & shows_belt[source]
            out[t][copy] = clip.video[source][copy]
    return out


def reverse_object(clip: Clip, start: int, object_id: int) -> np.ndarray:
    """One object, with every other part of its body (a car's wheels, a pendulum's rod), travels its
    path backwards from `start` on: it is painted out of every frame, then its pixels of the reversed
    frame are pasted where they were in that frame."""
    target = next(obj for obj in clip.objects if obj.id == object_id)
    ids = [obj.id for obj in clip.objects if target.body and obj.body == target.body] or [object_id]
    body = np.isin(clip.seg, ids)
    out = paint_out(clip.video, np.where(body, object_id, -1), object_id, start)
    for t, source in enumerate(reversed_source(clip, start)):
        if t >= start:
            out[t][body[source]] = clip.video[source][body[source]]
    return out


@corruption("region_reverse", harmful=True, expected_tag="reversed_motion")
def region_reverse(clip: Clip, severity: float) -> np.ndarray:
    """From the onset on, only one region plays backwards: the treadmill's belt, else the object that moves most."""
    start = onset(clip, severity)
    if clip.events.get("belt_markers"):
        return reverse_belt(clip, start)
    u, v = clip.track_matrix("seg_u")[start - 1:], clip.track_matrix("seg_v")[start - 1:]
    path = np.nansum(np.hypot(np.diff(u, axis=0), np.diff(v, axis=0)), axis=0)
    if path.size == 0 or np.nanmax(path) < MIN_PATH_PX:
        return clip.video.copy()
    return reverse_object(clip, start, clip.tracked_objects[int(np.nanargmax(path))].id)
