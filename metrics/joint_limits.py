"""Joint limits: a head turns no further than the human neck allows relative to the torso.

For the head_turn family the head and the chest carry coloured marker discs on their fronts. From
the observed pixels alone (no alignment with the ground truth): the head's yaw relative to the
camera is asin of the face marker's horizontal offset from the centroid of head + marker, in
units of the head's radius (sqrt of head + marker area / pi); the torso's yaw likewise from the
chest marker. The head-vs-torso yaw is their difference. Past about 115 degrees the face marker
hides behind the head: a head seen without its face while the chest faces the camera has turned
at least FACE_HIDDEN_DEG - |torso yaw| relative to the torso (a lower bound: the sphere of the
head shows nothing more). Measured on simulated turns at 64x64: the estimate follows the true
world yaw within 6 degrees up to 75 degrees; the face is still detected at 113 degrees and hidden
from 124 degrees on.
"""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, runs
from .observation import Observation

HEAD, TORSO, FACE, BADGE = "person.neck", "person.chest", "face_marker", "chest_marker"
"""Tracked objects of the head_turn family: the head (the humanoid's 'neck' link), the chest, and their markers."""
DEFAULT_LIMIT_DEG = 85.0
"""Active axial rotation of the human neck each way, when the clip's events do not state it."""
MARGIN_DEG = 10.0
"""Estimates up to limit + this are within the limit: the marker estimate errs by up to 6 degrees, and a
visible face can read at most 90 degrees plus the torso's turn."""
RAMP_DEG = 15.0
"""Beyond limit + margin, each frame's loss grows linearly, reaching 1 this many degrees further."""
FACE_HIDDEN_DEG = 110.0
"""A face marker not seen on a seen head means the head has turned at least this far from the camera
(measured: still detected at 113 degrees, hidden from 124)."""
TAG_FRAMES = 2
"""impossible_rotation fires after this many frames in a row beyond limit + margin."""


def marker_yaw_deg(observation: Observation, link: int, marker: int) -> np.ndarray:
    """(T,) yaw (degrees, + towards the image's right) of a sphere-like link from the horizontal offset of
    the marker on its front: asin(offset / radius), centre and radius from the link and marker pixels
    together; NaN where either is not detected."""
    link_area, marker_area = observation.area[:, link], observation.area[:, marker]
    total = link_area + marker_area
    centre_u = (link_area * observation.u[:, link] + marker_area * observation.u[:, marker]) / total
    radius = np.sqrt(total / np.pi)
    offset = (observation.u[:, marker] - centre_u) / radius
    return np.degrees(np.arcsin(np.clip(offset, -1.0, 1.0)))


def head_vs_torso_yaw_deg(observation: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T,) |head-vs-torso yaw| in degrees read from the markers (a lower bound where the face is hidden),
    (T,) bool where it is a lower bound, and (T,) bool where it could be read at all (head, chest and chest
    marker seen)."""
    names = observation.object_names
    head, torso, face, badge = (names.index(name) for name in (HEAD, TORSO, FACE, BADGE))
    detected = observation.detected
    torso_yaw = marker_yaw_deg(observation, torso, badge)
    readable = detected[:, head] & detected[:, torso] & detected[:, badge]
    hidden = readable & ~detected[:, face]
    with np.errstate(invalid="ignore"):
        visible_estimate = np.abs(marker_yaw_deg(observation, head, face) - torso_yaw)
    yaw = np.where(hidden, FACE_HIDDEN_DEG - np.abs(torso_yaw), visible_estimate)
    return np.where(readable, yaw, np.nan), hidden, readable


@register_metric("joint_limits", principle="joint limits", unit="degrees (largest head-vs-torso yaw read)",
                 needs_alignment=False, tags=("impossible_rotation",))
def joint_limits(clip: Clip, observation: Observation) -> MetricOutput:
    """The head's yaw relative to the torso, read from the face and chest markers, stays within the neck's limit."""
    names = observation.object_names
    if not all(name in names for name in (HEAD, TORSO, FACE, BADGE)):
        return MetricOutput(np.nan, np.nan, reason="the family has no head and chest markers to read a neck turn from")
    limit = float(clip.events.get("neck_yaw_limit_deg", DEFAULT_LIMIT_DEG))
    allowed = limit + MARGIN_DEG
    yaw, hidden, readable = head_vs_torso_yaw_deg(observation)
    scored = evaluated_frames(clip)
    # A frame whose head or torso cannot be read cannot be verified: it costs the full loss, but no tag.
    loss = np.where(readable, np.clip((np.nan_to_num(yaw) - allowed) / RAMP_DEG, 0.0, 1.0), 1.0)
    value = float(1.0 - loss[scored].mean())
    raw = float(np.nanmax(yaw[scored])) if (readable & scored).any() else np.nan

    events = []
    beyond = scored & readable & (np.nan_to_num(yaw) > allowed)
    for start, end in runs(beyond):
        if end - start >= TAG_FRAMES:
            worst = float(np.max(yaw[start:end]))
            how = ("the face is hidden while the chest faces the camera, so the head is turned at least "
                   if hidden[start] else "the head is turned ")
            events.append(FailureEvent(
                clip.clip_id, "impossible_rotation", start, HEAD, float(min(1.0, (worst - limit) / (180.0 - limit))),
                f"from frame {start} {how}{yaw[start]:.0f} degrees from the torso (up to {worst:.0f} by frame "
                f"{end - 1}); the neck turns at most {limit:.0f}"))
            break
    return MetricOutput(value, raw, events)
