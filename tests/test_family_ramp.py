"""ramp: accelerations along the slope match friction and rolling; determinism; splits; observability."""
import numpy as np
import pytest

from metrics import observe
from metrics.common import truth_visible
from simulators import FAMILIES, make_spec, simulate
from simulators.families.ramp import slope_frame

FAST = {"n_frames": 150, "fps": 60.0, "resolution": (32, 32)}


def slope_acceleration(clip, name: str) -> tuple[float, float]:
    """(acceleration along the slope from a quadratic fit, m/s^2; distance travelled on it, m), using the
    frames after the release and before the object leaves the plank."""
    events = clip.events
    top, down, _ = slope_frame(events["slope_deg"])
    rows = clip.tracks[clip.tracks["object"] == name]
    along = rows[["x", "y", "z"]].to_numpy() @ down
    time = rows["t"].to_numpy() / clip.spec.fps
    leaves = events["leaves_ramp_frame"][name]
    end = leaves - 1 if leaves is not None else len(time)
    keep = (time > events["release_time_s"] + 2 / clip.spec.fps) & (np.arange(len(time)) < end)
    assert keep.sum() >= 20, f"{name}: too few frames on the slope to measure"
    return float(2 * np.polyfit(time[keep], along[keep], 2)[0]), float(np.ptp(along[keep]))


@pytest.mark.parametrize("split,seed", [("eval", seed) for seed in range(8)] + [("ood", 0), ("ood", 1)])
def test_accelerations_along_the_slope_match_rolling_and_friction(split, seed):
    clip = simulate(make_spec("ramp", split, seed, **FAST), with_depth=False)
    expected = clip.events["expected_acceleration"]
    ball, _ = slope_acceleration(clip, "ball")
    assert abs(ball - expected["ball"]) <= 0.05 * expected["ball"], (ball, expected)
    box, travelled = slope_acceleration(clip, "box")
    if clip.events["box_slides"]:
        assert abs(box - expected["box"]) <= 0.05 * expected["box"] + 0.005, (box, expected)
    else:
        assert abs(box) < 0.01 and travelled < 0.01, (box, travelled)


def test_both_outcomes_occur_in_distribution():
    family = FAMILIES.get("ramp")()
    slides = {family.build(family.sample_params("eval", seed)).events["box_slides"] for seed in range(8)}
    assert slides == {True, False}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_tracked_object_is_observed_where_it_shows(seed):
    clip = simulate(make_spec("ramp", "eval", seed))
    observation = observe(clip.video, clip)
    visible = truth_visible(clip, observation)
    rate = (observation.detected & visible).sum(axis=0) / visible.sum(axis=0)
    assert visible.sum(axis=0).min() >= 8 and rate.min() >= 0.95, rate
