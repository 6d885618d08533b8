"""The Generator interface, its request and output types, the conditioning modes, and the registry of generators."""
from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from simulators import Clip, Registry

GENERATORS: Registry[type[Generator]] = Registry("generator")


@dataclass(frozen=True)
class ConditioningMode:
    """What a model is given besides the prompt, and what that means for scoring.

    context_frames: how many of the clip's opening frames the request carries (None: the suite's
    n_context). aligned: the generated scene starts from the true first frame, so metrics that compare
    with the ground truth pixel by pixel apply (MetricSpec.needs_alignment); False makes them not
    applicable (NaN with a reason, never 0).
    """

    name: str
    context_frames: int | None
    aligned: bool
    description: str

    def given_frames(self, n_context: int) -> int:
        """Number of context frames a request carries for a suite with n_context context frames."""
        return n_context if self.context_frames is None else self.context_frames


CONDITIONING: dict[str, ConditioningMode] = {mode.name: mode for mode in (
    ConditioningMode("v2v", None, True, "the n_context opening frames and the prompt"),
    ConditioningMode("i2v", 1, True, "the first frame and the prompt"),
    ConditioningMode("t2v", 0, False, "the prompt only"),
)}
"""The conditioning modes (run config key `conditioning`, default v2v). Whatever the mode, a model returns
n_frames frames and the metrics score frames n_context.. (the suite's n_context). In v2v frames
0..n_context-1 are the true context. In i2v frame 0 is the given first frame and frames 1..n_context-1
are the model's own; in t2v frames 0..n_context-1 are all the model's own. Nothing overwrites a model's
own frames with the truth. i2v counts as aligned: the scene lines up with the ground truth at frame 0
(same camera, same objects in the same places), as in v2v; only what one frame cannot show (velocities,
when a held object is let go) must come from the prompt."""
CONDITIONING_MODES: tuple[str, ...] = tuple(CONDITIONING)
"""Mode names, in the order the docs list them."""


def conditioning_mode(name: str, key: str = "conditioning") -> ConditioningMode:
    """The mode called `name`; ValueError (one line naming `key` and the allowed values) otherwise."""
    if name not in CONDITIONING:
        raise ValueError(f"{key}={name!r} is not a conditioning mode; use one of {', '.join(CONDITIONING_MODES)}")
    return CONDITIONING[name]


@dataclass(frozen=True)
class GenerationRequest:
    """What a model is given for one scenario.

    context: uint8 (k, H, W, 3) RGB, the opening frames the mode gives (CONDITIONING): k = the suite's
    n_context in v2v, 1 in i2v, 0 in t2v (an empty (0, H, W, 3) array). resolution is (H, W).
    The model returns n_frames frames in total; the given context frames may stand in front, and the
    frames after them are the model's own.
    """

    clip_id: str
    prompt: str
    context: np.ndarray
    n_frames: int
    fps: float
    resolution: tuple[int, int]
    seed: int
    conditioning: str = "v2v"

    def __post_init__(self) -> None:
        mode = conditioning_mode(self.conditioning, key="GenerationRequest.conditioning")
        expected = (*self.resolution, 3)
        if self.context.ndim != 4 or tuple(self.context.shape[1:]) != expected:
            raise ValueError(f"{self.clip_id}: context must be (k, {expected[0]}, {expected[1]}, 3), "
                             f"got {self.context.shape}")
        if mode.context_frames is not None and self.n_context != mode.context_frames:
            raise ValueError(f"{self.clip_id}: conditioning {mode.name} gives {mode.context_frames} context "
                             f"frame(s), got {self.n_context}")

    @property
    def n_context(self) -> int:
        """Context frames given (0 in t2v, 1 in i2v); the suite's n_context only in v2v."""
        return int(self.context.shape[0])

    @classmethod
    def from_clip(cls, clip: Clip, seed: int = 0, conditioning: str = "v2v") -> GenerationRequest:
        spec = clip.spec
        given = conditioning_mode(conditioning).given_frames(spec.n_context)
        return cls(clip_id=clip.clip_id, prompt=clip.prompt, context=clip.video[:given].copy(),
                   n_frames=spec.n_frames, fps=spec.fps, resolution=spec.resolution, seed=seed,
                   conditioning=conditioning)


@dataclass
class Video:
    """A generated clip: uint8 (T, H, W, 3) RGB at `fps`; the request's given frames (if any) come first."""

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
    supported_conditioning: the modes (CONDITIONING) the class can honestly serve; a run in another mode
    is refused before any work. An instance may narrow them (conditioning_modes()): a loaded pipeline
    or a folder whose manifest records its mode. A class that declares nothing takes v2v only (the
    contract every Generator had before the modes existed).
    """

    needs_ground_truth: ClassVar[bool] = False
    supported_conditioning: ClassVar[tuple[str, ...]] = ("v2v",)
    cache_videos: ClassVar[bool] = False
    """True for a model whose videos are worth caching (sampling costs far more than reading them back) and
    depend only on its options, its checksum() and the requests: bench/video_cache.py."""
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

    def conditioning_modes(self) -> tuple[str, ...]:
        """The modes this instance serves: the class's declaration unless the instance knows better."""
        return self.supported_conditioning

    def conditioning_source(self) -> str:
        """Where conditioning_modes() comes from when it is narrower than the class's ('' otherwise)."""
        return ""


def check_conditioning(name: str, modes: tuple[str, ...], conditioning: str, source: str = "") -> None:
    """ValueError, one line, when `conditioning` is not among a generator's modes."""
    if conditioning not in modes:
        where = f" ({source})" if source else ""
        raise ValueError(f"generator {name!r} supports conditioning {', '.join(modes)}{where}; got {conditioning}")
