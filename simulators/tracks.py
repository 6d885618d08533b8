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
    """One row per (frame, object), ordered by frame then object; columns TRACK_COLUMNS (see simulators.clip).

    seg: (T, H, W) int16 ids; poses: (T, K, 7) link-frame position xyz + quaternion xyzw per
    object; local_points: per object, (N, 3) points of its visual geometry in its link frame.
    """
    n_frames, height, width = seg.shape
    n_objects = len(objects)
    columns = {name: np.empty((n_frames, n_objects)) for name in TRACK_COLUMNS if name not in ("t", "object")}
    # Pixel statistics of every object in every frame at once: bin (frame, object id + 1, row or column).
    labels = n_objects + 1
    frame_label = (np.arange(n_frames)[:, None, None] * labels + seg.astype(np.int64) + 1)
    rows_of = frame_label * height + np.arange(height)[None, :, None]
    cols_of = frame_label * width + np.arange(width)[None, None, :]
    per_row = np.bincount(rows_of.ravel(), minlength=n_frames * labels * height).reshape(n_frames, labels, height)
    per_col = np.bincount(cols_of.ravel(), minlength=n_frames * labels * width).reshape(n_frames, labels, width)
    ids = np.array([obj.id for obj in objects], int) + 1
    per_row, per_col = per_row[:, ids], per_col[:, ids]  # (T, K, H), (T, K, W)
    visible_px_all = per_row.sum(axis=2)
    seen_all = visible_px_all > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        columns["seg_u"][:] = (per_col * np.arange(width)).sum(axis=2) / visible_px_all
        columns["seg_v"][:] = (per_row * np.arange(height)).sum(axis=2) / visible_px_all
    any_row, any_col = per_row > 0, per_col > 0
    columns["bbox_x0"][:] = np.where(seen_all, any_col.argmax(axis=2), -1)
    columns["bbox_x1"][:] = np.where(seen_all, width - 1 - any_col[..., ::-1].argmax(axis=2), -1)
    columns["bbox_y0"][:] = np.where(seen_all, any_row.argmax(axis=2), -1)
    columns["bbox_y1"][:] = np.where(seen_all, height - 1 - any_row[..., ::-1].argmax(axis=2), -1)
    for k, (obj, points) in enumerate(zip(objects, local_points)):
        visible_px = visible_px_all[:, k]
        position, quaternion = poses[:, k, :3], poses[:, k, 3:]
        centre_px = project(position, view, projection, width, height)
        rotation = Rotation.from_quat(quaternion).as_matrix()  # (T, 3, 3)
        surface = points @ rotation.transpose(0, 2, 1) + position[:, None, :]
        surface_px = project(surface, view, projection, width, height)
        silhouette_px = np.array([silhouette_area(frame_points, width, height) for frame_points in surface_px])
        in_frame = silhouette_px > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            columns["visible_frac"][:, k] = np.where(in_frame, np.clip(visible_px / silhouette_px, 0.0, 1.0), 0.0)
        columns["object_id"][:, k] = obj.id
        for axis, name in enumerate(("x", "y", "z", "qx", "qy", "qz", "qw")):
            columns[name][:, k] = poses[:, k, axis]
        columns["u"][:, k], columns["v"][:, k] = centre_px[:, 0], centre_px[:, 1]
        columns["visible_px"][:, k], columns["silhouette_px"][:, k], columns["in_frame"][:, k] = (
            visible_px, silhouette_px, in_frame)

    integer = ("object_id", "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1", "visible_px")
    data = {"t": np.repeat(np.arange(n_frames, dtype=np.int32), n_objects),
            "object": np.tile(np.array([obj.name for obj in objects], dtype=object), n_frames)}
    for name, values in columns.items():
        flat = values.ravel()
        data[name] = flat.astype(np.int32) if name in integer else flat.astype(bool) if name == "in_frame" else flat
    return pd.DataFrame(data, columns=TRACK_COLUMNS)


def hidden_intervals(names: list[str], in_frame: np.ndarray, visible_frac: np.ndarray,
                     threshold: float = 0.5) -> list[dict]:
    """Runs of frames where an in-frame object shows less than `threshold` of itself.

    in_frame, visible_frac: (T, K) over `names`. Returns [{"object", "start", "end"}], end exclusive.
    """
    intervals = []
    for k, name in enumerate(names):
        hidden = np.concatenate([[False], in_frame[:, k] & (visible_frac[:, k] < threshold), [False]])
        edges = np.flatnonzero(np.diff(hidden.astype(np.int8)))
        intervals += [{"object": name, "start": int(start), "end": int(end)}
                      for start, end in zip(edges[::2], edges[1::2])]
    return intervals
