import numpy as np
import pytest

from metrics import observe
from metrics.common import truth_visible
from simulators import make_spec, simulate


@pytest.fixture(scope="module")
def clips():
    return [simulate(make_spec("crowd", "eval", seed)) for seed in range(10)]


def test_counts_agree_with_the_tracks_and_the_number_of_objects_never_changes(clips):
    for clip in clips:
        count = len(clip.tracked_objects)
        assert 3 <= count <= 6 and count == clip.events["object_count"]
        assert clip.events["existing_count"] == [count] * clip.spec.n_frames
        visible_px, visible_frac = clip.track_matrix("visible_px"), clip.track_matrix("visible_frac")
        assert clip.events["visible_count"] == (visible_px > 0).sum(axis=1).tolist()
        assert clip.events["clearly_visible_count"] == (visible_frac >= 0.5).sum(axis=1).tolist()


def hidden_then_back(visible_px: np.ndarray) -> bool:
    """Some object shows, then is entirely hidden for some frames, then shows again."""
    for column in visible_px.T:
        shows = column > 0
        hidden = np.flatnonzero(~shows)
        if hidden.size and shows[: hidden[0]].any() and shows[hidden[0]:].any():
            return True
    return False


def test_objects_disappear_behind_a_wall_and_come_back_in_most_clips(clips):
    assert sum(hidden_then_back(clip.track_matrix("visible_px")) for clip in clips) >= 7
    for clip in clips:  # while hidden they are in frame: occluded, not gone out of view
        hidden = (clip.track_matrix("visible_px") == 0) & ~clip.track_matrix("in_frame").astype(bool)
        assert hidden.mean() < 0.1, clip.clip_id


def test_objects_move_and_mostly_stay_in_frame(clips):
    for clip in clips:
        x = clip.track_matrix("x")
        assert np.abs(x[-1] - x[0]).max() > 0.5 or np.ptp(x, axis=0).max() > 1.0, clip.clip_id
        assert clip.track_matrix("in_frame").mean() > 0.9, clip.clip_id


def test_every_object_is_detected_where_it_clearly_shows(clips):
    for clip in clips:
        observation = observe(clip.video, clip)
        visible = truth_visible(clip, observation)
        rate = (observation.detected & visible).sum() / visible.sum()
        assert rate >= 0.98, (clip.clip_id, rate)
