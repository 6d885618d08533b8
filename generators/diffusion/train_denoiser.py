"""Train the latent video denoiser on train-split clips encoded by the frozen autoencoder.

    python -m generators.diffusion.train_denoiser --steps 20000 --out checkpoints/denoiser.safetensors

Flow matching with clean-target (x0) prediction: x_sigma = (1 - sigma) x0 + sigma noise, with
sigma drawn from a logit-normal distribution; the loss is the mean of w * (x0_hat - x0)^2 over
the frames after the context, with w = 1 + object_weight on latent cells that hold a tracked
object (objects are a few percent of the cells; unweighted, the model learns the background).

--weighting truth puts that weight where the objects are in the target frames; --weighting context
where they are in the context frames (grown by 2 cells), the same for every frame. A weight that
depends on the target biases the optimum (the weighted mean of the possible futures leans to object
colours wherever an object might be: the samples grew coloured blobs all over the background); a
weight computed from the context alone leaves the optimum at the conditional mean.

--device cuda trains on a GPU (noise drawn there, bf16 autocast); --data reads a training set
written by `python -m generators.diffusion.data` instead of simulating it, so a machine with torch
but no simulator can train; --max-minutes stops (and saves) after that much training time; --keep-every
keeps a copy of the shipped weights every N steps (denoiser-step<N>.safetensors beside --out);
--family-weight collision=3 draws a family's clips more often (the default draws every clip alike);
--warmup W --lr-final F --schedule-start S: the learning rate rises linearly from 0 over W steps after step S,
then falls linearly to F at --steps (a function of the step alone, so a resumed run follows the same schedule;
the defaults keep --lr constant).
"""
from __future__ import annotations

import argparse
import copy
import csv
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .autoencoder import FrameAutoencoder, load_autoencoder, to_unit
from .checkpoint import load_ema, resume_training, save_checkpoint, save_training, update_ema
from .data import TrainingSet, load_training_set, read_training_sets
from .denoiser import VideoDenoiser
from .text import PromptEncoder


def build_model(width: int = 128, depth: int = 4, heads: int = 4, latent_channels: int = 8) -> nn.ModuleDict:
    return nn.ModuleDict({"denoiser": VideoDenoiser(latent_channels, 16, 2, width, depth, heads),
                          "prompts": PromptEncoder(width)})


@torch.no_grad()
def encode_clips(autoencoder: FrameAutoencoder, videos: np.ndarray, chunk: int = 256,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, T, H, W, 3) -> latents (N, T, C, h, w) on `device`."""
    frames = videos.reshape(-1, *videos.shape[2:])
    latents = torch.cat([autoencoder.encode(to_unit(torch.from_numpy(frames[i:i + chunk]).to(device)))
                         for i in range(0, len(frames), chunk)])
    return latents.reshape(*videos.shape[:2], *latents.shape[1:])


def object_cells(object_masks: np.ndarray, chunk: int = 64, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, T, H, W) object masks -> (N, T, 1, H/4, W/4) float: 1 where a latent cell holds an object."""
    cells = []
    for start in range(0, len(object_masks), chunk):
        masks = torch.from_numpy(object_masks[start:start + chunk]).to(device).float()
        pooled = nn.functional.max_pool2d(masks.reshape(-1, 1, *masks.shape[2:]), 4)
        cells.append(pooled.reshape(*masks.shape[:2], 1, *pooled.shape[2:]))
    return torch.cat(cells)


def clip_draw_probabilities(clip_ids: list[str], family_weights: list[str]) -> np.ndarray | None:
    """(N,) probability of drawing each clip when families are weighted ("collision=3": three times as often as
    a family left at 1); None (uniform draws) when no weight is given. Clip ids start with the family."""
    if not family_weights:
        return None
    weights: dict[str, float] = {}
    families = {clip_id.split("/")[0] for clip_id in clip_ids}
    for item in family_weights:
        family, _, value = item.partition("=")
        if family not in families or not value:
            raise ValueError(f"--family-weight {item!r}: expected FAMILY=W with FAMILY one of {', '.join(sorted(families))}")
        weights[family] = float(value)
    per_clip = np.array([weights.get(clip_id.split("/")[0], 1.0) for clip_id in clip_ids])
    return per_clip / per_clip.sum()


def learning_rate(step: int, lr: float, lr_final: float | None = None, warmup: int = 0,
                  schedule_start: int = 0, total_steps: int = 0) -> float:
    """Learning rate for optimizer step `step` (0-based, the step about to be taken): linear warmup from 0 to `lr`
    over `warmup` steps from `schedule_start`, then linear from `lr` to `lr_final` at `total_steps`."""
    since = step - schedule_start
    if warmup and since < warmup:
        return lr * (max(since, 0) + 1) / warmup
    if lr_final is None or total_steps <= schedule_start + warmup:
        return lr
    fraction = min(1.0, (since - warmup) / (total_steps - schedule_start - warmup))
    return lr + (lr_final - lr) * fraction


def latent_scale(latents: torch.Tensor, resumed: dict) -> tuple[float, float]:
    """(mean, std) the latents are normalised with: those of the resumed checkpoint when it has them (its weights
    learned with them, whatever data a resumed run adds), else the training latents' own."""
    if "latent_mean" in resumed and "latent_std" in resumed:
        return float(resumed["latent_mean"]), float(resumed["latent_std"])
    return float(latents.mean()), float(latents.std())


