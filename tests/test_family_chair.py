import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from metrics import observe
from metrics.common import truth_visible
from simulators import make_spec, simulate


@pytest.fixture(scope="module")
def clips():
    return [simulate(make_spec("chair", "eval", seed)) for seed in range(6)]


def part_positions(clip) -> dict[str, np.ndarray]:
    """(T, 3) link-frame position of every chair part."""
    return {obj.name: np.stack([clip.tracks[clip.tracks["object"] == obj.name][axis].to_numpy() for axis in "xyz"], 1)
            for obj in clip.objects if obj.name.startswith("chair.")}


def test_both_scenario_kinds_are_drawn(clips):
    assert {clip.events["scenario"] for clip in clips} == {"tip", "drop"}


def test_part_distances_stay_constant_within_a_millimetre(clips):
    for clip in clips:
        positions = part_positions(clip)
        assert len(positions) == 6 and all(obj.rigid for obj in clip.objects)
        recorded = {(entry["a"], entry["b"]): entry["distance_m"] for entry in clip.events["part_distances_m"]}
        assert len(recorded) == 15
        for a, b in itertools.combinations(positions, 2):
            distance = np.linalg.norm(positions[a] - positions[b], axis=1)
            assert np.ptp(distance) < 1e-3, (clip.clip_id, a, b, np.ptp(distance))
            assert distance[0] == pytest.approx(recorded[(a, b)], abs=1e-9)


def test_the_chair_really_tips_or_falls(clips):
    for clip in clips:
        seat = clip.tracks[clip.tracks["object"] == "chair.seat"]
        position = seat[["x", "y", "z"]].to_numpy()
        up = Rotation.from_quat(seat[["qx", "qy", "qz", "qw"]].to_numpy()).apply([0.0, 0.0, 1.0])
        after_context = slice(clip.spec.n_context, None)
        travelled = np.linalg.norm(position[after_context] - position[clip.spec.n_context - 1], axis=1).max()
        assert travelled > 0.2, clip.clip_id
        if clip.events["scenario"] == "tip":
            assert up[0, 2] > 0.99 and up[-1, 2] < 0.5, (clip.clip_id, up[-1])  # upright, then on its side
            assert np.allclose(position[: clip.spec.n_context], position[0], atol=1e-3)  # pushed after the context
        else:
            assert position[-1, 2] < position[0, 2] - 0.2, clip.clip_id


def test_every_part_is_detected_where_it_clearly_shows(clips):
    for clip in clips:
        observation = observe(clip.video, clip)
        visible = truth_visible(clip, observation)
        assert visible.any(axis=0).sum() >= 4  # a leg may hide behind another for the whole clip
        rate = (observation.detected & visible).sum() / visible.sum()
        assert rate >= 0.98, (clip.clip_id, rate)
