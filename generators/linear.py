"""The linear baseline: every object found in the context keeps moving at its last velocity.

No gravity, no collisions, no occlusion: a model that cannot beat inertia has learned no physics.
Objects are the saturated blobs of the last context frame (floors and backdrops are grey); each
is matched to the blob of the nearest hue and position in the frame before to get its velocity in
pixels per frame, cut out of the frame (its hole filled with the median colour around it), and
pasted back shifted by that velocity times the number of frames since the context.
"""
from __future__ import annotations

import cv2
import numpy as np

from .base import GENERATORS, GenerationRequest, Generator, Video

MIN_SATURATION, MIN_VALUE, MIN_AREA_PX, HUE_TOLERANCE_DEG = 80, 30, 8, 25.0


def blobs(frame: np.ndarray) -> list[dict]:
    """Saturated connected components of an RGB frame: mask, centroid (u, v) and mean hue in degrees."""
    hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV_FULL)
    saturated = ((hsv[..., 1] > MIN_SATURATION) & (hsv[..., 2] > MIN_VALUE)).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(saturated, connectivity=8)
    found = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < MIN_AREA_PX:
            continue
        mask = labels == label
        angles = np.deg2rad(hsv[..., 0][mask].astype(float) * 360.0 / 256.0)
        hue = float(np.rad2deg(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())) % 360.0)
        found.append({"mask": mask, "centre": centroids[label], "hue": hue})
    return found


def velocity(blob: dict, before: list[dict]) -> np.ndarray:
    """(du, dv) px per frame from the nearest same-hue blob of the previous frame (0 if none)."""
    same_hue = [b for b in before if min(abs(b["hue"] - blob["hue"]), 360 - abs(b["hue"] - blob["hue"]))
                <= HUE_TOLERANCE_DEG]
    if not same_hue:
        return np.zeros(2)
    nearest = min(same_hue, key=lambda b: np.hypot(*(b["centre"] - blob["centre"])))
    return blob["centre"] - nearest["centre"]


def background(frame: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """The frame with every mask (grown by 1 px) filled with the median colour of a ring around it."""
    plate = frame.copy()
    for mask in masks:
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        ring = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~grown
        plate[grown] = np.median(frame[ring], axis=0) if ring.any() else 128
    return plate


def extrapolate(context: np.ndarray, n_frames: int) -> np.ndarray:
    """uint8 (n_frames, H, W, 3): the context, then its objects moving on at constant velocity."""
    last = context[-1]
    current = blobs(last)
    before = blobs(context[-2]) if len(context) > 1 else []
    plate = background(last, [b["mask"] for b in current])
    height, width = last.shape[:2]
    frames = [frame for frame in context]
    moving = [(velocity(b, before), np.nonzero(b["mask"])) for b in current]
    for step in range(1, n_frames - len(context) + 1):
        frame = plate.copy()
        for speed, (ys, xs) in moving:
            dy, dx = np.round(speed[::-1] * step).astype(int)
            inside = (ys + dy >= 0) & (ys + dy < height) & (xs + dx >= 0) & (xs + dx < width)
            frame[ys[inside] + dy, xs[inside] + dx] = last[ys[inside], xs[inside]]
        frames.append(frame)
    return np.stack(frames)


@GENERATORS.register("linear")
class Linear(Generator):
    """Objects keep their last observed velocity; nothing else happens. A velocity needs two frames: v2v."""

    supported_conditioning = ("v2v",)

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        return [Video(extrapolate(request.context, request.n_frames), request.fps) for request in requests]