def pick_device(name: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; anything else as torch names it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--out", default="checkpoints/denoiser.safetensors", help="shipped weights (model only)")
    parser.add_argument("--state", default="", help="training state with the optimizer (default train_state/<out name>)")
    parser.add_argument("--autoencoder", default="checkpoints/autoencoder.safetensors")
    parser.add_argument("--clips-per-family", type=int, default=48)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--object-weight", type=float, default=10.0)
    parser.add_argument("--n-context", type=int, default=4)
    parser.add_argument("--weighting", choices=("truth", "context"), default="truth")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ema", type=float, default=0.0,
                        help="decay of a moving average of the weights, shipped instead of the raw weights (0: none)")
    parser.add_argument("--data", nargs="+", default=[], help="training-set .npz files (python -m "
                        "generators.diffusion.data), used together; default: simulate/read --clips-per-family "
                        "train clips per family")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or auto (cuda when available)")
    parser.add_argument("--max-minutes", type=float, default=0.0, help="stop and save after this long (0: no limit)")
    parser.add_argument("--keep-every", type=int, default=0, help="keep a copy of the weights every N steps (0: none)")
    parser.add_argument("--family-weight", action="append", default=[], metavar="FAMILY=W",
                        help="draw this family's clips W times as often (repeatable; default 1 for every family)")
    parser.add_argument("--lr-final", type=float, default=None, help="decay the learning rate linearly to this at --steps")
    parser.add_argument("--warmup", type=int, default=0, help="linear warmup steps from --schedule-start")
    parser.add_argument("--schedule-start", type=int, default=0, help="the step the warmup and decay count from")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)

    autoencoder, ae_step = load_autoencoder(args.autoencoder)
    autoencoder.to(device)
    data: TrainingSet = read_training_sets(args.data) if args.data else load_training_set(args.clips_per_family)
    latents = encode_clips(autoencoder, data.videos, device=device)
    cells = object_cells(data.object_masks, device=device)
    n_clips, prompts = len(data.videos), data.prompts
    draw_p = clip_draw_probabilities(data.clip_ids, args.family_weight)
    del data  # the frames are encoded: keep only latents, cells and prompts
    if args.weighting == "context":
        seen = cells[:, :args.n_context].amax(dim=1)
        grown = nn.functional.max_pool2d(seen, 5, stride=1, padding=2)
        weights_at = grown[:, None].expand_as(cells).contiguous()
    else:
        weights_at = cells

    model = build_model().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    out = Path(args.out)
    state = Path(args.state) if args.state else Path("train_state") / out.name
    step, resumed = resume_training(out, state, model, optimizer)
    mean, std = latent_scale(latents, resumed)
    latents = (latents - mean) / std
    ema = None
    if args.ema > 0:
        ema = copy.deepcopy(model).requires_grad_(False)
        if load_ema(state, ema):
            print(f"moving average (decay {args.ema}) resumed from {state}")
    info = {**{k: v for k, v in vars(args).items()
               if k not in ("out", "state", "threads", "data", "device", "max_minutes", "keep_every")},
            "latent_mean": mean, "latent_std": std, "autoencoder_step": ae_step, "training_clips": n_clips,
            "device": device.type}
    rng = np.random.default_rng([args.seed, step])
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".log.csv")
    new_log = not log_path.exists()
    n_frames = latents.shape[1]
    context_mask = torch.zeros(args.batch, n_frames, device=device)
    context_mask[:, :args.n_context] = 1.0
    noise_generator = torch.Generator(device).manual_seed(args.seed * 1_000_003 + step)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    with open(log_path, "a", newline="") as log_file, tqdm(total=args.steps, initial=step, desc="denoiser") as bar:
        log = csv.writer(log_file)
        if new_log:
            log.writerow(["step", "loss", "object_mse", "seconds"])
        start = time.time()
        while step < args.steps:
            if args.max_minutes and time.time() - start > 60 * args.max_minutes:
                print(f"stopping at step {step}: --max-minutes {args.max_minutes} reached")
                save_training(out, state, model, optimizer, step, info, ema=ema)
                break
            index = (rng.integers(0, len(latents), args.batch) if draw_p is None
                     else rng.choice(len(latents), args.batch, p=draw_p))
            clean = latents[index]
            sigma = torch.sigmoid(torch.from_numpy(rng.normal(0, 1, args.batch)).float()).to(device)
            noise = torch.randn(clean.shape, generator=noise_generator, device=device)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, args.lr, args.lr_final, args.warmup, args.schedule_start, args.steps)
            noisy = (1 - sigma)[:, None, None, None, None] * clean + sigma[:, None, None, None, None] * noise
            with autocast:
                predicted = model["denoiser"](noisy, clean, context_mask, sigma,
                                              model["prompts"]([prompts[i] for i in index])).float()
            weight = 1.0 + args.object_weight * weights_at[index]
            error = (predicted - clean).pow(2)[:, args.n_context:]
            loss = (weight[:, args.n_context:] * error).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if ema is not None:
                update_ema(ema, model, args.ema)
            step += 1
            bar.update()
            if step % 10 == 0:  # (reading the loss syncs a GPU: every 10th step only, once)
                loss_value = loss.detach().item()
                on_objects = (cells[index][:, args.n_context:] > 0).expand_as(error)
                log.writerow([step, f"{loss_value:.5f}", f"{float(error.detach()[on_objects].mean()):.5f}",
                              f"{time.time() - start:.0f}"])
                log_file.flush()
                bar.set_postfix(loss=f"{loss_value:.4f}")
            if step % args.checkpoint_every == 0 or step == args.steps:
                save_training(out, state, model, optimizer, step, info, ema=ema)
            if args.keep_every and step % args.keep_every == 0:
                save_checkpoint(out.with_name(f"{out.stem}-step{step}{out.suffix}"),
                                ema if ema is not None else model, None, step, info)


if __name__ == "__main__":
    main()
