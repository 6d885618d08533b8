"""Physics-IQ mask metrics, the physical-variance generator and the fidelity metrics."""
import dataclasses

import cv2
import numpy as np
import pytest
from scipy import ndimage

import metrics.fidelity as fidelity
import metrics.physics_iq as piq
import simulators.variance as variance
from generators.base import GenerationRequest
from generators.corruptions import CORRUPTIONS
from generators.physical_variance import PhysicalVariance
from metrics import observe, score
from simulators import ScenarioSpec

PIQ_METRICS = ["piq_spatial_iou", "piq_spatiotemporal_iou", "piq_weighted_iou", "piq_mse", "physics_iq_score"]
FIDELITY_METRICS = ["psnr", "ssim", "flicker"]
ALL_METRICS = PIQ_METRICS + FIDELITY_METRICS


def all_clips(core_clips):
    return [clip for clips in core_clips.values() for clip in clips]


def scores_and_events(frames, clip, names=ALL_METRICS):
    scores, events = score(clip, observe(frames, clip), names)
    return {s.metric: s.value for s in scores}, {s.metric: s.raw for s in scores}, events


def with_tail(clip, tail):
    return np.concatenate([clip.video[: clip.spec.n_context], tail])


def static_video(clip):
    n = clip.spec.n_context
    return with_tail(clip, np.repeat(clip.video[n - 1:n], clip.spec.n_frames - n, axis=0))


def spec(n_frames=8, n_context=2, size=64):
    return ScenarioSpec("free_fall", "eval", 0, {}, n_frames=n_frames, fps=8.0, resolution=(size, size),
                        n_context=n_context)


# --------------------------------------------------------------------------- formulas on hand-made masks
def test_iou_formulas_on_hand_made_masks():
    ref = np.zeros((2, 4, 4), bool)
    other = np.zeros((2, 4, 4), bool)
    ref[0, 0, :2] = True          # frame 0: 2 px
    ref[1, 0, 2:] = True          # frame 1: 2 other px
    other[0, 0, 2:] = True        # same pixels as ref, frames swapped
    other[1, 0, :2] = True
    assert piq.spatial_iou(ref, other) == 1.0            # where: identical
    assert piq.spatiotemporal_iou(ref, other) == 0.0     # when: never at the same time
    assert piq.weighted_spatial_iou(ref, other) == 1.0   # how much: each pixel moves in half the frames in both
    other[1, 1, 0] = True                                # one extra pixel in frame 1
    assert piq.spatial_iou(ref, other) == pytest.approx(4 / 5)
    assert piq.weighted_spatial_iou(ref, other) == pytest.approx((4 * 0.5) / (4 * 0.5 + 0.5))
    empty = np.zeros((3, 4, 4), bool)
    assert piq.spatial_iou(empty, empty) == piq.spatiotemporal_iou(empty, empty) == piq.weighted_spatial_iou(empty, empty) == 1.0
    one = empty.copy()
    one[1, 2, 2] = True
    assert piq.spatiotemporal_iou(one, empty) == pytest.approx(2 / 3)  # frames 0 and 2 are empty in both


def test_mse_and_psnr_known_values():
    a = np.full((3, 8, 8, 3), 100, np.uint8)
    b = a + np.uint8(10)
    assert piq.mean_squared_error(a, b) == pytest.approx((10 / 255) ** 2, rel=1e-5)
    assert fidelity.psnr_db(a, b) == pytest.approx(np.full(3, 20 * np.log10(255 / 10)))
    assert np.all(fidelity.psnr_db(a, a) == fidelity.PSNR_CAP_DB)


def test_ssim_matches_an_independent_gaussian_filter_implementation():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (2, 40, 48, 3)).astype(np.uint8)
    y = np.clip(x + rng.normal(0, 25, x.shape), 0, 255).astype(np.uint8)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    expected = []
    for xf, yf in zip(x.astype(float), y.astype(float)):
        def window(image):
            return ndimage.gaussian_filter(image, sigma=(1.5, 1.5, 0), truncate=5 / 1.5, mode="reflect")
        mx, my = window(xf), window(yf)
        vx, vy, cxy = window(xf * xf) - mx ** 2, window(yf * yf) - my ** 2, window(xf * yf) - mx * my
        full = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
        expected.append(full[5:-5, 5:-5].mean())
    assert fidelity.ssim(x, y) == pytest.approx(np.array(expected), abs=1e-6)
    assert fidelity.ssim(x, x) == pytest.approx(np.ones(2))


