"""Bad input (issue 11): hostile or broken submission files, bad configs, and random videos through the metrics.

Every bad clip must fail alone with a one-line reason naming the file and the fix (docs/reliability.md).
"""
from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bench.run import ClipFailure, ConfigError, generate_safely, run
from generators import GENERATORS, GenerationRequest, Video, read_video, write_mp4
from metrics import DEFAULT_METRICS, evaluate
from simulators import make_spec, simulate

SMOKE_TIMING = {"n_frames": 16, "fps": 8.0, "resolution": (64, 64), "n_context": 4}
CLIP_ID = "free_fall/eval/00000"
SIZE_LIMIT = 10_000_000


@pytest.fixture(scope="module")
def clip():
    return simulate(make_spec("free_fall", "eval", 0, **SMOKE_TIMING))


@pytest.fixture
def request_(clip) -> GenerationRequest:
    return GenerationRequest.from_clip(clip)


def outcome(folder: Path, request: GenerationRequest, **options) -> Video | ClipFailure:
    """What the runner makes of the folder's file for one clip (bench.run.generate_safely)."""
    generator = GENERATORS.get("folder")(path=str(folder), max_video_bytes=SIZE_LIMIT, **options)
    return generate_safely(generator, [request])[0]


def failure(folder: Path, request: GenerationRequest, tag: str, *phrases: str) -> str:
    """Assert the clip fails with `tag` and a one-line message holding every phrase; return the message."""
    result = outcome(folder, request)
    assert isinstance(result, ClipFailure), f"expected {tag}, the clip loaded"
    assert result.tag == tag, result
    assert "\n" not in result.message and result.message.strip() == result.message
    for phrase in phrases:
        assert phrase in result.message, (phrase, result.message)
    return result.message


def nested(folder: Path, name: str = CLIP_ID, ext: str = ".npy") -> Path:
    path = folder / f"{name}{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_gif(path: Path, frames: np.ndarray, fps: int = 8) -> None:
    with av.open(str(path), "w", format="gif") as container:
        stream = container.add_stream("gif", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb8"
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="rgb8")))
        container.mux(stream.encode())


# Submission folders: files that are missing, misnamed or misplaced


def test_a_missing_clip_fails_alone_as_missing_video(tmp_path, request_):
    failure(tmp_path, request_, "missing_video", "no video for free_fall/eval/00000", "00000.mp4")


def test_extra_files_are_ignored_and_never_read(tmp_path, request_, clip):
    np.save(nested(tmp_path), clip.video)
    (tmp_path / "README.txt").write_text("our model")
    nested(tmp_path, "free_fall/eval/99999", ".mp4").write_text("not a video")
    with open(tmp_path / "huge.npy", "wb") as handle:
        os.truncate(handle.fileno(), 10 * 2**30)
    (tmp_path / "free_fall" / "eval" / "00000.npy.bak").write_bytes(b"x")
    result = outcome(tmp_path, request_)
    assert isinstance(result, Video) and np.array_equal(result.frames, clip.video)
    assert GENERATORS.get("folder")(path=str(tmp_path), max_video_bytes=SIZE_LIMIT).checksum()  # size only, unread


@pytest.mark.parametrize("name, hint", [
    ("free_fall/eval/0.mp4", "found 0.mp4, rename it to 00000.mp4"),
    ("free_fall/eval/00000.MP4", "found 00000.MP4, rename it to 00000.mp4"),
    ("FREE_FALL__EVAL__0.npy", "found FREE_FALL__EVAL__0.npy, rename it to free_fall__eval__00000.npy"),
])
def test_a_wrongly_named_file_is_missing_with_a_rename_hint(tmp_path, request_, clip, name, hint):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".npy"), clip.video)
    path.with_suffix(".npy").rename(path)
    failure(tmp_path, request_, "missing_video", "no video for free_fall/eval/00000", hint)


def test_a_folder_one_level_too_deep_is_missing_with_the_path_to_use(tmp_path, request_, clip):
    np.save(nested(tmp_path / "submission"), clip.video)
    failure(tmp_path, request_, "missing_video", f"set generator.path={tmp_path / 'submission'}")
    assert isinstance(outcome(tmp_path / "submission", request_), Video)


