"""Score one clip: observe the video once, then run every requested metric on it."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simulators import Clip

from .base import METRICS, FailureEvent
from .observation import Observation, observe


@dataclass(frozen=True)
class MetricScore:
    """One (clip, metric) row of scores.parquet."""

    metric: str
    value: float
    raw: float
    unit: str
    reason: str


def score(clip: Clip, observation: Observation, metric_names: Sequence[str]) -> tuple[list[MetricScore], list[FailureEvent]]:
    scores, events = [], []
    for name in metric_names:
        spec = METRICS.get(name)
        output = spec.fn(clip, observation)
        value = float(output.value)
        if not (np.isnan(value) or 0.0 <= value <= 1.0):
            raise ValueError(f"metric {name} returned {value} outside [0, 1] for {clip.clip_id}")
        scores.append(MetricScore(name, value, float(output.raw), spec.unit, output.reason))
        events.extend(output.events)
    return scores, events


def evaluate(frames: np.ndarray, clip: Clip, metric_names: Sequence[str]) -> tuple[list[MetricScore], list[FailureEvent]]:
    """observe() then score(); frames are uint8 (T, H, W, 3) of the clip's shape."""
    return score(clip, observe(frames, clip), metric_names)
