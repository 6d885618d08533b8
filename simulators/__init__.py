"""Scenario families, the pybullet runner and renderer, and the ground-truth Clip format."""
from . import quiet  # noqa: F401  (first: imports pybullet without its banner)
from .cache import GroundTruthCache, cache_dir
from .clip import Clip, ClipCorruptError, ObjectInfo
from .families import FAMILIES, Family
from .registry import Registry, UnknownNameError
from .runner import simulate
from .spec import SPLITS, SUITE_VERSION, ScenarioSpec
from .suite import build_specs, make_spec

__all__ = [
    "Clip", "ClipCorruptError", "GroundTruthCache", "cache_dir", "ObjectInfo", "FAMILIES", "Family", "Registry", "UnknownNameError", "simulate",
    "SPLITS", "SUITE_VERSION", "ScenarioSpec", "build_specs", "make_spec",
]
