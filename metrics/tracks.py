"""The ground truth's tracks as (T, K) arrays over the tracked objects, built once per clip."""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .memo import memo, read_only


def track(clip: Clip, column: str) -> np.ndarray:
    """(T, K) read-only array of one track column over the K tracked objects: clip.track_matrix(column), the same
    values and dtype, filled with numpy from one index of the tracks per clip (a pandas pivot per column cost
    more than some metrics; benchmarks/metric_speed.py). Falls back to clip.track_matrix when the tracks do not
    hold every (frame, tracked object) exactly once for frames 0 .. T - 1."""
    cells = memo(clip, "track_cells", (clip.tracks, clip.objects), lambda: _track_cells(clip))
    if cells is None:
        return clip.track_matrix(column)
    matrices = memo(clip, "track_matrices", (clip.tracks, clip.objects), dict)
    if column not in matrices:
        rows, frames, objects, shape = cells
        values = clip.tracks[column].to_numpy()[rows]
        matrix = np.empty(shape, values.dtype)
        matrix[frames, objects] = values
        matrices[column] = read_only(matrix)
    return matrices[column]


def _track_cells(clip: Clip) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]] | None:
    """(rows of clip.tracks that are tracked objects, their frames, their object columns, (T, K)) when those rows
    fill the (T, K) grid exactly once and the tracks' frames are 0 .. T - 1 (then the grid is what
    Clip.track_matrix's pivot gives); None otherwise."""
    index = {obj.name: k for k, obj in enumerate(clip.tracked_objects)}
    all_frames = clip.tracks["t"].to_numpy()
    if all_frames.size == 0 or not index:
        return None
    n_frames = int(all_frames.max()) + 1
    if all_frames.min() < 0 or np.unique(all_frames).size != n_frames:
        return None
    column = clip.tracks["object"].map(index).to_numpy(dtype=float)
    rows = np.flatnonzero(~np.isnan(column))
    frames, objects = all_frames[rows].astype(np.intp), column[rows].astype(np.intp)
    shape = (n_frames, len(index))
    if rows.size != shape[0] * shape[1] or np.unique(frames * shape[1] + objects).size != rows.size:
        return None
    return rows, frames, objects, shape
