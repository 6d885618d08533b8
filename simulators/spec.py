"""ScenarioSpec: everything that determines one ground-truth clip."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

SUITE_VERSION = "3"
"""Bumped whenever a change to any family changes the clips it generates.

2: palette, visual variety and nine new families.
3: complete prompts (every tracked object's colour, shape and size, the camera's side, height and
   distance, the event) so that a text-to-video model needs no frames; videos and physics unchanged.
"""

SPLITS = ("train", "eval", "ood")


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario run.

    resolution is (height, width) in pixels; fps is frames per second of the recorded clip;
    n_context is the number of leading frames a generator is given.
    params are the family's physical parameters, sampled from (family, split, seed).
    """

    family: str
    split: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    n_frames: int = 32
    fps: float = 8.0
    resolution: tuple[int, int] = (64, 64)
    n_context: int = 4
    canonical: bool = False
    """True: the visual parameters in params are the canonical ones (no per-seed variety)."""

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split {self.split!r} is not one of {', '.join(SPLITS)}")
        if self.n_frames < 2:
            raise ValueError(f"n_frames must be at least 2, got {self.n_frames}")
        if not 1 <= self.n_context < self.n_frames:
            raise ValueError(
                f"n_context must be in [1, n_frames - 1] = [1, {self.n_frames - 1}], got {self.n_context}"
            )
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        height, width = self.resolution
        if not (16 <= height <= 1024 and 16 <= width <= 1024):
            raise ValueError(f"resolution must be within 16..1024 px, got {self.resolution}")
        object.__setattr__(self, "resolution", (int(height), int(width)))

    @property
    def clip_id(self) -> str:
        return f"{self.family}/{self.split}/{self.seed:05d}"

    @property
    def height(self) -> int:
        return self.resolution[0]

    @property
    def width(self) -> int:
        return self.resolution[1]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["resolution"] = list(self.resolution)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioSpec:
        data = dict(data)
        data["resolution"] = tuple(data["resolution"])
        return cls(**data)

    @property
    def spec_hash(self) -> str:
        """Stable 16-hex-digit hash of the spec and SUITE_VERSION (the ground-truth cache key)."""
        payload = json.dumps(
            {"suite_version": SUITE_VERSION, "spec": self.to_dict()}, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
