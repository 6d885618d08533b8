"""Observing videos, the metrics, failure tagging."""
from . import (  # noqa: F401  (registration)
    direction,
    dynamics,
    fidelity,
    joint_limits,
    occlusion,
    permanence,
    physics_iq,
    rigidity,
    trajectory,
)
from .base import METRICS, FailureEvent, MetricOutput, MetricSpec, register_metric
from .observation import Observation, ObserveConfig, observe
from .scoring import MetricScore, evaluate, score

PHYSICS_METRICS = ("trajectory", "velocity", "gravity", "permanence", "reemergence", "count", "rigidity", "direction",
                   "time_direction", "joint_limits")
"""The metrics that make the physics score."""
BESIDE_METRICS = ("piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_iou", "piq_mse", "psnr", "ssim", "flicker")
"""Reported beside the physics score, never in it: Physics-IQ's mask metrics (for comparison with that
benchmark) and visual fidelity. physics_iq_score is left out of the default: it re-simulates every clip."""
DEFAULT_METRICS = PHYSICS_METRICS + BESIDE_METRICS

__all__ = [
    "METRICS", "DEFAULT_METRICS", "PHYSICS_METRICS", "BESIDE_METRICS", "FailureEvent", "MetricOutput", "MetricSpec", "register_metric", "Observation",
    "ObserveConfig", "observe", "MetricScore", "evaluate", "score",
]
