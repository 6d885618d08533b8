"""Metric and failure-event types, and the registry of metrics."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simulators import Clip, Registry

from .observation import Observation


@dataclass(frozen=True)
class FailureEvent:
    """A named physics failure at one frame. severity in [0, 1]; object is '' when none applies."""

    clip_id: str
    tag: str
    frame: int
    object: str
    severity: float
    message: str


@dataclass
class MetricOutput:
    """value in [0, 1] (1 = physically right) or NaN with `reason`; raw in the metric's unit."""

    value: float
    raw: float
    events: list[FailureEvent] = field(default_factory=list)
    reason: str = ""


MetricFn = Callable[[Clip, Observation], MetricOutput]


@dataclass(frozen=True)
class MetricSpec:
    """A metric: its pure function and what it stands for.

    principle: the physical principle it scores. unit: of the raw value.
    needs_alignment: compares pixels with the ground truth, so it only applies when the video
    starts from the true context (not to text-to-video). tags: failure tags it can raise.
    """

    name: str
    fn: MetricFn
    principle: str
    unit: str
    needs_alignment: bool
    tags: tuple[str, ...]
    description: str


METRICS: Registry[MetricSpec] = Registry("metric")


def register_metric(name: str, *, principle: str, unit: str, needs_alignment: bool, tags: tuple[str, ...] = ()):
    """Decorator registering a metric function (Clip, Observation) -> MetricOutput."""

    def decorate(fn: MetricFn) -> MetricFn:
        description = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        METRICS.add(name, MetricSpec(name, fn, principle, unit, needs_alignment, tuple(tags), description))
        return fn

    return decorate
