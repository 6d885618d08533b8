"""Shared fixtures: ground-truth clips simulated once per test session."""
from __future__ import annotations

import pytest

from simulators import FAMILIES, Clip, make_spec, simulate

CORE_TIMING = {"n_frames": 32, "fps": 8.0, "resolution": (64, 64), "n_context": 4}


@pytest.fixture(scope="session")
def core_clips() -> dict[str, list[Clip]]:
    """Two eval clips per family at the core suite's timing."""
    return {family: [simulate(make_spec(family, "eval", seed, **CORE_TIMING)) for seed in (0, 1)]
            for family in FAMILIES}


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's ground-truth cache out of the user's cache folder."""
    monkeypatch.setenv("PHYSCHECK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
