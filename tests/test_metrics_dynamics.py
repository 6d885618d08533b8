"""velocity, gravity, reemergence and count: they pass the truth, stay quiet on harmless changes, catch
their corruptions and are not fooled by garbage."""
import numpy as np
import pytest

import generators.corruptions_dynamics  # noqa: F401  (registers gravity_scale, no_reemergence, misplaced_reemergence)
import metrics.dynamics  # noqa: F401  (registers velocity, gravity)
import metrics.occlusion  # noqa: F401  (registers reemergence, count)
from generators import GENERATORS, GenerationRequest
from generators.corruptions import CORRUPTIONS
from metrics import observe, score
from metrics.observation import Observation

NEW_METRICS = ("velocity", "gravity", "reemergence", "count")
OWN_TAGS = {"wrong_gravity", "reemergence_missed", "reemergence_misplaced", "count_changed"}
HARMLESS = ("blur", "noise", "h264", "colour_shift", "duplicate_frame")


def evaluate(frames: np.ndarray, clip) -> tuple[dict[str, float], list]:
    scores, events = score(clip, observe(frames, clip), NEW_METRICS)
    return {entry.metric: entry.value for entry in scores}, events


def all_clips(core_clips):
    return [clip for clips in core_clips.values() for clip in clips]


def test_truth_scores_one_and_raises_nothing(core_clips):
    for clip in all_clips(core_clips):
        scores, events = evaluate(clip.video, clip)
        for metric, value in scores.items():
            assert np.isnan(value) or value == pytest.approx(1.0), (clip.clip_id, metric, value)
        assert events == [], clip.clip_id
    gravity = [evaluate(clip.video, clip)[0]["gravity"] for clip in core_clips["free_fall"] + core_clips["projectile"]]
    assert not np.isnan(gravity).any()
    reemerging = [evaluate(clip.video, clip)[0]["reemergence"] for clip in core_clips["occlusion"]]
    assert not np.isnan(reemerging).any()


def test_not_applicable_is_nan_with_reason(core_clips):
    clip = core_clips["collision"][0]
    outputs = {name: output for name, output in zip(NEW_METRICS, score(clip, observe(clip.video, clip), NEW_METRICS)[0])}
    assert np.isnan(outputs["gravity"].value) and "free flight" in outputs["gravity"].reason
    assert np.isnan(outputs["reemergence"].value) and outputs["reemergence"].reason


@pytest.mark.parametrize("corruption", HARMLESS)
def test_harmless_corruptions_raise_no_tag_of_ours(core_clips, corruption):
    for clip in all_clips(core_clips):
        scores, events = evaluate(CORRUPTIONS.get(corruption).fn(clip, 0.5), clip)
        assert not [event for event in events if event.tag in OWN_TAGS], (clip.clip_id, events)
        if corruption in ("blur", "h264"):
            assert scores["velocity"] >= 0.95, (clip.clip_id, scores)


def test_gravity_scale_is_caught(core_clips):
    for clip in core_clips["free_fall"] + core_clips["projectile"]:
        frames = CORRUPTIONS.get("gravity_scale").fn(clip, 0.5)
        assert np.array_equal(frames[: clip.spec.n_context], clip.video[: clip.spec.n_context])
        scores, events = evaluate(frames, clip)
        assert scores["gravity"] < 0.9, (clip.clip_id, scores)
    unchanged = CORRUPTIONS.get("gravity_scale").fn(core_clips["occlusion"][0], 0.5)
    assert np.array_equal(unchanged, core_clips["occlusion"][0].video)


def test_time_scale_is_caught_by_gravity(core_clips):
    for clip in core_clips["free_fall"] + core_clips["projectile"]:
        scores, _ = evaluate(CORRUPTIONS.get("time_scale").fn(clip, 1.0), clip)
        assert scores["gravity"] < 0.5, (clip.clip_id, scores)


@pytest.mark.parametrize(("corruption", "tag"), [("no_reemergence", "reemergence_missed"),
                                                 ("misplaced_reemergence", "reemergence_misplaced")])
def test_reemergence_corruptions_are_caught(core_clips, corruption, tag):
    for clip in core_clips["occlusion"]:
        frames = CORRUPTIONS.get(corruption).fn(clip, 0.5)
        scores, events = evaluate(frames, clip)
        assert scores["reemergence"] < 1.0, (clip.clip_id, scores)
        assert tag in {event.tag for event in events}, (clip.clip_id, events)


@pytest.mark.parametrize("corruption", ["vanish", "appear"])
def test_count_changes_when_objects_vanish_or_appear(core_clips, corruption):
    for family in ("free_fall", "collision", "crowd"):
        clip = core_clips[family][0]
        scores, events = evaluate(CORRUPTIONS.get(corruption).fn(clip, 0.5), clip)
        assert scores["count"] < 1.0, (clip.clip_id, scores)
        assert "count_changed" in {event.tag for event in events}, (clip.clip_id, events)


def test_velocity_sees_a_frozen_video(core_clips):
    clip = core_clips["projectile"][0]
    scores, _ = evaluate(CORRUPTIONS.get("freeze").fn(clip, 1.0), clip)
    assert scores["velocity"] < 0.95


def test_garbage_scores_no_better_than_static(core_clips):
    rng = np.random.default_rng(0)
    for clip in all_clips(core_clips):
        context = clip.video[: clip.spec.n_context]
        tail_shape = (clip.spec.n_frames - clip.spec.n_context, *clip.video.shape[1:])
        static = GENERATORS.get("static")().generate([GenerationRequest.from_clip(clip)])[0].frames
        static_scores, _ = evaluate(static, clip)
        garbage = {
            "noise": rng.integers(0, 256, tail_shape, dtype=np.uint8),
            "black": np.zeros(tail_shape, np.uint8),
            "object colour": np.broadcast_to(np.array(clip.tracked_objects[0].rgb, np.uint8), tail_shape).copy(),
        }
        for name, tail in garbage.items():
            scores, _ = evaluate(np.concatenate([context, tail]), clip)
            for metric, value in scores.items():
                assert np.isnan(value) or value <= static_scores[metric] + 1e-9, (
                    clip.clip_id, name, metric, value, static_scores[metric])


def test_lost_object_is_never_perfect(core_clips):
    clip = core_clips["projectile"][0]
    clean = observe(clip.video, clip)
    lost = Observation(clean.object_names, np.zeros_like(clean.detected), np.full_like(clean.u, np.nan),
                       np.full_like(clean.v, np.nan), clean.area, clean.bbox, clean.covariance, clean.blobs.iloc[:0],
                       clean.expected_area, clean.min_area, clean.config)
    scores = {entry.metric: entry.value for entry in score(clip, lost, NEW_METRICS)[0]}
    assert scores["velocity"] == 0.0 and scores["gravity"] == 0.0
    assert scores["count"] < 0.2  # right only in the last frames, where the ball has left the picture