# --------------------------------------------------------------------------- motion masks on synthetic discs
def disc_video(background, colour, speed_px=4.0, n_frames=16, size=64, reverse_after=None):
    frames = np.empty((n_frames, size, size, 3), np.uint8)
    for t in range(n_frames):
        frame = np.full((size, size, 3), background, np.uint8)
        cv2.circle(frame, (int(6 + speed_px * t), size // 2), 5, colour, -1)
        frames[t] = frame
    return frames


def test_masks_see_luminance_only_and_reward_where_but_not_when_for_a_reversed_video():
    red = (220, 30, 30)
    dull = disc_video((90, 90, 100), red)
    grey = piq.blurred_grey(dull, 3)
    assert not piq.motion_masks(grey, 3).any()  # ~5 grey levels of contrast: invisible to the masks
    truth = disc_video((200, 200, 205), red)
    clip_spec = spec(n_frames=16, n_context=4)
    assert piq.motion_masks(piq.blurred_grey(truth, 3), 3)[4:].any(axis=(1, 2)).all()
    reverse = np.concatenate([truth[:4], truth[4:][::-1]])
    scores = piq.mask_scores(truth, reverse, clip_spec)
    assert scores.spatial > 0.8 and scores.weighted > 0.7 and scores.spatiotemporal < 0.5
    assert scores.gate == 1.0 and scores.first_cut == -1
    faster = disc_video((200, 200, 205), red, speed_px=6.0)
    faster[:4] = truth[:4]
    assert piq.mask_scores(truth, faster, clip_spec).spatiotemporal < 0.5  # same path, wrong timing


def test_every_family_shows_motion_in_its_masks(core_clips):
    """Per family: where a tracked object moves after the context, the truth's masks see it."""
    for clip in all_clips(core_clips):
        window = piq.scored_window(clip.spec)
        masks = piq.motion_masks(piq.blurred_grey(clip.video, 3), 3)[window]
        u, v = clip.track_matrix("seg_u")[window], clip.track_matrix("seg_v")[window]
        moved = np.nanmax(np.hypot(np.diff(u, axis=0), np.diff(v, axis=0))) if np.isfinite(u).any() else 0.0
        if moved > 2.0:
            assert masks.any(), clip.clip_id


# --------------------------------------------------------------------------- standards on all 13 families
def test_truth_scores_one_and_raises_nothing(core_clips):
    for clip in all_clips(core_clips):
        values, _, events = scores_and_events(clip.video, clip)
        assert values == pytest.approx({name: 1.0 for name in ALL_METRICS}), clip.clip_id
        assert events == [], clip.clip_id


def test_garbage_scores_no_better_than_static(core_clips):
    rng = np.random.default_rng(0)
    noise_raw = []
    for clip in all_clips(core_clips):
        tail_shape = (clip.spec.n_frames - clip.spec.n_context, *clip.video.shape[1:])
        static, _, static_events = scores_and_events(static_video(clip), clip, PIQ_METRICS)
        assert static_events == [], clip.clip_id
        garbage = {
            "noise": rng.integers(0, 256, tail_shape, dtype=np.uint8),
            "black": np.zeros(tail_shape, np.uint8),
            "object colour": np.broadcast_to(np.array(clip.tracked_objects[0].rgb, np.uint8), tail_shape).copy(),
            "grey 180": np.full(tail_shape, 180, np.uint8),
        }
        for name, tail in garbage.items():
            values, raws, events = scores_and_events(with_tail(clip, tail), clip, PIQ_METRICS)
            for metric in PIQ_METRICS:
                assert values[metric] <= static[metric] + 1e-9, (clip.clip_id, name, metric, values[metric], static[metric])
            assert [event.tag for event in events] == ["implausible_motion"], (clip.clip_id, name)
            if name == "noise":
                noise_raw.append(raws["piq_spatial_iou"])
    assert np.mean(noise_raw) > 0.1  # the raw Physics-IQ number stays available (and is fooled by noise)


def test_fidelity_metrics_score_noise_low(core_clips):
    rng = np.random.default_rng(1)
    for clip in all_clips(core_clips):
        tail_shape = (clip.spec.n_frames - clip.spec.n_context, *clip.video.shape[1:])
        values, _, _ = scores_and_events(with_tail(clip, rng.integers(0, 256, tail_shape, dtype=np.uint8)), clip,
                                         FIDELITY_METRICS)
        assert values["psnr"] < 0.25 and values["ssim"] < 0.1 and values["flicker"] == 0.0, (clip.clip_id, values)


@pytest.mark.parametrize("corruption", ["blur", "noise", "h264", "colour_shift", "duplicate_frame"])
def test_harmless_corruptions_raise_no_implausible_motion(core_clips, corruption):
    for clip in [clips[0] for clips in core_clips.values()]:
        frames = CORRUPTIONS.get(corruption).fn(clip, 1.0)
        _, _, events = scores_and_events(frames, clip, ["piq_spatial_iou"])
        assert events == [], (clip.clip_id, corruption, events)


def test_flicker_measures_background_change_beyond_the_truth(core_clips):
    clip = core_clips["pendulum"][0]
    frames = clip.video.astype(np.int16)
    frames[clip.spec.n_context::2] += 3  # every other frame 3 grey levels brighter: |change| 3 on every pair
    values, raws, _ = scores_and_events(np.clip(frames, 0, 255).astype(np.uint8), clip, ["flicker"])
    assert raws["flicker"] == pytest.approx(3.0, abs=0.2)
    assert values["flicker"] == pytest.approx(1 - raws["flicker"] / fidelity.FLICKER_CAP_GREY)


def test_metrics_need_frames(core_clips):
    clip = core_clips["free_fall"][0]
    observation = dataclasses.replace(observe(clip.video, clip), frames=None)
    scores, _ = score(clip, observation, ALL_METRICS)
    assert all(np.isnan(s.value) and s.reason for s in scores)


def test_deterministic(core_clips):
    clip = core_clips["collision"][1]
    frames = CORRUPTIONS.get("time_scale").fn(clip, 0.5)
    assert scores_and_events(frames, clip) == scores_and_events(frames, clip)


# --------------------------------------------------------------------------- physical variance
def test_physical_variance_take_is_a_nudged_rerun(core_clips):
    for family in ("free_fall", "crowd", "tower", "chair"):
        clip = core_clips[family][0]
        perturbed = variance.physical_variance_spec(clip.spec)
        assert perturbed == variance.physical_variance_spec(clip.spec)  # deterministic
        assert perturbed.spec_hash != clip.spec.spec_hash and perturbed.clip_id == clip.clip_id
        for name, value in clip.spec.params.items():
            lo, hi = type(variance.FAMILIES.get(family)()).in_distribution.get(name, (0.0, 0.0))
            assert abs(perturbed.params[name] - value) <= variance.PERTURBATION_SHARE * (hi - lo) + 1e-12, (family, name)
        if family == "crowd":  # the layout seeds a random placement: never nudged
            assert perturbed.params["layout"] == clip.spec.params["layout"]
    clip = core_clips["collision"][0]
    generator = PhysicalVariance(ground_truth={clip.clip_id: clip}.__getitem__)
    [video] = generator.generate([GenerationRequest.from_clip(clip)])
    assert video.shape == clip.video.shape
    assert np.array_equal(video.frames[: clip.spec.n_context], clip.video[: clip.spec.n_context])
    assert not np.array_equal(video.frames, clip.video)  # a different take...
    values, _, events = scores_and_events(video.frames, clip)
    assert values["physics_iq_score"] == pytest.approx(1.0)  # ...that defines 100%
    assert min(values[name] for name in PIQ_METRICS) > 0.7 and events == []


def test_verified_and_original_score_formulas():
    ceiling = piq.MaskScores(0.5, 0.4, 0.5, 0.002, 0.5, 0.4, 0.5, 0.002, 1.0, -1, 0.0, 1.0, 0)
    half = piq.MaskScores(0.25, 0.2, 0.5, 0.004, 0.25, 0.2, 0.5, 0.004, 1.0, -1, 0.0, 1.0, 0)
    assert piq.verified_score(half, ceiling, gated=True) == pytest.approx((0.5 + 0.5 + 1.0 + 0.5) / 4, rel=1e-6)
    means = {"spatial": 0.25, "spatiotemporal": 0.2, "weighted": 0.5, "mse": 0.004}
    ceilings = {"spatial": 0.5, "spatiotemporal": 0.4, "weighted": 0.5, "mse": 0.002}
    assert piq.original_score(means, ceilings) == pytest.approx(100 * (2 / 3 - 0.002))
