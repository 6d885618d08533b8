"""tower: the geometry's verdict (stable or not) matches the simulation; determinism; splits; observability."""
import numpy as np
import pytest

from metrics import observe
from metrics.common import truth_visible
from simulators import FAMILIES, ScenarioSpec, make_spec, simulate
from simulators.families.tower import BLOCK_HALF

SEEDS = range(10)


def tower(split: str, seed: int, stable: bool):
    spec = make_spec("tower", split, seed, resolution=(32, 32))
    params = {**spec.params, "stable": 1.0 if stable else 0.0}
    return simulate(ScenarioSpec(**{**spec.to_dict(), "resolution": (32, 32), "params": params}), with_depth=False)


def block_positions(clip) -> np.ndarray:
    """(T, blocks, 3) block centres."""
    names = [name for name in clip.tracks["object"].unique() if name.startswith("block")]
    return np.stack([clip.tracks.loc[clip.tracks["object"] == name, ["x", "y", "z"]].to_numpy() for name in names],
                    axis=1)


@pytest.mark.parametrize("split,seed", [("eval", seed) for seed in SEEDS] + [("ood", 0), ("ood", 1)])
def test_stable_towers_stand_still(split, seed):
    clip = tower(split, seed, stable=True)
    assert clip.events["stable"] and all(clip.events["stable_levels"])
    positions = block_positions(clip)
    assert np.linalg.norm(positions - positions[0], axis=2).max() < 0.02
    assert clip.events["first_fall_frame"] is None


@pytest.mark.parametrize("split,seed", [("eval", seed) for seed in SEEDS] + [("ood", 0), ("ood", 1)])
def test_unstable_towers_topple(split, seed):
    clip = tower(split, seed, stable=False)
    assert not clip.events["stable"]
    drop = block_positions(clip)[0, :, 2] - block_positions(clip)[:, :, 2]
    assert drop.max() > BLOCK_HALF[2]
    first = clip.events["first_fall_frame"]
    assert first is not None and first >= clip.spec.n_context
    assert drop[first].max() > BLOCK_HALF[2] >= drop[first - 1].max()


def test_both_kinds_occur_in_distribution():
    family = FAMILIES.get("tower")()
    kinds = {family.build(family.sample_params("eval", seed)).events["stable"] for seed in range(10)}
    assert kinds == {True, False}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_block_is_observed_where_it_shows(seed):
    clip = simulate(make_spec("tower", "eval", seed))
    observation = observe(clip.video, clip)
    visible = truth_visible(clip, observation)
    assert visible.sum() >= 0.5 * visible.size
    assert (observation.detected & visible).sum() / visible.sum() >= 0.95