def test_a_folder_where_the_file_should_be_is_refused(tmp_path, request_):
    nested(tmp_path, ext=".mp4").mkdir()
    failure(tmp_path, request_, "invalid_video", "00000.mp4: not a regular file")


# Links and names that lead out of the folder


def test_a_symlink_out_of_the_folder_is_refused_unread(tmp_path, request_, clip):
    outside = tmp_path / "elsewhere.npy"
    np.save(outside, clip.video)
    submission = tmp_path / "submission"
    nested(submission).symlink_to(outside)
    failure(submission, request_, "invalid_video", "00000.npy: resolves to", "outside",
            "copy the video into the folder")


def test_a_symlinked_directory_out_of_the_folder_is_refused(tmp_path, request_, clip):
    np.save(nested(tmp_path / "elsewhere"), clip.video)
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "free_fall").symlink_to(tmp_path / "elsewhere" / "free_fall")
    failure(submission, request_, "invalid_video", "outside")


def test_a_symlink_inside_the_folder_is_followed(tmp_path, request_, clip):
    np.save(tmp_path / "all_frames.npy", clip.video)
    nested(tmp_path).symlink_to(tmp_path / "all_frames.npy")
    assert isinstance(outcome(tmp_path, request_), Video)


def test_broken_and_looping_links_are_refused(tmp_path, request_):
    nested(tmp_path).symlink_to(tmp_path / "gone.npy")
    failure(tmp_path, request_, "invalid_video", "which does not exist")
    nested(tmp_path).unlink()
    loop = tmp_path / "free_fall" / "eval" / "loop.npy"
    loop.symlink_to(nested(tmp_path))
    nested(tmp_path).symlink_to(loop)
    failure(tmp_path, request_, "invalid_video", "cannot resolve")
    assert GENERATORS.get("folder")(path=str(tmp_path)).checksum()


def test_names_with_dotdot_never_leave_the_folder(tmp_path, request_, clip):
    submission = tmp_path / "submission"
    submission.mkdir()
    np.save(nested(tmp_path, "free_fall/eval/escape"), clip.video)  # a file just outside the folder
    escaping = GenerationRequest(**{**request_.__dict__, "clip_id": "../free_fall/eval/escape"})
    failure(submission, escaping, "invalid_video", "clip id '../free_fall/eval/escape' leaves the folder")
    (submission / "free_fall__eval__00000..npy").write_bytes(b"")  # `..` inside a name matches no clip
    failure(submission, request_, "missing_video", "no video for")
    np.save(nested(submission), clip.video)  # a generator.path spelled with `..` is the same folder
    assert isinstance(outcome(tmp_path / "submission" / ".." / "submission", request_), Video)


# Broken files


@pytest.mark.parametrize("ext", [".mp4", ".npy", ".npz", ".gif"])
def test_a_zero_byte_file_is_refused(tmp_path, request_, ext):
    nested(tmp_path, ext=ext).write_bytes(b"")
    failure(tmp_path, request_, "invalid_video", f"00000{ext}: empty file (0 bytes)")


def test_a_text_file_named_mp4_is_refused(tmp_path, request_):
    nested(tmp_path, ext=".mp4").write_text("this is not a video\n" * 50)
    failure(tmp_path, request_, "invalid_video", "00000.mp4: cannot decode", "re-encode it as H.264 mp4")


