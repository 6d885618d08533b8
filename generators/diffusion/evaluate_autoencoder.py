"""How well the frame autoencoder keeps the objects: physcheck's own metrics on round-tripped clips.

    python -m generators.diffusion.evaluate_autoencoder --checkpoint checkpoints/autoencoder.safetensors

Encodes and decodes eval-split clips of every family (never seen in training) and scores the
decoded videos against the ground truth with the default metrics: a latent that loses a ball or
blurs it into the floor shows up as lost detections and centroid error, which a pixel loss hides.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch

from metrics import DEFAULT_METRICS, evaluate, observe
from simulators import FAMILIES, GroundTruthCache, cache_dir, make_spec

from .autoencoder import FrameAutoencoder, load_autoencoder, to_uint8, to_unit


def round_trip(model: FrameAutoencoder, video: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(model.decode(model.encode(to_unit(torch.from_numpy(video))))).numpy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="checkpoints/autoencoder.safetensors")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, step = load_autoencoder(args.checkpoint)
    cache = GroundTruthCache(cache_dir())
    rows = []
    for family in FAMILIES.names():
        for seed in range(args.seeds):
            clip = cache.get(make_spec(family, "eval", seed))
            decoded = round_trip(model, clip.video)
            observation = observe(decoded, clip)
            visible = clip.track_matrix("visible_frac") >= 0.5
            scores, events = evaluate(decoded, clip, DEFAULT_METRICS)
            error = np.hypot(observation.u - clip.track_matrix("seg_u"), observation.v - clip.track_matrix("seg_v"))
            rows.append({
                "family": family, "seed": seed,
                "psnr_db": float(10 * np.log10(255**2 / np.mean((decoded.astype(float) - clip.video) ** 2))),
                "detected": float(observation.detected[visible].mean()),
                "centroid_error_px": float(np.nanmean(error[visible & observation.detected])),
                **{score.metric: score.value for score in scores}, "tags": len(events),
            })
    table = pd.DataFrame(rows)
    print(f"autoencoder at step {step}")
    print(table.groupby("family").mean(numeric_only=True).drop(columns="seed").round(3).to_markdown())
    print("all:", table.mean(numeric_only=True).drop("seed").round(3).to_dict())


if __name__ == "__main__":
    main()
