"""The Generator interface, its request and output types, and the registry of generators."""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from simulators import Clip, Registry

GENERATORS: Registry[type[Generator]] = Registry("generator")


@dataclass(frozen=True)
class GenerationRequest:
    """What a model is given for one scenario.

    context: uint8 (n_context, H, W, 3) RGB, the opening frames. resolution is (H, W).
    The model must return n_frames frames in total, the context first.
    """

    clip_id: str
    prompt: str
    context: np.ndarray
    n_frames: int
    fps: float
    resolution: tuple[int, int]
    seed: int

    @property
    def n_context(self) -> int:
        return int(self.context.shape[0])

    @classmethod
    def from_clip(cls, clip: Clip, seed: int = 0) -> GenerationRequest:
        spec = clip.spec
        return cls(clip_id=clip.clip_id, prompt=clip.prompt, context=clip.video[: spec.n_context].copy(),
                   n_frames=spec.n_frames, fps=spec.fps, resolution=spec.resolution, seed=seed)


@dataclass
class Video:
    """A generated clip: uint8 (T, H, W, 3) RGB at `fps`; the first n_context frames are the context."""

    frames: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        frames = self.frames
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"Video frames must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.frames.shape)


GroundTruth = Callable[[str], Clip]
"""Looks up the ground-truth Clip of a clip_id (for reference generators such as oracle)."""


class Generator(abc.ABC):
    """A video model. Subclasses register with @GENERATORS.register("name").

    needs_ground_truth: set by reference generators (oracle, reverse) that read the true future;
    the runner then passes `ground_truth`. A real model never sets it.
    """

    needs_ground_truth: ClassVar[bool] = False
    batch_size: int = 8

    def __init__(self, ground_truth: GroundTruth | None = None) -> None:
        if self.needs_ground_truth and ground_truth is None:
            raise ValueError(f"{type(self).__name__} needs the ground truth; pass ground_truth=")
        self.ground_truth = ground_truth

    @abc.abstractmethod
    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        """One Video per request, in order."""

    def checksum(self) -> str:
        """Identifies the model's weights or inputs for the run manifest; '' when there are none."""
        return ""