def test_truncated_and_corrupt_mp4s_fail_alone_or_decode(tmp_path, request_, clip):
    good = write_mp4(tmp_path / "good.mp4", clip.video, 8)
    data = good.read_bytes()
    nested(tmp_path, ext=".mp4").write_bytes(data[: len(data) // 2])  # the index (moov) is at the end: cut off
    failure(tmp_path, request_, "invalid_video", "00000.mp4: cannot decode")
    nested(tmp_path, ext=".mp4").write_bytes(data[:64])
    failure(tmp_path, request_, "invalid_video", "00000.mp4: cannot decode")
    rng = np.random.default_rng(0)
    for _ in range(5):  # damaged picture data: FFmpeg conceals it, or the clip fails alone
        damaged = bytearray(data)
        start = int(rng.integers(0, len(data) - 500))
        damaged[start:start + 500] = rng.integers(0, 256, 500, dtype=np.uint8).tobytes()
        nested(tmp_path, ext=".mp4").write_bytes(bytes(damaged))
        result = outcome(tmp_path, request_)
        assert isinstance(result, Video) or result.tag == "invalid_video", result


def test_a_faststart_mp4_cut_short_says_where_it_breaks(tmp_path, request_, clip):
    path = nested(tmp_path, ext=".mp4")
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"g": "1"}  # every frame a keyframe: the frames before the cut still decode
        for image in clip.video:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.6)])
    failure(tmp_path, request_, "invalid_video", "00000.mp4: cannot decode after frame", "truncated or corrupt")


def test_a_gif_with_one_frame_fails_on_its_frame_count(tmp_path, request_, clip):
    write_gif(nested(tmp_path, ext=".gif"), clip.video[:1])
    failure(tmp_path, request_, "invalid_video", "00000.gif: 1 frames, expected 16 (context included) or 12")


def test_a_gif_of_every_frame_loads_at_the_suites_fps(tmp_path, request_, clip):
    write_gif(nested(tmp_path, ext=".gif"), clip.video)
    result = outcome(tmp_path, request_)
    assert isinstance(result, Video) and result.shape == (16, 64, 64, 3) and result.fps == 8.0


# Wrong shape or timing


@pytest.mark.parametrize("ext", [".mp4", ".npy"])
def test_wrong_resolution_is_refused_before_decoding(tmp_path, request_, clip, ext):
    frames = np.ascontiguousarray(clip.video[:, :32, :48])
    path = nested(tmp_path, ext=ext)
    write_mp4(path, frames, 8) if ext == ".mp4" else np.save(path, frames)
    failure(tmp_path, request_, "invalid_video", f"00000{ext}: frames are 32x48 (HxW), expected 64x64")


def test_wrong_frame_counts_are_refused(tmp_path, request_, clip):
    write_mp4(nested(tmp_path, ext=".mp4"), clip.video[:10], 8)
    failure(tmp_path, request_, "invalid_video", "10 frames, expected 16 (context included) or 12 (generated only)")
    write_mp4(nested(tmp_path, ext=".mp4"), np.concatenate([clip.video, clip.video]), 8)
    failure(tmp_path, request_, "invalid_video", "more than 16 frames")


def test_a_wrong_fps_is_accepted_frame_for_frame_with_a_warning(tmp_path, request_, clip, caplog):
    write_mp4(nested(tmp_path, ext=".mp4"), clip.video, 24)
    with caplog.at_level(logging.WARNING, logger="generators.folder"):
        result = outcome(tmp_path, request_)
    assert isinstance(result, Video) and result.fps == 8.0 and result.shape == (16, 64, 64, 3)
    assert "24 fps, the suite's is 8" in caplog.text


# Arrays: layouts converted when unambiguous, refused otherwise


def test_grey_frames_become_rgb(tmp_path, request_, clip):
    grey = clip.video[..., 1]
    for array in (grey, grey[..., None]):
        np.save(nested(tmp_path), array)
        result = outcome(tmp_path, request_)
        assert isinstance(result, Video) and np.array_equal(result.frames, np.repeat(grey[..., None], 3, axis=-1))


def test_opaque_rgba_drops_alpha_and_transparent_rgba_is_refused(tmp_path, request_, clip):
    alpha = np.full((*clip.video.shape[:3], 1), 255, np.uint8)
    np.save(nested(tmp_path), np.concatenate([clip.video, alpha], axis=-1))
    result = outcome(tmp_path, request_)
    assert isinstance(result, Video) and np.array_equal(result.frames, clip.video)
    alpha[3, 10, 10] = 128
    np.save(nested(tmp_path), np.concatenate([clip.video, alpha], axis=-1))
    failure(tmp_path, request_, "invalid_video", "RGBA frames with transparent pixels", "composite")


