"""The generated-video cache: a rerun of the same configuration simulates and generates nothing, scores the
same to the byte, and a corrupt entry is generated again, never trusted."""
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from bench.config import CONF_DIR, register_configs
from bench.run import run
from bench.video_cache import VideoCache, batch_keys
from generators import GenerationRequest, Video

SUITE = ["suite=smoke", "suite.families=[free_fall,collision]", "suite.n_seeds=2", "batch_size=2", "workers=1"]


def request(seed: int = 0, clip_id: str = "free_fall/eval/00000", context_value: int = 10) -> GenerationRequest:
    context = np.full((4, 8, 8, 3), context_value, np.uint8)
    return GenerationRequest(clip_id, "a red ball falls", context, 16, 8.0, (8, 8), seed)


def test_keys_change_with_everything_the_video_depends_on():
    base = batch_keys("diffusion abc", 1, [request(), request(clip_id="collision/eval/00000")])
    assert len(set(base)) == 2, "each place in a batch has its own key"
    assert batch_keys("diffusion abc", 1, [request(), request(clip_id="collision/eval/00000")]) == base
    others = [
        batch_keys("diffusion abd", 1, [request(), request(clip_id="collision/eval/00000")]),  # other weights
        batch_keys("diffusion abc", 2, [request(), request(clip_id="collision/eval/00000")]),  # torch threads
        batch_keys("diffusion abc", 1, [request(seed=1), request(clip_id="collision/eval/00000")]),
        batch_keys("diffusion abc", 1, [request(context_value=11), request(clip_id="collision/eval/00000")]),
        batch_keys("diffusion abc", 1, [request()]),  # the same request in another batch
    ]
    for keys in others:
        assert keys[0] != base[0]


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "not_a_zip"])
def test_a_damaged_entry_is_refused_and_removed(tmp_path, damage):
    cache = VideoCache(tmp_path)
    frames = np.random.default_rng(0).integers(0, 256, (16, 8, 8, 3), dtype=np.uint8)
    cache.put("ab" * 32, Video(frames, 8.0))
    got = cache.get("ab" * 32)
    assert got is not None and np.array_equal(got.frames, frames) and got.fps == 8.0
    path = cache.path("ab" * 32)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"not a zip file at all")
    path.write_bytes(bytes(data))
    assert cache.get("ab" * 32) is None
    assert not path.exists(), "a corrupt entry is deleted, to be generated again"


def test_an_entry_whose_frames_do_not_match_their_hash_is_refused(tmp_path):
    cache = VideoCache(tmp_path)
    frames = np.zeros((16, 8, 8, 3), np.uint8)
    cache.put("cd" * 32, Video(frames, 8.0))
    with np.load(cache.path("cd" * 32)) as entry:
        recorded = entry["sha256"]
    np.savez_compressed(cache.path("cd" * 32), frames=frames + 1, fps=np.float64(8.0), sha256=recorded)
    assert cache.get("cd" * 32) is None


def run_in_process(run_dir: Path, cache: Path, *overrides: str) -> bytes:
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("run", overrides=[*SUITE, f"cache_dir={cache}", f"run_id={run_dir.name}", *overrides])
    with contextlib.redirect_stdout(io.StringIO()):
        run(cfg, run_dir, progress=False)
    return (run_dir / "scores.parquet").read_bytes()


@pytest.mark.slow
def test_a_rerun_simulates_and_generates_nothing_and_scores_the_same(tmp_path, monkeypatch):
    first = run_in_process(tmp_path / "first", tmp_path / "cache", "generator=diffusion")
    entries = list((tmp_path / "cache" / "videos").rglob("*.npz"))
    assert len(entries) == 4, "every generated video is cached"

    def forbidden(*args, **kwargs):
        raise AssertionError("a cached rerun must not simulate or generate")

    monkeypatch.setattr("generators.diffusion.pipeline.VideoPipeline.__call__", forbidden)
    monkeypatch.setattr("simulators.cache.simulate", forbidden)
    assert run_in_process(tmp_path / "second", tmp_path / "cache", "generator=diffusion") == first

    entries[0].write_bytes(entries[0].read_bytes()[:100])  # a damaged entry: its batch is generated again
    monkeypatch.undo()
    assert run_in_process(tmp_path / "third", tmp_path / "cache", "generator=diffusion") == first
    assert all(path.stat().st_size > 100 for path in entries)

    run_in_process(tmp_path / "uncached", tmp_path / "other_cache", "generator=diffusion", "cache_videos=false")
    assert not (tmp_path / "other_cache" / "videos").exists()


def test_cheap_generators_are_not_cached(tmp_path):
    run_in_process(tmp_path / "static", tmp_path / "cache", "generator=static")
    assert not (tmp_path / "cache" / "videos").exists(), "a baseline is cheaper to run than to cache"
