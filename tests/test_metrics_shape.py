"""rigidity and joint_limits: they pass the truth, stay quiet on harmless changes, catch their corruptions,
and are not fooled by garbage."""
import dataclasses

import numpy as np
import pytest

import generators.corruptions_shape  # noqa: F401  (registration)
import metrics.joint_limits  # noqa: F401  (registration)
import metrics.rigidity  # noqa: F401  (registration)
from generators import GENERATORS, GenerationRequest
from generators.corruptions import CORRUPTIONS
from metrics import evaluate
from simulators import make_spec, simulate

SHAPE_METRICS = ("rigidity", "joint_limits")
TIMING = {"n_frames": 32, "fps": 8.0, "resolution": (64, 64), "n_context": 4}


def scores_and_tags(frames, clip):
    scores, events = evaluate(frames, clip, SHAPE_METRICS)
    return {score.metric: score.value for score in scores}, {score.metric: score.reason for score in scores}, events


def all_clips(core_clips):
    return [clip for clips in core_clips.values() for clip in clips]


def test_truth_scores_one_and_raises_nothing(core_clips):
    for clip in all_clips(core_clips):
        scores, reasons, events = scores_and_tags(clip.video, clip)
        assert events == [], (clip.clip_id, events)
        for metric, value in scores.items():
            assert value == 1.0 or (np.isnan(value) and reasons[metric]), (clip.clip_id, metric, value)
        if clip.spec.family == "head_turn":
            assert scores["joint_limits"] == 1.0
        else:
            assert np.isnan(scores["joint_limits"]) and "marker" in reasons["joint_limits"]


@pytest.mark.parametrize("name", ["h264", "blur", "noise", "colour_shift", "duplicate_frame"])
def test_harmless_corruptions_raise_no_tag(core_clips, name):
    for clip in all_clips(core_clips):
        _, _, events = scores_and_tags(CORRUPTIONS.get(name).fn(clip, 1.0), clip)
        assert events == [], (clip.clip_id, name, events)


def test_bend_breaks_the_chair(core_clips):
    for clip in core_clips["chair"]:
        frames = CORRUPTIONS.get("bend").fn(clip, 0.5)
        assert np.array_equal(frames[: clip.spec.n_context], clip.video[: clip.spec.n_context])
        scores, _, events = scores_and_tags(frames, clip)
        assert scores["rigidity"] < 0.8, clip.clip_id
        assert any(event.tag == "rigidity_broken" and event.frame >= clip.spec.n_context for event in events), events


def test_bend_leaves_other_families_alone(core_clips):
    clip = core_clips["free_fall"][0]
    assert np.array_equal(CORRUPTIONS.get("bend").fn(clip, 1.0), clip.video)
    assert np.array_equal(CORRUPTIONS.get("head_over_rotation").fn(clip, 1.0), clip.video)


@pytest.mark.parametrize("family", ["free_fall", "collision", "dominoes", "crowd"])
def test_stretch_changes_shape(core_clips, family):
    """A 25% squash (severity 0.5) costs score; a 50% one (severity 1) is also tagged."""
    for clip in core_clips[family]:
        for severity in (0.5, 1.0):
            frames = CORRUPTIONS.get("stretch").fn(clip, severity)
            assert np.array_equal(frames[: clip.spec.n_context], clip.video[: clip.spec.n_context])
            scores, _, events = scores_and_tags(frames, clip)
            assert scores["rigidity"] < 0.9, (clip.clip_id, severity)
            if severity == 1.0:
                assert any(event.tag == "shape_changed" for event in events), (clip.clip_id, events)


def test_head_over_rotation_is_impossible(core_clips):
    for clip in core_clips["head_turn"]:
        frames = CORRUPTIONS.get("head_over_rotation").fn(clip, 0.5)
        assert np.array_equal(frames[: clip.spec.n_context], clip.video[: clip.spec.n_context])
        scores, _, events = scores_and_tags(frames, clip)
        assert scores["joint_limits"] < 0.95, clip.clip_id
        assert any(event.tag == "impossible_rotation" for event in events), (clip.clip_id, events)


def test_simulated_over_rotation_with_a_still_torso_is_caught():
    """A real (simulated) 150-degree neck turn, the torso kept still, is caught; one within the limit is not."""
    spec = make_spec("head_turn", "eval", 0, **TIMING)
    for max_yaw, caught in ((150.0, True), (84.0, False)):
        clip = simulate(dataclasses.replace(spec, params={**spec.params, "max_yaw_deg": max_yaw, "torso_share": 0.0}))
        scores, _, events = scores_and_tags(clip.video, clip)
        assert any(event.tag == "impossible_rotation" for event in events) == caught, (max_yaw, events)
        assert (scores["joint_limits"] < 0.9) == caught


def test_garbage_scores_no_better_than_static(core_clips):
    rng = np.random.default_rng(0)
    for clip in [*core_clips["chair"], *core_clips["free_fall"], *core_clips["head_turn"], *core_clips["dominoes"]]:
        context = clip.video[: clip.spec.n_context]
        tail_shape = (clip.spec.n_frames - clip.spec.n_context, *clip.video.shape[1:])
        request = GenerationRequest.from_clip(clip)
        static, _, _ = scores_and_tags(GENERATORS.get("static")().generate([request])[0].frames, clip)
        garbage = {
            "noise": rng.integers(0, 256, tail_shape, dtype=np.uint8),
            "black": np.zeros(tail_shape, np.uint8),
            "object colour": np.broadcast_to(np.array(clip.tracked_objects[0].rgb, np.uint8), tail_shape).copy(),
        }
        for name, tail in garbage.items():
            scores, _, events = scores_and_tags(np.concatenate([context, tail]), clip)
            for metric, value in scores.items():
                if np.isnan(static[metric]):
                    assert np.isnan(value), (clip.clip_id, name, metric)
                else:
                    assert value <= static[metric] + 1e-9, (clip.clip_id, name, metric, value, static[metric])


def test_a_tag_run_breaks_where_the_truth_hides_the_object():
    """Shape errors over the threshold in frame 25, then (hidden by another walker in frames 26-29) in 30 and 31:
    no 3 frames in a row of one sighting, so no tag; a gap the video alone leaves neither breaks nor extends."""
    from metrics.rigidity import SHAPE_TAG, _tag_runs

    clip = simulate(make_spec("free_fall", "eval", 0, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    error = np.full((32, 1), np.nan)
    error[19:26, 0] = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6]
    error[30:32, 0] = 0.6
    counted = np.isfinite(error)
    def tag(hidden):
        return _tag_runs(clip, error, counted, SHAPE_TAG, np.ones(1, bool), ["ball"], "shape_changed",
                         lambda name, frame, value: "", truth_hidden=hidden)
    assert [event.frame for event in tag(None)] == [25]
    hidden = np.zeros((32, 1), bool)
    hidden[26:30] = True
    assert tag(hidden) == []
    assert [event.frame for event in tag(np.zeros((32, 1), bool))] == [25]  # the video's own gap
