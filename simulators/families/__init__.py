"""Scenario families; importing this package registers every family in FAMILIES."""
from . import collision, free_fall, occlusion, projectile  # noqa: F401  (registration)
from .base import FAMILIES, Family

__all__ = ["FAMILIES", "Family"]
