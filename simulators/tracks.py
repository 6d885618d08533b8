"""Ground-truth tracks from object poses and the segmentation (vectorised over frames)."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
from scipy.spatial.transform import Rotation

from .camera import project
from .clip import TRACK_COLUMNS, ObjectInfo


def silhouette_area(points_px: np.ndarray, width: int, height: int) -> float:
    """Area in pixels of the convex hull of projected points (N, 2), clipped to the image."""
    if len(points_px) < 3 or not np.isfinite(points_px).all():
        return 0.0
    hull = cv2.convexHull(points_px.astype(np.float32))
    frame = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]],
                     np.float32)
    area, _ = cv2.intersectConvexConvex(hull, frame)
    return float(max(area, 0.0))


def compute_tracks(
    seg: np.ndarray,
    poses: np.ndarray,
    objects: list[ObjectInfo],
    local_points: list[np.ndarray],
    view: list[float],
    projection: list[float],
) -> pd.DataFrame:
    """One row per (frame, object); columns TRACK_COLUMNS (see simulators.clip).

    seg: (T, H, W) int16 ids; poses: (T, K, 7) link-frame position xyz + quaternion xyzw per
    object; local_points: per object, (N, 3) points of its visual geometry in its link frame.
    """
    n_frames, height, width = seg.shape
    rows_index = np.arange(height, dtype=np.float64)[None, :, None]
    cols_index = np.arange(width, dtype=np.float64)[None, None, :]
    columns: dict[str, list[np.ndarray]] = {name: [] for name in TRACK_COLUMNS}
    for k, (obj, points) in enumerate(zip(objects, local_points)):
        mask = seg == obj.id
        visible_px = mask.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            seg_u = (mask * cols_index).sum(axis=(1, 2)) / visible_px
            seg_v = (mask * rows_index).sum(axis=(1, 2)) / visible_px
        any_row, any_col = mask.any(axis=2), mask.any(axis=1)
        seen = visible_px > 0
        bbox_x0 = np.where(seen, any_col.argmax(axis=1), -1)
        bbox_x1 = np.where(seen, width - 1 - any_col[:, ::-1].argmax(axis=1), -1)
        bbox_y0 = np.where(seen, any_row.argmax(axis=1), -1)
        bbox_y1 = np.where(seen, height - 1 - any_row[:, ::-1].argmax(axis=1), -1)

        position, quaternion = poses[:, k, :3], poses[:, k, 3:]
        centre_px = project(position, view, projection, width, height)
        rotation = Rotation.from_quat(quaternion).as_matrix()  # (T, 3, 3)
        surface = np.einsum("tij,nj->tni", rotation, points) + position[:, None, :]
        surface_px = project(surface, view, projection, width, height)
        silhouette_px = np.array([silhouette_area(points, width, height) for points in surface_px])
        in_frame = silhouette_px > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            visible_frac = np.where(in_frame, np.clip(visible_px / silhouette_px, 0.0, 1.0), 0.0)

        values = {
            "t": np.arange(n_frames), "object": np.full(n_frames, obj.name, dtype=object),
            "object_id": np.full(n_frames, obj.id), "x": position[:, 0], "y": position[:, 1], "z": position[:, 2],
            "qx": quaternion[:, 0], "qy": quaternion[:, 1], "qz": quaternion[:, 2], "qw": quaternion[:, 3],
            "u": centre_px[:, 0], "v": centre_px[:, 1], "seg_u": seg_u, "seg_v": seg_v,
            "bbox_x0": bbox_x0, "bbox_y0": bbox_y0, "bbox_x1": bbox_x1, "bbox_y1": bbox_y1,
            "visible_px": visible_px, "silhouette_px": silhouette_px, "visible_frac": visible_frac,
            "in_frame": in_frame,
        }
        for name in TRACK_COLUMNS:
            columns[name].append(np.asarray(values[name]))
    table = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
    table["object"] = table["object"].astype(str)
    int_columns = ["t", "object_id", "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1", "visible_px"]
    table[int_columns] = table[int_columns].astype(np.int32)
    return table.sort_values(["t", "object_id"], kind="stable").reset_index(drop=True)


def hidden_intervals(tracks: pd.DataFrame, threshold: float = 0.5) -> list[dict]:
    """Runs of frames where an in-frame object shows less than `threshold` of itself.

    Returns [{"object", "start", "end"}] with `end` exclusive.
    """
    intervals = []
    for name, rows in tracks.groupby("object", sort=False):
        hidden = (rows["in_frame"] & (rows["visible_frac"] < threshold)).to_numpy()
        frames = rows["t"].to_numpy()
        start = None
        for frame, is_hidden in zip(frames, hidden):
            if is_hidden and start is None:
                start = int(frame)
            elif not is_hidden and start is not None:
                intervals.append({"object": name, "start": start, "end": int(frame)})
                start = None
        if start is not None:
            intervals.append({"object": name, "start": start, "end": int(frames[-1]) + 1})
    return intervals
