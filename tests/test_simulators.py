import json

import numpy as np
import pytest

from simulators import (
    FAMILIES,
    SUITE_VERSION,
    Clip,
    ClipCorruptError,
    ScenarioSpec,
    UnknownNameError,
    make_spec,
    simulate,
)


@pytest.mark.parametrize("family", FAMILIES.names())
def test_same_spec_gives_bit_identical_clip(family):
    spec = make_spec(family, "eval", 1, n_frames=12)
    assert simulate(spec).content_hash() == simulate(spec).content_hash()


def test_another_seed_gives_another_clip():
    first = simulate(make_spec("free_fall", "eval", 0, n_frames=12))
    second = simulate(make_spec("free_fall", "eval", 1, n_frames=12))
    assert first.content_hash() != second.content_hash()


def test_splits_sample_different_parameters_and_ood_leaves_the_training_range():
    for name in FAMILIES:
        family = FAMILIES.get(name)()
        assert family.sample_params("train", 0) != family.sample_params("eval", 0)
        ood = family.sample_params("ood", 0)
        outside = [key for key, (lo, hi) in family.in_distribution.items() if not lo <= ood[key] <= hi]
        assert outside, f"{name}: an ood sample lies inside every in-distribution range"
        for key, (lo, hi) in family.ood.items():
            train_lo, train_hi = family.in_distribution[key]
            assert hi < train_lo or lo > train_hi, f"{name}.{key}: ood range overlaps the training range"


def test_spec_hash_is_stable_and_covers_the_suite_version():
    spec = make_spec("projectile", "eval", 0)
    assert spec.spec_hash == ScenarioSpec.from_dict(json.loads(json.dumps(spec.to_dict()))).spec_hash
    assert spec.spec_hash != make_spec("projectile", "eval", 0, fps=10).spec_hash
    assert SUITE_VERSION


def test_bad_specs_are_refused():
    with pytest.raises(ValueError, match="n_context"):
        make_spec("free_fall", "eval", 0, n_frames=4, n_context=4)
    with pytest.raises(ValueError, match="split"):
        ScenarioSpec("free_fall", "test", 0)


def test_unknown_family_lists_the_valid_names():
    with pytest.raises(UnknownNameError) as error:
        make_spec("wobble", "eval", 0)
    assert str(error.value) == f"Unknown scenario family 'wobble'. Available: {', '.join(FAMILIES.names())}"


def test_projected_centre_matches_segmentation_centroid(core_clips):
    for family, clips in core_clips.items():
        tracks = clips[0].tracks
        spheres = [obj.name for obj in clips[0].tracked_objects if obj.shape == "sphere"]
        if not spheres:  # a box's projected centre is not its image centroid under perspective
            continue
        tracks = tracks[tracks["object"].isin(spheres)]
        whole = tracks[(tracks["visible_frac"] > 0.85) & (tracks["bbox_x0"] > 0) & (tracks["bbox_x1"] < 63)]
        error = np.hypot(whole["u"] - whole["seg_u"], whole["v"] - whole["seg_v"])
        assert len(whole) > 10 and error.max() < 0.5, family


def test_tracks_follow_the_video_shapes(core_clips):
    clip = core_clips["collision"][0]
    assert clip.video.shape == (32, 64, 64, 3) and clip.video.dtype == np.uint8
    assert clip.seg.shape == (32, 64, 64) and clip.seg.dtype == np.int16
    assert clip.depth.dtype == np.float16
    assert len(clip.tracks) == 32 * len(clip.objects)
    assert clip.track_matrix("u").shape == (32, 2)
    colours = [obj.rgb for obj in clip.tracked_objects]
    assert len(set(colours)) == len(colours)


