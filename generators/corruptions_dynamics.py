"""Corruptions of dynamics and occlusion: a wrong gravity, an object that never comes back from hiding,
one that comes back in the wrong place. Each returns uint8 (T, H, W, 3) and never touches the context."""
from __future__ import annotations

import numpy as np

from simulators import Clip
from simulators.camera import project

from .corruptions import corruption, paint_in, paint_out, paste_shifted

GRAVITY_FAMILIES = ("free_fall", "projectile")
"""Families with a ball in free flight whose gravity gravity_scale changes."""
GRAVITY = 9.81
"""m/s^2, the simulator's gravity."""
LATE_FRAMES = 3
"""no_reemergence keeps the object away at least this many frames past the truth's re-emergence."""


def _ballistic_object(clip: Clip) -> int | None:
    """Index in tracked_objects of the falling or thrown ball, or None when the family has none."""
    if clip.spec.family not in GRAVITY_FAMILIES:
        return None
    roles = [obj.role for obj in clip.tracked_objects]
    return next((k for k, role in enumerate(roles) if role in ("falling", "projectile")), None)


WEAKER_GRAVITY_PER_SEVERITY = 0.75
"""gravity_scale multiplies gravity by 1 - this x severity (0.81 g at 0.25, 0.63 g at 0.5, 0.25 g at 1)."""


@corruption("gravity_scale", harmful=True, expected_tag="wrong_gravity")
def gravity_scale(clip: Clip, severity: float) -> np.ndarray:
    """After the context the ball flies under a weaker gravity, (1 - 0.75 severity) g, and lies dead where it
    meets the floor.

    The ball leaves the last context frame with its true height and vertical velocity (the line through the
    truth's first free-flight frames once gravity's share is added back), keeps its true horizontal motion,
    and is painted out and redrawn as a disc of its colour and true apparent size at the projection of its
    new position."""
    k = _ballistic_object(clip)
    if k is None:
        return clip.video.copy()
    obj = clip.tracked_objects[k]
    n_context, n_frames = clip.spec.n_context, clip.spec.n_frames
    height, width = clip.spec.resolution
    position = np.stack([clip.track_matrix(axis)[:, k] for axis in ("x", "y", "z")], axis=1)
    seconds = (np.arange(n_frames) - (n_context - 1)) / clip.spec.fps
    flight = _first_flight(clip, k)
    # Without gravity's share the true height is a line in time: its intercept and slope are the height
    # and vertical velocity (m, m/s) at the last context frame.
    velocity, start_z = np.polyfit(seconds[flight], position[flight, 2] + 0.5 * GRAVITY * seconds[flight] ** 2, 1)
    gravity = (1.0 - WEAKER_GRAVITY_PER_SEVERITY * severity) * GRAVITY
    resting_z = float(position[:, 2].min())
    moved = position.copy()
    flying = start_z + velocity * seconds - 0.5 * gravity * seconds**2
    landed = np.maximum.accumulate((flying <= resting_z) & (seconds > 0))
    moved[n_context:, 2] = np.where(landed, resting_z, flying)[n_context:]
    centres = project(moved, clip.camera["view"], clip.camera["projection"], width, height)
    radii = np.sqrt(clip.track_matrix("silhouette_px")[:, k] / np.pi)
    out = paint_out(clip.video, clip.seg, obj.id, n_context)
    for t in range(n_context, n_frames):
        if radii[t] > 0:
            out[t:t + 1] = paint_in(out[t:t + 1], 0, obj.rgb, tuple(centres[t]), radii[t])
    return out


def _first_flight(clip: Clip, k: int) -> np.ndarray:
    """Frames from the last context frame up to the tracked object k's first contact after it (at least two)."""
    obj = clip.tracked_objects[k]
    body = obj.body or obj.name
    last_context = clip.spec.n_context - 1
    contacts = [contact["frame"] for contact in clip.events.get("contacts", [])
                if body in (contact["a"], contact["b"]) and contact["frame"] > last_context]
    first_contact = min(contacts, default=clip.spec.n_frames)
    return np.arange(last_context, max(first_contact, last_context + 2))


def _first_reemergence(clip: Clip) -> tuple[int, int, int] | None:
    """(object index k, first frame of its hiding, frame it is clearly visible again) for the first object
    the truth hides completely and shows again after the context; None when there is none."""
    visible = clip.track_matrix("visible_frac") >= 0.5
    hidden = clip.track_matrix("visible_px") == 0
    n_context, n_frames = clip.spec.n_context, clip.spec.n_frames
    found = []
    for k in range(visible.shape[1]):
        padded = np.concatenate([[False], ~visible[:, k], [False]])
        edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
        for start, end in zip(edges[::2], edges[1::2]):
            if start > 0 and hidden[start:end, k].any() and n_context <= end < n_frames - 1:
                found.append((int(end), k, int(start)))
    if not found:
        return None
    end, k, start = min(found)
    return k, start, end


@corruption("no_reemergence", harmful=True, expected_tag="reemergence_missed")
def no_reemergence(clip: Clip, severity: float) -> np.ndarray:
    """An object that goes into hiding comes back LATE_FRAMES + severity x (the rest of the clip) frames late
    (never at severity 1): it is painted out from its hiding on."""
    found = _first_reemergence(clip)
    if found is None:
        return clip.video.copy()
    k, start, end = found
    n_frames = clip.spec.n_frames
    back = end + LATE_FRAMES + int(round(severity * (n_frames - end)))
    out = paint_out(clip.video, clip.seg, clip.tracked_objects[k].id, max(start, clip.spec.n_context))
    out[back:] = clip.video[back:]
    return out


@corruption("misplaced_reemergence", harmful=True, expected_tag="reemergence_misplaced")
def misplaced_reemergence(clip: Clip, severity: float) -> np.ndarray:
    """An object that goes into hiding comes back 0.2 + 0.2 x severity of the image width away (towards the
    middle of the image) from where it should: from its hiding on, its pixels are moved by that much."""
    found = _first_reemergence(clip)
    if found is None:
        return clip.video.copy()
    k, start, end = found
    target = clip.tracked_objects[k]
    width = clip.spec.resolution[1]
    first = max(start, clip.spec.n_context)
    out = paint_out(clip.video, clip.seg, target.id, first)
    u = clip.track_matrix("seg_u")[end:, k]
    direction = -1 if np.nanmean(u) > width / 2 else 1
    shift = int(round(direction * (0.2 + 0.2 * severity) * width))
    return paste_shifted(out, clip, target.id, first, shift)
