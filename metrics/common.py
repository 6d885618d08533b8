"""Ground-truth masks and helpers shared by the metrics."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .observation import Observation

VISIBLE_FRAC = 0.5
"""An object counts as visible in the ground truth when at least this share of it shows."""


def image_diagonal(clip: Clip) -> float:
    height, width = clip.spec.resolution
    return float(np.hypot(height, width))


def evaluated_frames(clip: Clip) -> np.ndarray:
    """(T,) bool: the frames after the context, the only ones scored."""
    frames = np.zeros(clip.spec.n_frames, bool)
    frames[clip.spec.n_context:] = True
    return frames


def truth_visible(clip: Clip, observation: Observation) -> np.ndarray:
    """(T, K) bool: the object clearly shows (>= half of it, and 1.5x the detector's minimum area)."""
    visible_frac = clip.track_matrix("visible_frac")
    visible_px = clip.track_matrix("visible_px")
    return (visible_frac >= VISIBLE_FRAC) & (visible_px >= 1.5 * observation.min_area[None, :])


def truth_hidden(clip: Clip) -> np.ndarray:
    """(T, K) bool: not a single pixel of the object shows (occluded or out of frame)."""
    return clip.track_matrix("visible_px") == 0


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the runs of True in a 1-D bool array."""
    padded = np.concatenate([[False], np.asarray(flags, bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2])]


def frames_or_reason(clip: Clip, observation: Observation) -> tuple[np.ndarray | None, str]:
    """The observed uint8 (T, H, W, 3) frames for a metric that reads pixels, or (None, why not)."""
    frames = observation.frames
    if frames is None:
        return None, "the observation holds no frames (observe() with the video keeps them)"
    if frames.shape != clip.video.shape:
        return None, f"video shape {frames.shape} differs from the ground truth's {clip.video.shape}"
    return frames, ""
