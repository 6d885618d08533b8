"""observe(video, clip): find the clip's objects in a video by colour; computed once per video.

Each tracked object is keyed on hue: a pixel belongs to it when its hue is within
`hue_tolerance_deg` of the object's hue and its saturation and value clear a floor (grey
floors and backdrops never pass). The object is the largest connected component of its key
whose area lies within [min_area_ratio, max_area_ratio] x its expected area (so noise,
which scatters small specks, and one-colour frames, one huge component, are both rejected);
when the object was detected in the previous frame, the fitting component nearest to it
(within max_jump_diag of the image diagonal) is taken instead, so a same-coloured newcomer
never takes over a partly covered object.
Saturated components that overlap no detected object are kept as unmatched blobs: candidates
for objects appearing from nowhere; except that a component with the hue of an object not
detected in that frame is taken for that object partly seen (too small to count as detected),
not for a new one.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from simulators import Clip

BLOB_COLUMNS = ["t", "u", "v", "area", "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1", "hue_deg"]


@dataclass(frozen=True)
class ObserveConfig:
    hue_tolerance_deg: float = 25.0
    min_saturation: int = 80
    min_value: int = 30
    min_area_ratio: float = 0.25
    max_area_ratio: float = 4.0
    min_area_px: float = 4.0
    max_jump_diag: float = 0.25


@dataclass
class Observation:
    """Per frame t and tracked object k (Clip.tracked_objects order); pixels, u right, v down.

    detected: bool (T, K). u, v, area: float (T, K), NaN where not detected.
    bbox: int (T, K, 4) inclusive x0, y0, x1, y1, -1 where not detected.
    covariance: float (T, K, 3) second central moments mu20, mu11, mu02 over area (px^2).
    blobs: unmatched saturated components, columns BLOB_COLUMNS.
    frames: the observed uint8 (T, H, W, 3) RGB video itself, for the metrics that read pixels
    (optical flow, fidelity, motion masks); None when only the object state was kept.
    """

    object_names: list[str]
    detected: np.ndarray
    u: np.ndarray
    v: np.ndarray
    area: np.ndarray
    bbox: np.ndarray
    covariance: np.ndarray
    blobs: pd.DataFrame
    expected_area: np.ndarray
    min_area: np.ndarray
    config: ObserveConfig = field(default_factory=ObserveConfig)
    frames: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.detected.shape[0])


HUE_DEG_OF_LEVEL = np.arange(256, dtype=np.uint8).astype(np.float32) * (360.0 / 256.0)
"""(256,) float32 hue in degrees of each level of OpenCV's full-range uint8 hue: the key compares these values,
so a table over the 256 levels gives every pixel's answer without computing it per pixel."""


@functools.lru_cache(maxsize=4096)
def hue_key(object_hue_deg: float, tolerance_deg: float) -> np.ndarray:
    """(256,) read-only bool over the uint8 hue levels: within tolerance_deg of object_hue_deg (circular)."""
    distance = np.abs(HUE_DEG_OF_LEVEL - object_hue_deg)
    key = np.minimum(distance, 360.0 - distance) <= tolerance_deg
    key.flags.writeable = False
    return key


def hue_deg(rgb: tuple[int, int, int]) -> float:
    return _hue_deg(tuple(int(channel) for channel in rgb))


@functools.lru_cache(maxsize=4096)
def _hue_deg(rgb: tuple[int, ...]) -> float:
    pixel = np.array([[rgb]], np.uint8)
    return float(cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV_FULL)[0, 0, 0]) * 360.0 / 256.0


def circular_mean_deg(angles_deg: np.ndarray) -> float:
    radians = np.deg2rad(angles_deg)
    return float(np.rad2deg(np.arctan2(np.sin(radians).mean(), np.cos(radians).mean())) % 360.0)


def expected_areas(clip: Clip) -> np.ndarray:
    """(K,) typical unoccluded area of each tracked object in pixels, from the ground truth."""
    silhouettes = clip.track_matrix("silhouette_px")
    areas = []
    for column in silhouettes.T:
        whole = column[column >= 0.5 * column.max()] if column.max() > 0 else column
        areas.append(float(np.median(whole)) if whole.size else 0.0)
    return np.asarray(areas)


