"""Helpers of the reference-free metrics: what the observed video alone says about its objects.

The reference-free metrics read only the Observation (objects found by the colours the prompt names)
and the scenario metadata a prompt conveys (family, object names, colours, shapes, roles, sizes in
metres, fps); never the ground truth's pixels, positions or tracks. Every array here is (T, K) over
the frames and the clip's tracked objects, built from observed quantities only.
"""
from __future__ import annotations

import numpy as np

from .observation import Observation

EDGE_MARGIN_PX = 1
"""An object whose observed box comes within this many pixels of the image border is at the edge: it may
be entering or leaving the frame, and its centroid and area are cut by the border."""
WHOLE_SHARE = 0.7
"""An object is seen whole when its observed area is at least this share of its typical observed area
(the median over the frames where it is detected away from the edge); less is a partly hidden object."""
REST_PX = 0.5
"""An object moves less than this (px per frame, each axis) between frames at rest (the colour key's
centroid stays within 0.35 px on average between identical frames after H.264)."""
PASSIVE_ROLES = ("falling", "projectile", "ball", "rolling", "sliding", "block", "domino", "rigid")
"""Roles of objects that move only when something pushes them (no motor, no will): people, vehicles, their
markers, pendulums (let go by a hand) and treadmill belts are left out."""


def at_edge(observation: Observation, resolution: tuple[int, int], margin: int = EDGE_MARGIN_PX) -> np.ndarray:
    """(T, K) bool: detected with its box within `margin` px of the image border (height, width)."""
    height, width = resolution
    box = observation.bbox
    touching = ((box[..., 0] <= margin) | (box[..., 1] <= margin)
                | (box[..., 2] >= width - 1 - margin) | (box[..., 3] >= height - 1 - margin))
    return observation.detected & touching


def typical_area(observation: Observation, edge: np.ndarray) -> np.ndarray:
    """(K,) median observed area (px) over the frames where the object is detected away from the edge
    (over all its detected frames when it never is); NaN for an object never detected."""
    areas = np.full(observation.area.shape[1], np.nan)
    for k in range(areas.size):
        inner = observation.detected[:, k] & ~edge[:, k]
        chosen = inner if inner.any() else observation.detected[:, k]
        if chosen.any():
            areas[k] = float(np.median(observation.area[chosen, k]))
    return areas


def seen_whole(observation: Observation, resolution: tuple[int, int]) -> np.ndarray:
    """(T, K) bool: detected away from the edge with at least WHOLE_SHARE of its typical area."""
    edge = at_edge(observation, resolution)
    typical = typical_area(observation, edge)
    with np.errstate(invalid="ignore"):
        return observation.detected & ~edge & (observation.area >= WHOLE_SHARE * typical[None, :])


def box_cover(box: np.ndarray, other: np.ndarray) -> float:
    """Share of the inclusive box (x0, y0, x1, y1) that the other inclusive box covers."""
    width = min(int(box[2]), int(other[2])) - max(int(box[0]), int(other[0])) + 1
    height = min(int(box[3]), int(other[3])) - max(int(box[1]), int(other[1])) + 1
    area = (int(box[2]) - int(box[0]) + 1) * (int(box[3]) - int(box[1]) + 1)
    return float(max(width, 0) * max(height, 0) / max(area, 1))


def touching_another(observation: Observation, gap_px: float = 1.0) -> np.ndarray:
    """(T, K) bool: another tracked object detected in the same frame has its box within gap_px of this
    object's box (it may cover part of it)."""
    out = np.zeros(observation.detected.shape, bool)
    for t in range(observation.n_frames):
        seen = np.flatnonzero(observation.detected[t])
        for k in seen:
            out[t, k] = any(box_gap(observation.bbox[t, k], observation.bbox[t, j]) <= gap_px for j in seen if j != k)
    return out


def box_gap(box: np.ndarray, other: np.ndarray) -> float:
    """Gap in px between two inclusive boxes (x0, y0, x1, y1): 0 when they overlap or touch."""
    dx = max(0, max(int(other[0]) - int(box[2]), int(box[0]) - int(other[2])) - 1)
    dy = max(0, max(int(other[1]) - int(box[3]), int(box[1]) - int(other[3])) - 1)
    return float(np.hypot(dx, dy))


def near_object(observation: Observation, t: int, box: tuple[float, float, float, float], gap_px: float) -> bool:
    """Some tracked object detected at frame t has its box within gap_px of the inclusive box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    for j in np.flatnonzero(observation.detected[t]):
        ox0, oy0, ox1, oy1 = observation.bbox[t, j]
        if max(0, max(ox0 - x1, x0 - ox1) - 1) <= gap_px and max(0, max(oy0 - y1, y0 - oy1) - 1) <= gap_px:
            return True
    return False
