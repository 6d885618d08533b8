"""Shape corruptions: a rigid body that bends or stretches, a head that turns past the human limit.

Importing this module registers them in generators.corruptions.CORRUPTIONS.
"""
from __future__ import annotations

import cv2
import numpy as np

from simulators import Clip

from .corruptions import corruption, most_visible_object, onset, paint_out

BEND_DEG_PER_FRAME = 12.0
"""bend: the cut-out part turns by this many degrees more each frame after the onset..."""
BEND_MAX_DEG = 90.0
"""...up to this angle about its attachment point."""
STRETCH_MIN_FACTOR = 0.5
"""stretch at severity 1 squashes the object vertically to this share of its height and widens it by its
inverse (1 - 0.5 severity and its inverse: the area stays, the aspect changes)."""


def _paste(out: np.ndarray, source: np.ndarray, mask: np.ndarray, warp: np.ndarray) -> None:
    """Draw the pixels of `source` (H, W, 3) under `mask` (H, W) moved by the 2x3 affine `warp` onto
    `out` (H, W, 3), in place; nearest-neighbour, so no colour is blended into a new one."""
    height, width = mask.shape
    moved = cv2.warpAffine(source, warp, (width, height), flags=cv2.INTER_NEAREST)
    moved_mask = cv2.warpAffine(mask.view(np.uint8), warp, (width, height), flags=cv2.INTER_NEAREST).astype(bool)
    out[moved_mask] = moved[moved_mask]


@corruption("bend", harmful=True, expected_tag="rigidity_broken")
def bend(clip: Clip, severity: float) -> np.ndarray:
    """chair: from the onset, one part (seen in the context) turns away from the others about its
    attachment point, 12 degrees further each frame up to 90."""
    objects = clip.tracked_objects
    bodies = [obj.body for obj in objects if obj.body]
    parts = [k for k, obj in enumerate(objects) if obj.body and bodies.count(obj.body) > 1]
    if clip.spec.family != "chair" or len(parts) < 2:
        return clip.video.copy()
    start = onset(clip, severity)
    base = next((k for k in parts if objects[k].link == -1), parts[0])
    visible = clip.track_matrix("visible_frac") >= 0.5
    in_context = visible[:clip.spec.n_context].any(axis=0)
    candidates = [k for k in parts if k != base and in_context[k]] or [k for k in parts if k != base]
    moving = candidates[int(np.argmax(visible[start:, candidates].sum(axis=0)))]
    base_u, base_v = clip.track_matrix("seg_u")[:, base], clip.track_matrix("seg_v")[:, base]
    out = paint_out(clip.video, clip.seg, objects[moving].id, start)
    for t in range(start, clip.spec.n_frames):
        mask = clip.seg[t] == objects[moving].id
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        anchor_u = base_u[t] if np.isfinite(base_u[t]) else xs.mean()
        anchor_v = base_v[t] if np.isfinite(base_v[t]) else ys.mean()
        nearest = int(np.argmin(np.hypot(xs - anchor_u, ys - anchor_v)))
        angle = min(BEND_MAX_DEG, BEND_DEG_PER_FRAME * (t - start + 1))
        warp = cv2.getRotationMatrix2D((float(xs[nearest]), float(ys[nearest])), angle, 1.0)
        _paste(out[t], clip.video[t], mask, warp)
    return out

WHOLE_SHARE = 0.8
"""stretch targets the object shown at least this unoccluded in the most frames."""


@corruption("stretch", harmful=True, expected_tag="shape_changed")
def stretch(clip: Clip, severity: float) -> np.ndarray:
    """The object seen whole (>= 80% unoccluded) in the most frames from the onset on is squashed vertically by
    1 - 0.5 severity and widened by its inverse, about its centroid (a shape change of a mostly hidden object
    cannot be seen)."""
    start = onset(clip, severity)
    whole = clip.track_matrix("visible_frac")[start:] >= WHOLE_SHARE
    k = int(np.argmax(whole.sum(axis=0))) if whole.any() else most_visible_object(clip, start)
    target = clip.tracked_objects[k]
    factor = 1.0 - (1.0 - STRETCH_MIN_FACTOR) * severity
    out = paint_out(clip.video, clip.seg, target.id, start)
    for t in range(start, clip.spec.n_frames):
        mask = clip.seg[t] == target.id
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        centre_u, centre_v = float(xs.mean()), float(ys.mean())
        warp = np.array([[1.0 / factor, 0.0, (1.0 - 1.0 / factor) * centre_u], [0.0, factor, (1.0 - factor) * centre_v]])
        _paste(out[t], clip.video[t], mask, warp)
    return out


OVER_ROTATION_BASE_DEG = 120.0
"""head_over_rotation: the head's turn relative to the torso peaks at this + 60 severity degrees."""
FACE_HIDDEN_RENDER_DEG = 118.0
"""A face marker turned this far from the camera is drawn hidden behind the head (simulated: still seen at
113 degrees, hidden from 124)."""


@corruption("head_over_rotation", harmful=True, expected_tag="impossible_rotation")
def head_over_rotation(clip: Clip, severity: float) -> np.ndarray:
    """head_turn: the head's turn is scaled to peak at 120 + 60 severity degrees from the torso; the head region
    is taken from the true frame showing the same turn, and past 118 degrees the face is hidden behind the head."""
    names = [obj.name for obj in clip.tracked_objects]
    if clip.spec.family != "head_turn" or not {"person.neck", "face_marker"} <= set(names):
        return clip.video.copy()
    head_id = clip.tracked_objects[names.index("person.neck")].id
    face_id = clip.tracked_objects[names.index("face_marker")].id
    neck = np.asarray(clip.events["head_vs_torso_yaw_deg"], float)
    torso = np.asarray(clip.events["torso_yaw_deg"], float)
    true_world = neck + torso
    gain = (OVER_ROTATION_BASE_DEG + 60.0 * severity) / max(np.abs(neck).max(), 1.0)
    wanted_world = gain * neck + torso
    out = clip.video.copy()
    small = np.ones((3, 3), np.uint8)
    for t in range(clip.spec.n_context, clip.spec.n_frames):
        if abs(wanted_world[t]) >= FACE_HIDDEN_RENDER_DEG:
            out[t] = _hide_face(clip, t, head_id, face_id)
            continue
        source = int(np.argmin(np.abs(true_world - wanted_world[t])))
        region = np.isin(clip.seg[t], (head_id, face_id)) | np.isin(clip.seg[source], (head_id, face_id))
        region = cv2.dilate(region.view(np.uint8), small).astype(bool)
        out[t][region] = clip.video[source][region]
    return out


def _hide_face(clip: Clip, t: int, head_id: int, face_id: int) -> np.ndarray:
    """Frame t of the truth with the face marker replaced by the head's colour inside the head's disc and
    by the surrounding background outside it."""
    frame = clip.video[t].copy()
    face = cv2.dilate((clip.seg[t] == face_id).view(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    head = clip.seg[t] == head_id
    ys, xs = np.nonzero(head | (clip.seg[t] == face_id))
    radius = np.sqrt(ys.size / np.pi)
    inside = np.hypot(np.arange(frame.shape[1])[None, :] - xs.mean(), np.arange(frame.shape[0])[:, None] - ys.mean()) <= radius
    ring = cv2.dilate(face.view(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~face & (clip.seg[t] == -1)
    background = np.median(clip.video[t][ring], axis=0) if ring.any() else np.full(3, 128.0)
    frame[face & inside & ~head | face & head] = np.median(clip.video[t][head & ~face], axis=0).astype(np.uint8)
    frame[face & ~inside & ~head] = background.astype(np.uint8)
    return frame
