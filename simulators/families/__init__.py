"""Scenario families; importing this package imports every module in it, registering each family."""
import importlib
import pkgutil

from .base import FAMILIES, Family

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FAMILIES", "Family"]
