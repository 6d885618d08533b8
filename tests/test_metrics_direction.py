"""The direction-of-time metrics (`direction`, `time_direction`) and the `region_reverse` corruption."""
import copy

import numpy as np
import pytest

import generators.corruptions_direction  # noqa: F401  (registration)
import metrics.direction  # noqa: F401  (registration)
from generators import read_video, write_mp4
from generators.corruptions import CORRUPTIONS
from metrics import METRICS, observe, score

DIRECTION_METRICS = ("direction", "time_direction")
HARMLESS = ("blur", "noise", "h264", "colour_shift", "duplicate_frame")


def scores_and_tags(frames, clip):
    scores, events = score(clip, observe(frames, clip), DIRECTION_METRICS)
    return {s.metric: s.value for s in scores}, events


def all_clips(core_clips):
    return [clip for clips in core_clips.values() for clip in clips]


def static_video(clip):
    n_context = clip.spec.n_context
    return np.concatenate([clip.video[:n_context], np.repeat(clip.video[n_context - 1:n_context],
                                                             clip.spec.n_frames - n_context, axis=0)])


def test_metrics_are_registered():
    assert METRICS.get("direction").tags == ("reversed_motion",)
    assert METRICS.get("time_direction").tags == ("time_reversed",)
    corruption = CORRUPTIONS.get("region_reverse")
    assert corruption.harmful and corruption.expected_tag == "reversed_motion"


def test_truth_scores_about_one_without_tags(core_clips):
    for clip in all_clips(core_clips):
        scores, events = scores_and_tags(clip.video, clip)
        assert np.isnan(scores["direction"]) or scores["direction"] >= 0.9, (clip.clip_id, scores)
        assert np.isnan(scores["time_direction"]) or scores["time_direction"] == 1.0, (clip.clip_id, scores)
        assert events == [], (clip.clip_id, events)


def test_harmless_corruptions_raise_no_direction_tag(core_clips):
    for clip in all_clips(core_clips):
        for name in HARMLESS:
            _, events = scores_and_tags(CORRUPTIONS.get(name).fn(clip, 0.5), clip)
            assert events == [], (clip.clip_id, name, events)


def test_h264_keeps_scores_high(core_clips, tmp_path):
    """H.264 at crf 23 raises no tag; scores stay high (small fast parts can lose a pair or two of 10-35)."""
    values = {name: [] for name in DIRECTION_METRICS}
    for clip in all_clips(core_clips):
        write_mp4(tmp_path / "clip.mp4", clip.video, clip.spec.fps, crf=23)
        frames, _ = read_video(tmp_path / "clip.mp4")
        scores, events = scores_and_tags(frames, clip)
        assert events == [], (clip.clip_id, events)
        assert all(np.isnan(value) or value >= 0.75 for value in scores.values()), (clip.clip_id, scores)
        for name, value in scores.items():
            values[name].append(value)
    assert all(np.nanmean(clip_values) >= 0.95 for clip_values in values.values()), values


def test_garbage_scores_no_better_than_static(core_clips):
    rng = np.random.default_rng(0)
    for clip in all_clips(core_clips):
        context = clip.video[: clip.spec.n_context]
        tail_shape = (clip.spec.n_frames - clip.spec.n_context, *clip.video.shape[1:])
        static, _ = scores_and_tags(static_video(clip), clip)
        garbage = {
            "noise": rng.integers(0, 256, tail_shape, dtype=np.uint8),
            "black": np.zeros(tail_shape, np.uint8),
            "object colour": np.broadcast_to(np.array(clip.tracked_objects[0].rgb, np.uint8), tail_shape).copy(),
        }
        for name, tail in garbage.items():
            scores, _ = scores_and_tags(np.concatenate([context, tail]), clip)
            for metric, value in scores.items():
                both_abstain = np.isnan(value) and np.isnan(static[metric])
                assert both_abstain or value <= static[metric] + 1e-9, (clip.clip_id, name, metric, value, static)


def test_still_video_neither_agrees_nor_decides(core_clips):
    """Zero flow is no agreement (direction 0); a still video fits both time directions equally (0.5)."""
    for clip in (core_clips["treadmill"][0], core_clips["vehicle"][0], core_clips["projectile"][0]):
        scores, events = scores_and_tags(static_video(clip), clip)
        assert scores == {"direction": 0.0, "time_direction": 0.5}, (clip.clip_id, scores)
        assert events == []


@pytest.mark.parametrize("family", ["treadmill", "vehicle", "collision"])
def test_region_reverse_raises_reversed_motion(core_clips, family):
    for clip in core_clips[family]:
        frames = CORRUPTIONS.get("region_reverse").fn(clip, 1.0)
        assert np.array_equal(frames[: clip.spec.n_context], clip.video[: clip.spec.n_context])
        clean, _ = scores_and_tags(clip.video, clip)
        scores, events = scores_and_tags(frames, clip)
        reversed_ = [event for event in events if event.tag == "reversed_motion"]
        assert reversed_ and reversed_[0].frame >= clip.spec.n_context, (clip.clip_id, events)
        assert scores["direction"] < clean["direction"] - 0.3, (clip.clip_id, scores, clean)


def test_belt_reversal_leaves_the_runner_alone(core_clips):
    clip = core_clips["treadmill"][0]
    frames = CORRUPTIONS.get("region_reverse").fn(clip, 1.0)
    runner = np.isin(clip.seg, [obj.id for obj in clip.objects if obj.body == "runner"])
    assert np.array_equal(frames[runner], clip.video[runner])
    assert not np.array_equal(frames, clip.video)
    _, events = scores_and_tags(frames, clip)
    assert {event.object for event in events if event.tag == "reversed_motion"} == {"belt"}


@pytest.mark.parametrize("family", ["treadmill", "vehicle", "projectile", "collision"])
def test_time_reverse_raises_time_reversed(core_clips, family):
    for clip in core_clips[family]:
        for severity in (0.5, 1.0):
            scores, events = scores_and_tags(CORRUPTIONS.get("time_reverse").fn(clip, severity), clip)
            reversed_ = [event for event in events if event.tag == "time_reversed"]
            assert reversed_, (clip.clip_id, severity, scores, events)
            assert scores["time_direction"] < 0.9, (clip.clip_id, severity, scores)


def test_time_direction_abstains_when_nothing_moves(core_clips):
    clip = copy.copy(core_clips["projectile"][0])
    clip.video = static_video(clip)
    scores, events = scores_and_tags(clip.video, clip)
    output = METRICS.get("time_direction").fn(clip, observe(clip.video, clip))
    assert np.isnan(output.value) and "symmetric" in output.reason or "nothing changes" in output.reason
    assert events == []


def test_needs_frames(core_clips):
    clip = core_clips["vehicle"][0]
    observation = observe(clip.video, clip)
    observation.frames = None
    for name in DIRECTION_METRICS:
        output = METRICS.get(name).fn(clip, observation)
        assert np.isnan(output.value) and output.reason
