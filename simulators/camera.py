"""Camera matrices and the projection of 3D points to pixels (u right, v down, pixel centres at integers)."""
from __future__ import annotations

import numpy as np
import pybullet

from .scene import Camera


def view_matrix(camera: Camera) -> list[float]:
    """pybullet's column-major 4x4 view matrix as a flat list."""
    return list(pybullet.computeViewMatrix(camera.eye, camera.target, camera.up))


def projection_matrix(camera: Camera, width: int, height: int) -> list[float]:
    return list(pybullet.computeProjectionMatrixFOV(camera.fov_deg, width / height, camera.near, camera.far))


def project(points: np.ndarray, view: list[float], projection: list[float], width: int, height: int) -> np.ndarray:
    """Project world points (..., 3) to pixel coordinates (..., 2) as (u, v).

    Pixel (row i, column j) has its centre at (u, v) = (j, i), the convention of centroids
    computed as mean pixel indices. TinyRenderer samples each pixel at integer window
    coordinates and flips rows, hence u = x_window and v = H - 1 - y_window.
    """
    points = np.asarray(points, float)
    homogeneous = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], axis=-1)
    transform = np.asarray(projection, float).reshape(4, 4).T @ np.asarray(view, float).reshape(4, 4).T
    clip = homogeneous @ transform.T
    ndc = clip[..., :2] / clip[..., 3:4]
    u = (ndc[..., 0] + 1) / 2 * width
    v = (1 - ndc[..., 1]) / 2 * height - 1
    return np.stack([u, v], axis=-1)


def linear_depth(depth_buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """OpenGL depth buffer values in [0, 1] to metric distance along the view axis, metres."""
    return far * near / (far - (far - near) * depth_buffer)
