"""The physical-variance take of a scenario: the same scene re-simulated from a nudged initial state.

Physics-IQ defines 100% by two real takes of one scene; here the second take is the clip's spec
with its physical parameters moved a little (physical_variance_spec). Used by the
`physical_variance` generator (the ceiling row) and by metrics.physics_iq (the per-clip ceiling).
"""
from __future__ import annotations

import zlib
from dataclasses import asdict, is_dataclass

import numpy as np

from .families import FAMILIES
from .runner import simulate
from .spec import SPLITS, ScenarioSpec

PERTURBATION_SHARE = 1e-3
"""physical-variance take: each physical parameter moves by this share of its sampling range."""
STRUCTURE_TOLERANCE = 0.01
"""A perturbation is kept only if every derived scene number moves by at most this (absolute + relative):
bigger jumps mean a parameter crossed a choice (a count, a side, a random layout)."""


def physical_variance_spec(spec: ScenarioSpec) -> ScenarioSpec:
    """The same scenario with its initial state nudged: Physics-IQ's second take of a scene.

    Each physical parameter (the family's sampled ranges, not the visual ones) moves by
    PERTURBATION_SHARE of its range, up or down by a sign drawn from the spec's seed. A move is kept
    only when the scene it builds has the same bodies, prompt and choices with every number within
    STRUCTURE_TOLERANCE (else the other sign is tried, else the parameter stays), so counts, sides
    and random layouts never flip. Deterministic; the result has a different spec_hash.
    """
    family_cls = FAMILIES.get(spec.family)
    ranges = family_cls().ranges(spec.split)
    rng = np.random.default_rng([zlib.crc32(spec.family.encode()), SPLITS.index(spec.split), spec.seed, 0x5EED])
    base = _scene_signature(family_cls, spec.params)
    params = dict(spec.params)
    for name in sorted(ranges):
        if name not in params:
            continue
        lo, hi = ranges[name]
        step = PERTURBATION_SHARE * (hi - lo) * (1.0 if rng.random() < 0.5 else -1.0)
        for candidate in (params[name] + step, params[name] - step):
            trial = {**params, name: float(candidate)}
            if _same_structure(base, _scene_signature(family_cls, trial)):
                params = trial
                break
    return ScenarioSpec(spec.family, spec.split, spec.seed, params, spec.n_frames, spec.fps, spec.resolution,
                        spec.n_context, spec.canonical)


def physical_variance_video(spec: ScenarioSpec) -> np.ndarray:
    """uint8 (T, H, W, 3): the physical-variance take of `spec`, simulated (about 0.05 to 0.3 s at 64 px)."""
    return simulate(physical_variance_spec(spec), with_depth=False).video


def _scene_signature(family_cls, params: dict) -> object:
    """Everything a family derives from params before physics runs: bodies, prompt, events, its own state."""
    family = family_cls()
    scene = family.build(params)
    return _plain([scene.bodies, scene.events, scene.prompt, scene.camera, vars(family)])


def _plain(value: object) -> object:
    """Nested lists, dicts, strings and floats from dataclasses, tuples and arrays."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.astype(float).ravel().tolist() if value.dtype.kind in "biuf" else value.tolist()
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return repr(type(value))


def _same_structure(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= STRUCTURE_TOLERANCE * (1.0 + abs(a))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_structure(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))
    return a == b