@pytest.mark.parametrize("make, phrase", [
    (lambda v: v.astype(np.uint16) * 257, "array is uint16 (16, 64, 64, 3); expected uint8 (T, H, W, 3) RGB in 0..255"),
    (lambda v: v.astype(np.uint16), "16-bit: (x >> 8).astype(np.uint8)"),
    (lambda v: v.astype(np.float32) / 255, "array is float32"),
    (lambda v: np.where(v > 200, np.nan, v / 255.0), "float64 (16, 64, 64, 3) holding NaN"),
    (lambda v: v.astype(np.int64), "array is int64"),
    (lambda v: v > 128, "array is bool"),
    (lambda v: v[0], "looks like one image"),
    (lambda v: v[..., :2], "expected uint8 (T, H, W, 3)"),
    (lambda v: v.reshape(16, -1), "expected uint8 (T, H, W, 3)"),
])
def test_wrong_dtypes_and_layouts_are_refused_with_the_fix(tmp_path, request_, clip, make, phrase):
    np.save(nested(tmp_path), make(clip.video))
    failure(tmp_path, request_, "invalid_video", "00000.npy:", phrase)


class Payload:
    """Unpickling this creates a marker file: proof that code from the file ran."""

    marker = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("ext", [".npy", ".npz"])
def test_pickled_arrays_are_refused_and_never_run(tmp_path, request_, ext):
    marker = tmp_path / "code_ran"
    Payload.marker = str(marker)
    array = np.array([Payload()], dtype=object)
    path = nested(tmp_path, ext=ext)
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=True) if ext == ".npy" else np.savez(handle, video=array)
    pickle.loads(pickle.dumps(Payload()))  # the payload works when unpickled...
    assert marker.exists()
    marker.unlink()
    failure(tmp_path, request_, "invalid_video", f"00000{ext}: holds Python objects (pickle), which are never loaded")
    assert not marker.exists()  # ...but physcheck never unpickles it


def test_an_npz_with_several_unnamed_arrays_is_refused(tmp_path, request_, clip):
    np.savez(nested(tmp_path, ext=".npz"), a=clip.video, b=clip.video)
    failure(tmp_path, request_, "invalid_video", "holds arrays ['a', 'b']; name the video array 'video'")


# Sizes: refused from the file size before a byte is read


@pytest.mark.parametrize("ext", [".mp4", ".npy", ".webm"])
def test_a_10_gb_file_is_refused_by_size_unread(tmp_path, request_, ext):
    with open(nested(tmp_path, ext=ext), "wb") as handle:  # sparse: no disk used
        os.truncate(handle.fileno(), 10 * 2**30)
    failure(tmp_path, request_, "invalid_video", f"00000{ext}: {10 * 2**30} bytes, over the limit of {SIZE_LIMIT}",
            "generator.max_video_bytes")
    assert GENERATORS.get("folder")(path=str(tmp_path), max_video_bytes=SIZE_LIMIT).checksum()


def test_an_npz_that_unpacks_past_the_limit_is_refused(tmp_path, request_):
    np.savez_compressed(nested(tmp_path, ext=".npz"), video=np.zeros((16, 1024, 1024, 3), np.uint8))  # 50 MB
    assert nested(tmp_path, ext=".npz").stat().st_size < SIZE_LIMIT
    failure(tmp_path, request_, "invalid_video", "array 'video' unpacks to 50331776 bytes, over the limit")


def test_the_size_limit_is_a_folder_option(tmp_path, request_, clip):
    np.save(nested(tmp_path), clip.video)
    generator = GENERATORS.get("folder")(path=str(tmp_path), max_video_bytes=1000)
    assert generate_safely(generator, [request_])[0].tag == "invalid_video"
    with pytest.raises(ValueError, match="generator.max_video_bytes must be a positive number"):
        GENERATORS.get("folder")(path=str(tmp_path), max_video_bytes=-1)


# The whole run: every bad clip fails alone, with its reason in scores, failures and the summary


def physcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=300)


