"""pendulum: the small-angle period and conservation of energy; determinism; splits; observability."""
import numpy as np
import pytest

from metrics import observe
from metrics.common import truth_visible
from simulators import ScenarioSpec, make_spec, simulate
from simulators.families.pendulum import GRAVITY, inertia_about_pivot

FPS = 60.0


def swing(rod_length: float | None = None, initial_angle_deg: float | None = None, seed: int = 0,
          seconds: float = 6.0):
    """A 60 fps clip (32x32, no depth) of eval seed `seed`, with the given length and angle if any."""
    spec = make_spec("pendulum", "eval", seed, n_frames=int(seconds * FPS), fps=FPS, resolution=(32, 32))
    overrides = {key: value for key, value in (("rod_length", rod_length), ("initial_angle_deg", initial_angle_deg))
                 if value is not None}
    spec = ScenarioSpec(**{**spec.to_dict(), "resolution": (32, 32), "params": {**spec.params, **overrides}})
    return simulate(spec, with_depth=False)


def angle(clip) -> tuple[np.ndarray, np.ndarray]:
    """(times, s; rod angle from the vertical, rad, positive to the right) from the bob's track."""
    bob = clip.tracks[clip.tracks["object"] == "pendulum.bob"]
    pivot = np.asarray(clip.events["pivot"])
    theta = np.arctan2(bob["x"].to_numpy() - pivot[0], pivot[2] - bob["z"].to_numpy())
    return bob["t"].to_numpy() / clip.spec.fps, theta


@pytest.mark.parametrize("rod_length,initial_angle_deg", [(1.2, 5.0), (1.45, 3.0), (1.7, 4.0)])
def test_small_angle_period(rod_length, initial_angle_deg):
    clip = swing(rod_length, initial_angle_deg)
    time, theta = angle(clip)
    rising = np.flatnonzero((theta[:-1] < 0) & (theta[1:] >= 0))
    crossings = time[rising] - theta[rising] / (theta[rising + 1] - theta[rising]) / clip.spec.fps
    assert len(crossings) >= 2
    period = float(np.diff(crossings).mean())
    simple = 2 * np.pi * np.sqrt(rod_length / GRAVITY)
    assert clip.events["small_angle_period_s"] == pytest.approx(simple)
    assert abs(period / simple - 1) < 0.02, (period, simple)
    # The body is a physical pendulum (solid bob, light rod): its own formula holds far more tightly.
    assert abs(period / clip.events["physical_period_s"] - 1) < 0.003, (period, clip.events["physical_period_s"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mechanical_energy_is_conserved(seed):
    clip = swing(seed=seed, seconds=4.0)
    time, theta = angle(clip)
    omega = np.gradient(theta, time)
    inertia, mass_distance = inertia_about_pivot(clip.events["rod_length_m"])
    energy = 0.5 * inertia * omega**2 + mass_distance * GRAVITY * (1 - np.cos(theta))
    swing_energy = mass_distance * GRAVITY * (1 - np.cos(np.radians(clip.events["initial_angle_deg"])))
    inner = energy[1:-1]  # central differences only
    assert np.abs(inner - swing_energy).max() < 0.01 * swing_energy
    assert np.abs(theta).max() > 0.9 * np.radians(clip.events["initial_angle_deg"])


@pytest.mark.parametrize("split,seed", [("eval", 0), ("eval", 1), ("ood", 0)])
def test_the_bob_is_observed_where_it_shows(split, seed):
    clip = simulate(make_spec("pendulum", split, seed))
    observation = observe(clip.video, clip)
    visible = truth_visible(clip, observation)
    assert visible.sum() >= 28
    assert (observation.detected & visible).sum() / visible.sum() >= 0.95
