"""TinyRenderer images: RGB, the depth buffer and body-id segmentation at any resolution."""
from __future__ import annotations

import numpy as np
import pybullet


def render(client, width: int, height: int, view: list[float], projection: list[float],
           light_direction=(-1.0, -2.0, 4.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return rgb uint8 (H, W, 3), depth buffer float32 (H, W) in [0, 1], and int32 (H, W)
    segmentation keys body_id + ((link_index + 1) << 24), -1 for empty pixels."""
    _, _, rgba, depth, seg = client.getCameraImage(
        width, height, view, projection, renderer=pybullet.ER_TINY_RENDERER, shadow=0,
        lightDirection=list(light_direction), flags=pybullet.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX,
    )
    rgb = np.asarray(rgba, np.uint8).reshape(height, width, 4)[..., :3]
    return rgb, np.asarray(depth, np.float32).reshape(height, width), np.asarray(seg, np.int32).reshape(height, width)