def test_a_run_over_a_hostile_folder_fails_each_bad_clip_alone(tmp_path):
    clips = [simulate(make_spec("free_fall", "eval", seed, **SMOKE_TIMING)) for seed in range(6)]
    folder = tmp_path / "submission"
    np.save(nested(folder, clips[0].clip_id), clips[0].video)
    nested(folder, clips[2].clip_id, ".mp4").write_bytes(b"")
    nested(folder, clips[3].clip_id, ".mp4").write_text("hello")
    with open(nested(folder, clips[4].clip_id, ".mp4"), "wb") as handle:
        os.truncate(handle.fileno(), 10 * 2**30)
    np.save(tmp_path / "outside.npy", clips[5].video)
    nested(folder, clips[5].clip_id).symlink_to(tmp_path / "outside.npy")
    (folder / "notes.txt").write_text("extra")
    result = physcheck("run", "suite=smoke", "suite.families=[free_fall]", "suite.n_seeds=6", "generator=folder",
                       f"generator.path={folder}", "metrics=[trajectory]", "workers=1", "run_id=hostile",
                       f"runs_dir={tmp_path / 'runs'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = {1: ("missing_video", "no video for"), 2: ("invalid_video", "empty file"),
                3: ("invalid_video", "cannot decode"), 4: ("invalid_video", "over the limit"),
                5: ("invalid_video", "outside")}
    run_dir = tmp_path / "runs" / "hostile"
    scores = pd.read_parquet(run_dir / "scores.parquet").set_index("seed")
    failures = pd.read_parquet(run_dir / "failures.parquet").set_index("seed")
    summary = (run_dir / "summary.md").read_text()
    assert scores.loc[0, "status"] == "ok" and scores.loc[0, "value"] > 0.9
    for seed, (tag, phrase) in expected.items():
        reason = scores.loc[seed, "reason"]
        assert scores.loc[seed, "status"] == tag and phrase in reason and "\n" not in reason
        assert failures.loc[seed, "tag"] == tag and failures.loc[seed, "message"] == reason
        assert f"- free_fall/eval/{seed:05d} ({tag}): {reason}" in summary
    assert "free_fall/eval/00000 (" not in summary


# Configs: refused before any work, one line naming the key


def composed(*overrides: str):
    from hydra import compose, initialize_config_dir

    from bench.config import CONF_DIR, register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("run", overrides=["suite=smoke", *overrides])


@pytest.mark.parametrize("override, message", [
    ("suite.n_frames=0", "suite: n_frames must be at least 2, got 0"),
    ("suite.n_frames=-3", "suite: n_frames must be at least 2, got -3"),
    ("suite.resolution=[-64,64]", "suite: resolution must be within 16..1024 px, got (-64, 64)"),
    ("suite.resolution=[0,64]", "suite: resolution must be within 16..1024 px"),
    ("suite.n_context=20", "suite: n_context must be in [1, n_frames - 1] = [1, 15], got 20"),
    ("suite.n_context=16", "suite: n_context must be in [1, n_frames - 1] = [1, 15], got 16"),
    ("suite.n_context=0", "suite: n_context must be in [1, n_frames - 1]"),
    ("suite.fps=0", "suite: fps must be positive"),
    ("suite.n_seeds=0", "suite.n_seeds must be at least 1, got 0"),
    ("batch_size=0", "batch_size must be at least 1, got 0"),
    ("samples=-1", "samples must be at least 1, got -1"),
    ("workers=-1", "workers must be 0 (every core) or more, got -1"),
    ("generator_timeout_s=-1", "generator_timeout_s must be 0 (no limit) or more"),
    ("generator.max_video_bytes=0", "generator.max_video_bytes must be a positive number of bytes, got 0"),
    ("generator.max_video_bytes=lots", "generator.max_video_bytes must be a positive number of bytes, got 'lots'"),
    ("suite.resolution=[64]", "suite.resolution must be [height, width], got [64]"),
    ("suite.first_seed=-1", "suite.first_seed must be 0 or more, got -1"),
])
def test_bad_values_are_refused_before_any_work_naming_the_key(tmp_path, override, message):
    cfg = composed("generator=folder", f"generator.path={tmp_path}", override)
    with pytest.raises(ConfigError) as error:
        run(cfg, tmp_path / "run", progress=False)
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("override, message", [
    ("suite.nope=1", "Could not override 'suite.nope': Key 'nope' not in 'SuiteConfig'"),
    ("nope=1", "Could not override 'nope': Key 'nope' not in 'RunConfig'"),
    ("generator.nope=1", "Could not override 'generator.nope'"),
    ("suite.n_seeds=many", "suite.n_seeds=many: Value 'many' of type 'str' could not be converted to Integer"),
    ("write_videos=maybe", "write_videos=maybe: Value 'maybe' is not a valid bool"),
    ("suite.resolution=64", "suite.resolution"),
])
def test_unknown_keys_and_wrong_types_are_refused_naming_the_key(override, message):
    from bench.cli import check_overrides

    problem = check_overrides("run", "run", ["suite=smoke", "generator=oracle", override])
    assert problem is not None and message in problem and "\n" not in problem