def test_occlusion_ground_truth_hides_the_ball_behind_the_wall(core_clips):
    for clip in core_clips["occlusion"]:
        hidden = clip.events["hidden"]
        assert hidden and hidden[0]["start"] >= clip.spec.n_context
        visible_px = clip.track_matrix("visible_px")[:, 0]
        assert visible_px[hidden[0]["start"]:hidden[0]["end"]].min() == 0
        assert visible_px[hidden[0]["end"]:].max() > 40, "the ball must come out on the other side"


def test_free_fall_accelerates_at_g(core_clips):
    for clip in core_clips["free_fall"]:
        z = clip.track_matrix("z")[:, 0]
        dt = 1 / clip.spec.fps
        released = np.flatnonzero(np.diff(z) < -1e-6)[0]
        first_contact = min(c["frame"] for c in clip.events["contacts"] if "floor" in (c["a"], c["b"]) and c["frame"] > released)
        falling = z[released + 1:first_contact]
        assert len(falling) >= 3
        acceleration = np.diff(falling, 2) / dt**2
        assert np.allclose(acceleration, -9.81, rtol=0.02)


def test_clip_round_trips_without_pickle_and_detects_corruption(core_clips, tmp_path):
    clip = core_clips["projectile"][0]
    folder = clip.save(tmp_path / "clip")
    loaded = Clip.load(folder)
    assert loaded.content_hash() == clip.content_hash() and loaded.spec == clip.spec
    assert loaded.objects == clip.objects and loaded.prompt == clip.prompt
    data = bytearray((folder / "arrays.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(ClipCorruptError, match="checksum"):
        Clip.load(folder)


def test_every_family_and_parameter_is_documented():
    text = open("docs/scenarios.md").read()
    for name in FAMILIES:
        family = FAMILIES.get(name)
        assert f"## {name}" in text
        for param in family.in_distribution:
            assert param in text, f"docs/scenarios.md does not give the range of {name}.{param}"


def test_palette_hues_are_apart_and_stand_out_from_every_grey():
    import cv2

    from simulators.families.base import BACKDROP_GREY, FLOOR_GREY, PALETTE

    hues = [float(cv2.cvtColor(np.array([[rgb]], np.uint8), cv2.COLOR_RGB2HSV_FULL)[0, 0, 0]) * 360 / 256
            for _, rgb in PALETTE]
    for i, first in enumerate(hues):
        for second in hues[i + 1:]:
            gap = abs(first - second)
            assert min(gap, 360 - gap) >= 50, (first, second)
    lumas = [0.299 * r + 0.587 * g + 0.114 * b for _, (r, g, b) in PALETTE]
    assert min(FLOOR_GREY[0], BACKDROP_GREY[0]) - max(lumas) >= 45


def test_canonical_specs_have_no_visual_variety():
    first, second = (make_spec("collision", "eval", seed, canonical=True) for seed in (0, 1))
    visual = [key for key in first.params if key.startswith("visual_")]
    assert visual and all(first.params[key] == second.params[key] for key in visual)
    varied = [make_spec("collision", "eval", seed).params["visual_floor_grey"] for seed in range(3)]
    assert len(set(varied)) == 3


@pytest.mark.parametrize("size", [32, 512])
def test_every_family_renders_at_any_resolution(size):
    for name in FAMILIES:
        clip = simulate(make_spec(name, "eval", 0, n_frames=3, n_context=1, resolution=(size, size)))
        assert clip.video.shape == (3, size, size, 3) and clip.seg.shape == (3, size, size)
        assert (clip.seg >= 0).any(), f"{name}: no object in view at {size}x{size}"


def test_core_suite_holds_every_family_and_docs_group_them_by_principle():
    import yaml

    core = yaml.safe_load(open("bench/conf/suite/core.yaml"))
    assert sorted(core["families"]) == FAMILIES.names()
    table = open("docs/scenarios.md").read().split("## Physical principles")[1].split("## Suites")[0]
    for name in FAMILIES:
        row = next(line for line in table.splitlines() if f"| {FAMILIES.get(name).principle} |" in line)
        assert name in row, f"{name} missing from its principle's row"
