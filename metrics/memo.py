"""Work several metrics share, done once per clip or per observed video and kept on that object.

`memo(owner, name, sources, compute)` keeps compute()'s result in owner's own __dict__ (a Clip for what
depends on the ground truth alone, an Observation for what depends on the video too) together with the
objects it was computed from, and serves it again only while every one of them is still the very same
object (identity, not equality). So a shallow copy of a clip given another video, an observation rebuilt
with dataclasses.replace, or another clip scored with the same observation never sees a result computed
for other data: the entry holds its sources, so their ids cannot pass to new objects while it lives.
What identity cannot see is an array changed in place; the ground truth is read-only by contract
(Clip.track_matrix caches the same way) and an observation is computed once per video, and results
that are arrays are returned read-only so that no metric can change what the next one reads.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

Value = TypeVar("Value")

MEMO_ATTRIBUTE = "_metric_memo"
"""Name of the dict in the owner's __dict__ that holds its entries: {name: (sources, value)}."""


def memo(owner: object, name: str, sources: tuple, compute: Callable[[], Value]) -> Value:
    """compute(), or the value kept under `name` on owner when it was computed from these very sources."""
    store = owner.__dict__.setdefault(MEMO_ATTRIBUTE, {})
    entry = store.get(name)
    if entry is not None and len(entry[0]) == len(sources) and all(kept is given for kept, given in zip(entry[0], sources)):
        return entry[1]
    value = compute()
    store[name] = (tuple(sources), value)
    return value


def read_only(array: np.ndarray) -> np.ndarray:
    """The array, marked read-only (shared between metrics)."""
    array.flags.writeable = False
    return array