def observe(frames: np.ndarray, clip: Clip, config: ObserveConfig = ObserveConfig()) -> Observation:
    """Observe uint8 (T, H, W, 3) RGB frames with the object colours and sizes of `clip`."""
    n_frames, height, width, _ = frames.shape
    objects = clip.tracked_objects
    n_objects = len(objects)
    hsv = cv2.cvtColor(np.ascontiguousarray(frames).reshape(n_frames * height, width, 3), cv2.COLOR_RGB2HSV_FULL)
    hsv = hsv.reshape(n_frames, height, width, 3)
    hue = HUE_DEG_OF_LEVEL[hsv[..., 0]]
    saturated = (hsv[..., 1] > config.min_saturation) & (hsv[..., 2] > config.min_value)

    expected = expected_areas(clip)
    min_area = np.maximum(config.min_area_px, config.min_area_ratio * expected)
    max_area = config.max_area_ratio * np.maximum(expected, config.min_area_px)

    detected = np.zeros((n_frames, n_objects), bool)
    u = np.full((n_frames, n_objects), np.nan)
    v = np.full((n_frames, n_objects), np.nan)
    area = np.full((n_frames, n_objects), np.nan)
    bbox = np.full((n_frames, n_objects, 4), -1, np.int32)
    covariance = np.full((n_frames, n_objects, 3), np.nan)
    claimed = np.zeros((n_frames, height, width), bool)
    max_jump = config.max_jump_diag * float(np.hypot(height, width))
    for k, obj in enumerate(objects):
        keyed = saturated & hue_key(hue_deg(obj.rgb), config.hue_tolerance_deg)[hsv[..., 0]]
        for t in np.flatnonzero(keyed.reshape(n_frames, -1).any(axis=1)):
            count, labels, stats, centroids = cv2.connectedComponentsWithStats(keyed[t].view(np.uint8), connectivity=8)
            areas = stats[1:, cv2.CC_STAT_AREA]
            fits = np.flatnonzero((areas >= min_area[k]) & (areas <= max_area[k]))
            if fits.size == 0:
                continue
            label = 1 + fits[np.argmax(areas[fits])]
            if t > 0 and detected[t - 1, k]:
                jump = np.hypot(centroids[1 + fits, 0] - u[t - 1, k], centroids[1 + fits, 1] - v[t - 1, k])
                if jump.min() <= max_jump:
                    label = 1 + fits[np.argmin(jump)]
            component = labels == label
            ys, xs = np.nonzero(component)
            detected[t, k] = True
            mean_x, mean_y = xs.mean(), ys.mean()
            u[t, k], v[t, k], area[t, k] = mean_x, mean_y, xs.size
            left, top, width_px, height_px = stats[label, :4]
            bbox[t, k] = left, top, left + width_px - 1, top + height_px - 1
            dx, dy = xs - mean_x, ys - mean_y
            covariance[t, k] = np.add.reduce(dx * dx) / xs.size, np.add.reduce(dx * dy) / xs.size, \
                np.add.reduce(dy * dy) / xs.size  # what .mean() gives, without its overhead
            claimed[t] |= component

    blob_min_area = float(min_area.min()) if n_objects else config.min_area_px
    object_hues = np.array([hue_deg(obj.rgb) for obj in objects])
    blobs = _unmatched_blobs(saturated, claimed, hue, blob_min_area, object_hues, detected, config.hue_tolerance_deg)
    return Observation([obj.name for obj in objects], detected, u, v, area, bbox, covariance, blobs,
                       expected, min_area, config, frames)


def _unmatched_blobs(saturated: np.ndarray, claimed: np.ndarray, hue: np.ndarray, min_area: float,
                     object_hues: np.ndarray, detected: np.ndarray, hue_tolerance: float) -> pd.DataFrame:
    """Saturated components of at least min_area pixels that touch no detected object and do not
    have the hue of an object that went undetected in that frame."""
    rows = []
    for t in np.flatnonzero(saturated.reshape(saturated.shape[0], -1).any(axis=1)):
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(saturated[t].view(np.uint8), connectivity=8)
        touched = np.unique(labels[claimed[t]])
        for label in range(1, count):
            blob_area = stats[label, cv2.CC_STAT_AREA]
            if blob_area < min_area or label in touched:
                continue
            x0, y0 = stats[label, cv2.CC_STAT_LEFT], stats[label, cv2.CC_STAT_TOP]
            x1, y1 = x0 + stats[label, cv2.CC_STAT_WIDTH] - 1, y0 + stats[label, cv2.CC_STAT_HEIGHT] - 1
            blob_hue = circular_mean_deg(hue[t][labels == label])
            hue_gap = np.abs(object_hues[~detected[t]] - blob_hue)
            if np.any(np.minimum(hue_gap, 360.0 - hue_gap) <= hue_tolerance):
                continue
            rows.append((int(t), *centroids[label], int(blob_area), x0, y0, x1, y1, blob_hue))
    return pd.DataFrame(rows, columns=BLOB_COLUMNS)
