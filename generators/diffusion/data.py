"""Training data for the bundled model: ground-truth clips of the TRAIN split only.

Clips are simulated once into the ground-truth cache ($PHYSCHECK_CACHE) and held as uint8 arrays:
videos (N, T, H, W, 3) and object masks (N, T, H, W) marking tracked objects' pixels (for the
loss weighting that keeps small objects from being ignored).

A training set can also be written to one .npz file and trained from on a machine that has torch
but no simulator (a lent GPU machine):

    python -m generators.diffusion.data --clips-per-family 320 --out train_data/train-320.npz
    python -m generators.diffusion.train_denoiser --data train_data/train-320.npz --device cuda ...

A supplement of one family is written with `--families collision --first-seed 320` (seeds past the main set's)
and trained on beside it (`--data train-320.npz collision-320.npz`; a clip in two files is refused).

`--no-compress` writes the arrays as they are, for an outer compressor (xz packs the 4,160 clips of
320 per family into 27 MB, 6.6 KB a clip, against 12 KB with the .npz's own zip compression).

The file holds no pickled objects: prompts and clip ids are stored as numpy unicode arrays.
"""
from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm


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
    """The first `clips_per_family` train-split clips of each family (simulated or read from the cache)."""
    from simulators import FAMILIES, GroundTruthCache, build_specs  # only here: a saved set needs no simulator
    from simulators import cache_dir as default_cache_dir

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


def save_training_set(training_set: TrainingSet, path: str | Path, compress: bool = True) -> Path:
    """Write `training_set` to one .npz, zip-compressed unless `compress` is False (atomically); read it back with
    read_training_set."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.stem}.tmp.npz")
    (np.savez_compressed if compress else np.savez)(staging, videos=training_set.videos, object_masks=training_set.object_masks,
                        prompts=np.array(training_set.prompts, dtype=str),
                        clip_ids=np.array(training_set.clip_ids, dtype=str))
    staging.replace(path)
    return path


def read_training_set(path: str | Path) -> TrainingSet:
    """The training set saved by save_training_set (never unpickles)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training-set file; write one with "
                                f"`python -m generators.diffusion.data --out {path}`")
    with np.load(path, allow_pickle=False) as data:
        return TrainingSet(data["videos"], data["object_masks"], [str(p) for p in data["prompts"]],
                           [str(c) for c in data["clip_ids"]])


def read_training_sets(paths: list[str | Path]) -> TrainingSet:
    """Several saved training sets as one (a set and its supplements); a clip in two of them is refused."""
    sets = [read_training_set(path) for path in paths]
    clip_ids = [clip_id for training_set in sets for clip_id in training_set.clip_ids]
    repeated = sorted(clip_id for clip_id, count in Counter(clip_ids).items() if count > 1)
    if repeated:
        raise ValueError(f"{', '.join(map(str, paths))}: clip {repeated[0]} is in more than one file "
                         f"({len(repeated)} repeated); write supplements with a --first-seed past the other files' seeds")
    if len(sets) == 1:
        return sets[0]
    return TrainingSet(np.concatenate([s.videos for s in sets]), np.concatenate([s.object_masks for s in sets]),
                       [p for s in sets for p in s.prompts], clip_ids)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the train-split training set to one .npz file.")
    parser.add_argument("--clips-per-family", type=int, default=48)
    parser.add_argument("--families", nargs="+", default=None, help="only these families (default: all)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first train seed of each family (a supplement to a set that holds seeds below it)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-compress", action="store_true", help="store the arrays as they are (for xz)")
    args = parser.parse_args(argv)
    training_set = load_training_set(args.clips_per_family, families=args.families, first_seed=args.first_seed)
    path = save_training_set(training_set, args.out, compress=not args.no_compress)
    print(f"{path}: {len(training_set.videos)} clips, {path.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
