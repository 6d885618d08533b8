"""Sampling: context frames and a prompt in, a video out (autoencoder + denoiser + flow-matching Euler).

The noise schedule and the sampler are diffusers' FlowMatchEulerDiscreteScheduler (x_sigma =
(1 - sigma) x0 + sigma noise); the denoiser predicts x0, turned into the velocity the scheduler
expects, v = (x_sigma - x0_hat) / sigma. Context frames are pinned to their true latents at every
step and their pixels are returned unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .autoencoder import FrameAutoencoder, to_uint8, to_unit
from .denoiser import VideoDenoiser
from .text import PromptEncoder


@dataclass
class LatentScale:
    """Latents are standardised as (z - mean) / std before diffusion."""

    mean: float
    std: float


class VideoPipeline:
    def __init__(self, autoencoder: FrameAutoencoder, denoiser: VideoDenoiser, prompt_encoder: PromptEncoder,
                 scale: LatentScale, steps: int = 24, start_sigma: float = 1.0) -> None:
        """start_sigma < 1 starts from the last context frame repeated, noised to that level (SDEdit), and
        spends the steps on sigmas start_sigma .. 0; 1 starts from pure noise."""
        if not 0.0 < start_sigma <= 1.0:
            raise ValueError(f"start_sigma must be in (0, 1], got {start_sigma}")
        self.autoencoder, self.denoiser, self.prompt_encoder = autoencoder.eval(), denoiser.eval(), prompt_encoder.eval()
        self.scale, self.steps, self.start_sigma = scale, steps, start_sigma

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, T, H, W, 3) -> standardised latents (B, T, C, h, w)."""
        batch, length = frames.shape[:2]
        latents = self.autoencoder.encode(to_unit(frames.reshape(batch * length, *frames.shape[2:])))
        return ((latents - self.scale.mean) / self.scale.std).reshape(batch, length, *latents.shape[1:])

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """standardised latents (B, T, C, h, w) -> uint8 (B, T, H, W, 3), one clip at a time: the decoder's
        full-resolution activations of a whole batch would dominate a worker's memory (256 MB for 8 clips)."""
        clips = [to_uint8(self.autoencoder.decode(clip * self.scale.std + self.scale.mean)) for clip in latents]
        return torch.stack(clips)

    @torch.no_grad()
    def __call__(self, contexts: list[np.ndarray], prompts: list[str], n_frames: int, seeds: list[int]) -> list[np.ndarray]:
        """contexts: uint8 (n_context, H, W, 3) each; returns uint8 (n_frames, H, W, 3) each, context first."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        n_context = contexts[0].shape[0]
        given = torch.from_numpy(np.stack(contexts))
        context_latents = self.encode(given)
        batch, _, channels, height, width = context_latents.shape
        context = torch.zeros(batch, n_frames, channels, height, width)
        context[:, :n_context] = context_latents
        mask = torch.zeros(batch, n_frames)
        mask[:, :n_context] = 1.0
        noise = torch.stack([torch.randn(n_frames, channels, height, width, generator=torch.Generator().manual_seed(s))
                             for s in seeds])
        scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
        if self.start_sigma < 1.0:
            scheduler.set_timesteps(sigmas=np.linspace(self.start_sigma, self.start_sigma / self.steps, self.steps).tolist())
            last = context_latents[:, -1:].expand(batch, n_frames, channels, height, width)
            latents = (1 - self.start_sigma) * last + self.start_sigma * noise
        else:
            scheduler.set_timesteps(self.steps)
            latents = noise.clone()  # the context rows are rewritten in place below
        prompt_embedding = self.prompt_encoder(prompts)
        for index, timestep in enumerate(scheduler.timesteps):
            sigma = scheduler.sigmas[index].expand(batch)
            latents[:, :n_context] = (1 - sigma[0]) * context_latents + sigma[0] * noise[:, :n_context]
            clean = self.denoiser(latents, context, mask, sigma, prompt_embedding)
            velocity = (latents - clean) / sigma[0].clamp(min=1e-4)
            latents = scheduler.step(velocity, timestep, latents).prev_sample
        latents[:, :n_context] = context_latents
        frames = self.decode(latents).numpy()
        frames[:, :n_context] = np.stack(contexts)
        return list(frames)
