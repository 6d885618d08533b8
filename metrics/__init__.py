"""Observing videos, the metrics, failure tagging."""
from . import permanence, trajectory  # noqa: F401  (registration)
from .base import METRICS, FailureEvent, MetricOutput, MetricSpec, register_metric
from .observation import Observation, ObserveConfig, observe
from .scoring import MetricScore, evaluate, score

DEFAULT_METRICS = ("trajectory", "permanence")

__all__ = [
    "METRICS", "DEFAULT_METRICS", "FailureEvent", "MetricOutput", "MetricSpec", "register_metric", "Observation",
    "ObserveConfig", "observe", "MetricScore", "evaluate", "score",
]