def test_the_command_line_refuses_a_bad_config_in_one_line_with_exit_code_2(tmp_path):
    for override in ("suite.n_context=20", "suite.nope=1"):
        result = physcheck("run", "suite=smoke", override, "run_id=bad", f"runs_dir={tmp_path / 'runs'}", cwd=tmp_path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert override.split("=")[0].split(".")[-1] in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "runs" / "bad").exists()


# Property-based: loaders and metrics on random input never raise unhandled, scores stay in [0, 1] or NaN


PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def random_video(clip, kind: str, seed: int) -> np.ndarray:
    """uint8 (16, 64, 64, 3) frames of one kind, drawn from seed."""
    rng = np.random.default_rng(seed)
    shape = clip.video.shape
    if kind == "noise":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "blocks":  # flat patches of random colour: what a colour-keyed observer may take for objects
        blocks = rng.integers(0, 256, (shape[0], shape[1] // 8, shape[2] // 8, 3), dtype=np.uint8)
        return np.repeat(np.repeat(blocks, 8, axis=1), 8, axis=2)
    if kind == "constant":
        return np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), shape).copy()
    if kind == "shuffled":  # the true frames in a random order
        return clip.video[rng.permutation(shape[0])]
    noisy = clip.video.astype(np.int16) + rng.integers(-60, 61, shape)  # the truth under heavy noise
    return noisy.clip(0, 255).astype(np.uint8)


@PROPERTY
@given(kind=st.sampled_from(["noise", "blocks", "constant", "shuffled", "noisy_truth"]), seed=st.integers(0, 2**32 - 1))
def test_random_videos_score_in_range_or_nan_with_a_reason(clip, kind, seed):
    scores, events = evaluate(random_video(clip, kind, seed), clip, DEFAULT_METRICS)
    assert [score.metric for score in scores] == list(DEFAULT_METRICS)
    for score in scores:
        assert np.isnan(score.value) or 0.0 <= score.value <= 1.0, score
        assert not np.isnan(score.value) or score.reason.strip(), score


@PROPERTY
@given(array=hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int64, np.float32, np.float64, np.bool_]),
                        hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=6)))
def test_random_arrays_load_or_are_refused_in_one_line(tmp_path_factory, array):
    from generators import VideoFormatError

    path = tmp_path_factory.mktemp("arrays") / "clip.npy"
    np.save(path, array)
    try:
        frames, fps = read_video(path, max_bytes=SIZE_LIMIT)
    except VideoFormatError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    assert frames.dtype == np.uint8 and frames.ndim == 4 and frames.shape[-1] == 3 and fps is None


@PROPERTY
@given(data=st.binary(min_size=1, max_size=4096), ext=st.sampled_from([".mp4", ".webm", ".gif", ".npy", ".npz"]))
def test_random_bytes_are_refused_in_one_line(tmp_path_factory, data, ext):
    from generators import VideoFormatError

    path = tmp_path_factory.mktemp("bytes") / f"clip{ext}"
    path.write_bytes(data)
    try:
        read_video(path, max_bytes=SIZE_LIMIT, max_frames=16, resolution=(64, 64))
    except VideoFormatError as error:
        assert "\n" not in str(error) and str(path) in str(error)
