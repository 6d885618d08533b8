"""Corruptions of a ground-truth video with a known label: the failures the metrics must catch."""
from __future__ import annotations

import cv2
import numpy as np


def paint_out(video: np.ndarray, seg: np.ndarray, object_id: int, from_frame: int) -> np.ndarray:
    """The object `object_id` vanishes from `from_frame` on: its pixels (grown by 1 px) take the
    median colour of a ring of surrounding pixels. video uint8 (T, H, W, 3), seg int (T, H, W)."""
    out = video.copy()
    small = np.ones((3, 3), np.uint8)
    for t in range(from_frame, video.shape[0]):
        mask = (seg[t] == object_id).astype(np.uint8)
        if not mask.any():
            continue
        grown = cv2.dilate(mask, small).astype(bool)
        ring = cv2.dilate(mask, np.ones((9, 9), np.uint8)).astype(bool) & ~grown
        out[t][grown] = np.median(video[t][ring], axis=0).astype(np.uint8) if ring.any() else 128
    return out


def paint_in(video: np.ndarray, from_frame: int, rgb: tuple[int, int, int], centre: tuple[float, float],
             radius: float) -> np.ndarray:
    """A disc of colour `rgb` appears at pixel `centre` (u, v) from `from_frame` on."""
    out = video.copy()
    for t in range(from_frame, video.shape[0]):
        frame = np.ascontiguousarray(out[t])
        cv2.circle(frame, (int(round(centre[0])), int(round(centre[1]))), int(round(radius)), tuple(int(c) for c in rgb),
                   thickness=-1, lineType=cv2.LINE_8)
        out[t] = frame
    return out
