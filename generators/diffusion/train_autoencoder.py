"""Train the frame autoencoder on train-split frames, with checkpoints and resume.

    python -m generators.diffusion.train_autoencoder --steps 3000 --out checkpoints/autoencoder.safetensors

Loss: mean over pixels of w * (decoded - frame)^2 with w = 1 + object_weight on tracked objects'
pixels (objects are ~2% of the pixels; unweighted, the model learns the background and loses
them), plus latent_penalty * mean(latent^2) to keep the latent scale bounded for diffusion.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .autoencoder import NORM, FrameAutoencoder, to_unit
from .checkpoint import resume_training, save_training
from .data import load_training_set


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="total optimiser steps (resumes count)")
    parser.add_argument("--out", default="checkpoints/autoencoder.safetensors", help="shipped weights (model only)")
    parser.add_argument("--state", default="", help="training state with the optimizer (default train_state/<out name>)")
    parser.add_argument("--clips-per-family", type=int, default=48)
    parser.add_argument("--batch", type=int, default=24, help="frames per step")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--object-weight", type=float, default=20.0)
    parser.add_argument("--latent-penalty", type=float, default=1e-4)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--latent-channels", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    data = load_training_set(args.clips_per_family)
    frames = data.videos.reshape(-1, *data.videos.shape[2:])
    masks = data.object_masks.reshape(-1, *data.object_masks.shape[2:])
    model = FrameAutoencoder(args.latent_channels, args.width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    out = Path(args.out)
    state = Path(args.state) if args.state else Path("train_state") / out.name
    step, _ = resume_training(out, state, model, optimizer)
    log_path = out.with_suffix(".log.csv")
    new_log = not log_path.exists()
    rng = np.random.default_rng([args.seed, step])
    info = {k: v for k, v in vars(args).items() if k not in ("out", "state", "threads")}
    info["training_frames"] = int(len(frames))
    info["norm"] = NORM
    with open(log_path, "a", newline="") as log_file, tqdm(total=args.steps, initial=step, desc="autoencoder") as bar:
        log = csv.writer(log_file)
        if new_log:
            log.writerow(["step", "loss", "object_mse", "background_mse", "seconds"])
        start = time.time()
        while step < args.steps:
            index = rng.integers(0, len(frames), args.batch)
            batch = to_unit(torch.from_numpy(frames[index]))
            weight = 1.0 + args.object_weight * torch.from_numpy(masks[index]).float()[:, None]
            decoded, latents = model(batch)
            error = (decoded - batch).pow(2)
            loss = (weight * error).mean() + args.latent_penalty * latents.pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            bar.update()
            if step % 10 == 0:
                on_objects = weight > 1
                object_mse = float(error.mean(1, keepdim=True)[on_objects].mean())
                background_mse = float(error.mean(1, keepdim=True)[~on_objects].mean())
                log.writerow([step, f"{loss.item():.5f}", f"{object_mse:.5f}", f"{background_mse:.5f}",
                              f"{time.time() - start:.0f}"])
                log_file.flush()
                bar.set_postfix(loss=f"{loss.item():.4f}", obj=f"{object_mse:.4f}")
            if step % args.checkpoint_every == 0 or step == args.steps:
                save_training(out, state, model, optimizer, step, info)


if __name__ == "__main__":
    main()
