"""A latent video diffusion transformer with factorised space-time attention (a miniature DiT).

Input: noisy latents (B, T, C, h, w), the context latents with their mask, the noise level sigma
in [0, 1] and the prompt embedding. Tokens are 2x2 latent patches; each block attends within a
frame, then across frames at the same position, then applies an MLP, all modulated by adaLN
from the noise level and the prompt. Output: the clean latents (x-prediction), as the last
context frame plus a predicted change (bundled-model-facts.md: at this size, predicting noise or
velocity collapsed; clean targets relative to the context worked).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoid(values: torch.Tensor, width: int) -> torch.Tensor:
    """(N,) -> (N, width) sinusoidal features of scalars."""
    half = width // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=values.device) / half)
    angles = values[:, None].float() * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norms = nn.ModuleList([nn.LayerNorm(width, elementwise_affine=False) for _ in range(3)])
        self.spatial = nn.MultiheadAttention(width, heads, batch_first=True)
        self.temporal = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.modulation = nn.Linear(width, 9 * width)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """x: (B, T, N, D) tokens; condition: (B, D)."""
        batch, frames, tokens, width = x.shape
        chunks = self.modulation(condition)[:, None, None].chunk(9, dim=-1)
        shift, scale, gate = chunks[0:3], chunks[3:6], chunks[6:9]
        h = self.norms[0](x) * (1 + scale[0]) + shift[0]
        h = h.reshape(batch * frames, tokens, width)
        h = self.spatial(h, h, h, need_weights=False)[0].reshape(batch, frames, tokens, width)
        x = x + gate[0] * h
        h = self.norms[1](x) * (1 + scale[1]) + shift[1]
        h = h.transpose(1, 2).reshape(batch * tokens, frames, width)
        h = self.temporal(h, h, h, need_weights=False)[0].reshape(batch, tokens, frames, width).transpose(1, 2)
        x = x + gate[1] * h
        h = self.norms[2](x) * (1 + scale[2]) + shift[2]
        return x + gate[2] * self.mlp(h)


class VideoDenoiser(nn.Module):
    """Predicts clean latents (B, T, C, h, w) from noisy ones, the context and the noise level."""

    def __init__(self, latent_channels: int = 8, latent_size: int = 16, patch: int = 2, width: int = 128,
                 depth: int = 4, heads: int = 4) -> None:
        super().__init__()
        self.latent_channels, self.patch, self.width = latent_channels, patch, width
        tokens_per_side = latent_size // patch
        patch_dim = (2 * latent_channels + 1) * patch * patch
        self.embed = nn.Linear(patch_dim, width)
        self.spatial_position = nn.Parameter(torch.randn(tokens_per_side * tokens_per_side, width) * 0.02)
        self.noise_embed = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(depth)])
        self.out_norm = nn.LayerNorm(width, elementwise_affine=False)
        self.out = nn.Linear(width, latent_channels * patch * patch)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        batch, frames, channels, height, width = x.shape
        p = self.patch
        x = x.reshape(batch, frames, channels, height // p, p, width // p, p)
        return x.permute(0, 1, 3, 5, 2, 4, 6).reshape(batch, frames, (height // p) * (width // p), channels * p * p)

    def unpatchify(self, tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
        batch, frames, _, _ = tokens.shape
        p, channels = self.patch, self.latent_channels
        x = tokens.reshape(batch, frames, height // p, width // p, channels, p, p)
        return x.permute(0, 1, 4, 2, 5, 3, 6).reshape(batch, frames, channels, height, width)

    def forward(self, noisy: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor, sigma: torch.Tensor,
                prompt_embedding: torch.Tensor) -> torch.Tensor:
        """noisy, context: (B, T, C, h, w); context_mask: (B, T) 1 for given frames; sigma: (B,);
        prompt_embedding: (B, D). Returns predicted clean latents (B, T, C, h, w)."""
        batch, frames, channels, height, width = noisy.shape
        mask = context_mask[:, :, None, None, None].expand(batch, frames, 1, height, width).to(noisy.dtype)
        tokens = self.embed(self.patchify(torch.cat([noisy, context * mask, mask], dim=2)))
        time_position = sinusoid(torch.arange(frames, device=noisy.device), self.width)
        tokens = tokens + self.spatial_position[None, None] + time_position[None, :, None]
        condition = self.noise_embed(sinusoid(sigma * 1000.0, self.width)) + prompt_embedding
        for block in self.blocks:
            tokens = block(tokens, condition)
        change = self.unpatchify(self.out(self.out_norm(tokens)), height, width)
        index = (context_mask.sum(dim=1).long() - 1).clamp(min=0)
        last_context = context[torch.arange(batch), index][:, None]
        return last_context + change
