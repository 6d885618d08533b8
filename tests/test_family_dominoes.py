"""dominoes: every domino falls, each after the one before it hit it; determinism; splits; observability."""
import numpy as np
import pytest

from metrics import observe
from metrics.common import truth_visible
from simulators import ScenarioSpec, make_spec, simulate

FAST = {"n_frames": 240, "fps": 60.0, "resolution": (32, 32)}


def chain(split: str, seed: int, count: int | None = None):
    spec = make_spec("dominoes", split, seed, **FAST)
    params = {**spec.params, **({"count": float(count)} if count is not None else {})}
    return simulate(ScenarioSpec(**{**spec.to_dict(), "resolution": (32, 32), "params": params}), with_depth=False)


@pytest.mark.parametrize("split,seed,count",
                         [("eval", seed, count) for seed, count in zip(range(6), (4, 5, 6, 4, 5, 6))]
                         + [("ood", 0, 6), ("ood", 1, 4)])
def test_each_domino_falls_after_the_one_before(split, seed, count):
    clip = chain(split, seed, count)
    falls = list(clip.events["fall_frames"].values())
    assert len(falls) == count and clip.events["all_fell"]
    assert all(frame is not None for frame in falls), falls
    push_frame = clip.events["push_time_s"] * clip.spec.fps
    assert falls[0] > push_frame and all(a < b for a, b in zip(falls, falls[1:])), falls
    for touch, fall_of_next in zip(clip.events["contact_frames"], falls[1:]):
        assert touch["frame"] is not None and push_frame < touch["frame"] < fall_of_next, (touch, falls)


def test_dominoes_stand_still_until_the_push():
    clip = chain("eval", 0)
    push_frame = int(clip.events["push_time_s"] * clip.spec.fps)
    positions = clip.tracks.pivot(index="t", columns="object", values="x").to_numpy()
    assert np.abs(positions[:push_frame] - positions[0]).max() < 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_domino_is_observed_where_it_shows(seed):
    clip = simulate(make_spec("dominoes", "eval", seed))
    observation = observe(clip.video, clip)
    visible = truth_visible(clip, observation)
    assert visible.sum() >= 0.8 * visible.size
    assert (observation.detected & visible).sum() / visible.sum() >= 0.95
