"""A small convolutional frame autoencoder: 64x64x3 frames <-> 16x16xC latents (4x downsampling).

The diffusion transformer works in this latent space (Sora's recipe in miniature): 16 times
fewer positions than pixels, and a convolutional decoder that can draw a 4-pixel ball, which an
8x8-pixel patch projection could not (shared/reference/bundled-model-facts.md).

Every normalisation is local (over the channels of one position): with GroupNorm, whose
statistics span the whole frame, a 5-pixel ball moving over a flat backdrop changed the
statistics, so the latents of the untouched background changed with it (a latent MSE of 0.23
between two frames that differ by one ball), and the decoder washed out the whole frame when
any latent cell was off. A latent that is local is what lets the denoiser copy the background.
"""
from __future__ import annotations

import torch
from torch import nn

NORM = "channel"
"""Recorded in checkpoints: weights trained with another normalisation are refused."""


class ChannelNorm(nn.Module):
    """LayerNorm over the channels at each position of (N, C, H, W): no statistic crosses positions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


class ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ChannelNorm(channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
            ChannelNorm(channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class FrameAutoencoder(nn.Module):
    """encode: (N, 3, H, W) in [-1, 1] -> (N, latent_channels, H/4, W/4); decode: the inverse."""

    def __init__(self, latent_channels: int = 8, width: int = 48) -> None:
        super().__init__()
        self.latent_channels = latent_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), ResBlock(width),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), ResBlock(2 * width),
            nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1), ResBlock(2 * width),
            ChannelNorm(2 * width), nn.SiLU(), nn.Conv2d(2 * width, latent_channels, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 2 * width, 3, padding=1), ResBlock(2 * width),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            ResBlock(2 * width),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * width, width, 3, padding=1), ResBlock(width),
            ChannelNorm(width), nn.SiLU(), nn.Conv2d(width, 3, 3, padding=1),
        )

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        return self.encoder(frames)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latents = self.encode(frames)
        return self.decode(latents), latents


def load_autoencoder(path) -> tuple[FrameAutoencoder, int]:
    """The autoencoder saved at `path`, built to the size its checkpoint records, in eval mode; and its step."""
    from .checkpoint import load_checkpoint, read_info

    _, info = read_info(path)
    if info.get("norm") != NORM:
        raise ValueError(f"{path}: an autoencoder trained with {info.get('norm', 'group')} normalisation; this code "
                         f"builds {NORM} normalisation. Retrain it: physcheck train stage=autoencoder")
    model = FrameAutoencoder(info.get("latent_channels", 8), info.get("width", 32))
    step, _ = load_checkpoint(path, model)
    return model.eval(), step


def to_unit(frames_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) in [-1, 1]."""
    return frames_uint8.movedim(-1, -3).float() / 127.5 - 1.0


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """float (..., 3, H, W) in [-1, 1] -> uint8 (..., H, W, 3)."""
    return ((frames.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).movedim(-3, -1)
