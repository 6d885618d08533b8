"""Training data for the bundled model: ground-truth clips of the TRAIN split only.

Clips are simulated once into the ground-truth cache ($PHYSCHECK_CACHE) and held as uint8 arrays:
videos (N, T, H, W, 3) and object masks (N, T, H, W) marking tracked objects' pixels (for the
loss weighting that keeps small objects from being ignored).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from simulators import FAMILIES, GroundTruthCache, build_specs
from simulators import cache_dir as default_cache_dir


@dataclass
class TrainingSet:
    videos: np.ndarray
    object_masks: np.ndarray
    prompts: list[str]
    clip_ids: list[str]


def object_mask(seg: np.ndarray, tracked_ids: list[int], grow_px: int = 1) -> np.ndarray:
    """(T, H, W) uint8: 1 on tracked objects' pixels, grown by grow_px (their edges matter too)."""
    mask = np.isin(seg, tracked_ids).astype(np.uint8)
    if grow_px:
        kernel = np.ones((2 * grow_px + 1, 2 * grow_px + 1), np.uint8)
        mask = np.stack([cv2.dilate(frame, kernel) for frame in mask])
    return mask


def load_training_set(clips_per_family: int, families: list[str] | None = None, n_frames: int = 32,
                      fps: float = 8.0, resolution: tuple[int, int] = (64, 64), first_seed: int = 0,
                      cache_dir: Path | None = None, progress: bool = True) -> TrainingSet:
    families = families or FAMILIES.names()
    specs = build_specs(families, ["train"], clips_per_family, first_seed, n_frames=n_frames, fps=fps,
                        resolution=resolution)
    cache = GroundTruthCache(default_cache_dir(cache_dir or ""))
    videos = np.empty((len(specs), n_frames, *resolution, 3), np.uint8)
    masks = np.empty((len(specs), n_frames, *resolution), np.uint8)
    prompts, clip_ids = [], []
    for index, spec in enumerate(tqdm(specs, desc="training clips", unit="clip", disable=not progress)):
        clip = cache.get(spec)
        videos[index] = clip.video
        masks[index] = object_mask(clip.seg, [obj.id for obj in clip.tracked_objects])
        prompts.append(clip.prompt)
        clip_ids.append(clip.clip_id)
    return TrainingSet(videos, masks, prompts, clip_ids)
