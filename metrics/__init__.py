"""Observing videos, the metrics, failure tagging."""
from . import (  # noqa: F401  (registration)
    direction,
    dynamics,
    fidelity,
    joint_limits,
    occlusion,
    permanence,
    physics_iq,
    reference_free_direction,
    reference_free_dynamics,
    reference_free_permanence,
    reference_free_shape,
    rigidity,
    trajectory,
)
from .base import METRICS, FailureEvent, MetricOutput, MetricSpec, register_metric
from .observation import Observation, ObserveConfig, observe
from .scoring import MetricScore, evaluate, score

PHYSICS_METRICS = ("trajectory", "velocity", "gravity", "permanence", "reemergence", "count", "rigidity", "direction",
                   "time_direction", "joint_limits")
"""The metrics that make the physics score."""
REFERENCE_FREE_METRICS = ("gravity_free", "permanence_free", "rigidity_free", "direction_free", "time_direction_free")
"""Metrics that read only the observed video and the prompt's metadata (needs_alignment=False). Computed in every
run: in text-to-video they are the physics evidence that applies; in v2v they are extra evidence reported beside
the aligned metrics (keeping them out of the v2v principle means keeps every existing score comparable:
docs/metrics.md, "Reference-free metrics")."""
BESIDE_METRICS = ("piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_iou", "piq_mse", "psnr", "ssim", "flicker")
"""Reported beside the physics score, never in it: Physics-IQ's mask metrics (for comparison with that
benchmark) and visual fidelity. physics_iq_score is left out of the default: it re-simulates every clip."""
DEFAULT_METRICS = PHYSICS_METRICS + REFERENCE_FREE_METRICS + BESIDE_METRICS

__all__ = [
    "METRICS", "DEFAULT_METRICS", "PHYSICS_METRICS", "REFERENCE_FREE_METRICS", "BESIDE_METRICS", "FailureEvent", "MetricOutput", "MetricSpec", "register_metric", "Observation",
    "ObserveConfig", "observe", "MetricScore", "evaluate", "score",
]
