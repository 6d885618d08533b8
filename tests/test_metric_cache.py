"""The work metrics share (metrics.memo, Clip.track_matrix) is never served for other data than it was computed from."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from metrics import DEFAULT_METRICS, observe, score
from metrics.memo import memo
from metrics.physics_iq import mask_scores, observation_mask_scores
from simulators import make_spec, simulate

CORE_TIMING = {"n_frames": 32, "fps": 8.0, "resolution": (64, 64), "n_context": 4}


@pytest.fixture(scope="module")
def clips():
    """Two clips of other families, with other objects, tracks and videos."""
    return [simulate(make_spec(family, "eval", 0, **CORE_TIMING)) for family in ("free_fall", "collision")]


def test_memo_serves_only_the_very_same_sources():
    class Owner:
        pass

    owner, first, second = Owner(), np.zeros(3), np.zeros(3)
    calls = []

    def compute(value):
        calls.append(value)
        return value

    assert memo(owner, "x", (first,), lambda: compute(1)) == 1
    assert memo(owner, "x", (first,), lambda: compute(2)) == 1  # same source object: kept
    assert memo(owner, "x", (second,), lambda: compute(3)) == 3  # equal but another object: computed again
    assert memo(owner, "x", (second, first), lambda: compute(4)) == 4
    assert memo(owner, "y", (second, first), lambda: compute(5)) == 5  # names do not mix
    assert calls == [1, 3, 4, 5]


def pivot(clip, column):
    """The reference: a pandas pivot of one track column over the tracked objects."""
    names = [obj.name for obj in clip.tracked_objects]
    return clip.tracks.pivot(index="t", columns="object", values=column).reindex(columns=names).to_numpy()


def test_track_matrix_is_the_pivot_to_the_bit_and_read_only(clips):
    for clip in clips:
        for column in clip.tracks.columns.drop("object"):
            fast, slow = clip.track_matrix(column), pivot(clip, column)
            assert fast.dtype == slow.dtype and fast.shape == slow.shape
            assert np.array_equal(fast, slow, equal_nan=fast.dtype.kind == "f"), column
            assert not fast.flags.writeable


def test_track_matrix_follows_a_copy_given_other_tracks(clips):
    first, second = clips
    before = first.track_matrix("seg_u")
    twin = copy.copy(first)  # shares first's __dict__ entries, the memo's store included
    twin.tracks, twin.objects = second.tracks, second.objects
    assert np.array_equal(twin.track_matrix("seg_u"), second.track_matrix("seg_u"), equal_nan=True)
    assert np.array_equal(first.track_matrix("seg_u"), before, equal_nan=True)  # and the original still gets its own


def test_mask_scores_are_never_another_clips_or_videos(clips):
    first, second = clips
    observation = observe(first.video, first)
    assert observation_mask_scores(first, observation) == mask_scores(first.video, first.video, first.spec)
    # The same observation scored against another clip (another truth video): computed for that clip.
    other_truth = copy.copy(first)
    other_truth.video = second.video
    assert observation_mask_scores(other_truth, observation) == mask_scores(second.video, first.video, first.spec)
    assert observation_mask_scores(first, observation) == mask_scores(first.video, first.video, first.spec)
    # The observation rebuilt with another video: computed for that video.
    noisy = np.clip(first.video.astype(int) + np.random.default_rng(0).integers(-40, 40, first.video.shape), 0, 255)
    replaced = dataclasses.replace(observation, frames=noisy.astype(np.uint8))
    assert observation_mask_scores(first, replaced) == mask_scores(first.video, replaced.frames, first.spec)
    assert observation_mask_scores(first, replaced) != observation_mask_scores(first, observation)


def test_scores_do_not_depend_on_what_was_scored_before(clips):
    """Every default metric of a clip scored after another clip and video equals its score on fresh objects."""
    first, second = clips
    noisy = np.clip(second.video.astype(int) + 30, 0, 255).astype(np.uint8)
    for clip, frames in ((first, first.video), (second, noisy), (first, first.video)):
        shared = score(clip, observe(frames, clip), DEFAULT_METRICS)
        fresh_clip = dataclasses.replace(clip)  # a new object: nothing cached on it
        fresh = score(fresh_clip, observe(frames, fresh_clip), DEFAULT_METRICS)
        assert len(shared[0]) == len(fresh[0]) == len(DEFAULT_METRICS) and _nan_equal(shared[0], fresh[0])
        assert shared[1] == fresh[1]


def _nan_equal(first, second) -> bool:
    """The score rows are equal, NaN equal to NaN."""
    return all(a.metric == b.metric and a.reason == b.reason
               and np.array_equal([a.value, a.raw], [b.value, b.raw], equal_nan=True) for a, b in zip(first, second))
