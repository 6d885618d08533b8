"""Suites: lists of scenario specs built from a family list, splits and seed counts."""
from __future__ import annotations

from collections.abc import Sequence

from .families import FAMILIES
from .spec import ScenarioSpec


def make_spec(family: str, split: str, seed: int, *, n_frames: int = 32, fps: float = 8.0,
              resolution: Sequence[int] = (64, 64), n_context: int = 4, canonical: bool = False) -> ScenarioSpec:
    """A spec whose physical and visual parameters are sampled from (family, split, seed)."""
    params = FAMILIES.get(family)().sample_params(split, seed, canonical)
    return ScenarioSpec(family=family, split=split, seed=seed, params=params, n_frames=n_frames, fps=fps,
                        resolution=tuple(resolution), n_context=n_context, canonical=canonical)


def build_specs(families: Sequence[str], splits: Sequence[str], n_seeds: int, first_seed: int = 0,
                **timing) -> list[ScenarioSpec]:
    """Every (family, split, seed) combination, in that order."""
    return [make_spec(family, split, seed, **timing)
            for family in families for split in splits for seed in range(first_seed, first_seed + n_seeds)]
