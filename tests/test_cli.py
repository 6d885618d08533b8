"""The full command-line path on the smoke suite, as a user runs it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import available
from metrics import DEFAULT_METRICS
from simulators import FAMILIES, SUITE_VERSION


def physcheck(*args, cwd):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def oracle_run(workdir):
    result = physcheck("run", "suite=smoke", "generator=oracle", "run_id=oracle", cwd=workdir)
    assert result.returncode == 0, result.stderr
    return workdir / "runs" / "oracle", result


@pytest.mark.slow
def test_oracle_run_writes_the_run_folder_with_every_score_one(oracle_run):
    folder, result = oracle_run
    scores = pd.read_parquet(folder / "scores.parquet")
    assert len(scores) == 8 * len(DEFAULT_METRICS)
    assert ((scores["value"] >= 0.999) | scores["value"].isna()).all(), scores[scores["value"] < 0.999]
    assert pd.read_parquet(folder / "failures.parquet").empty
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["suite"]["version"] == SUITE_VERSION and manifest["clip_count"] == 8
    assert manifest["generator"]["name"] == "oracle" and manifest["finished"]
    assert manifest["timing"] == {"n_frames": 16, "fps": 8.0, "n_context": 4, "resolution": [64, 64]}
    assert len(list((folder / "videos").rglob("*.mp4"))) == 8
    assert "Mean physics score per family" in result.stdout and "Failure events: none" in result.stdout


@pytest.mark.slow
def test_resume_skips_finished_clips_and_ends_with_the_same_scores(oracle_run, workdir):
    folder, _ = oracle_run
    before = pd.read_parquet(folder / "scores.parquet")
    records = sorted((folder / "clips").glob("*.json"))
    records[0].unlink()
    result = physcheck("run", "suite=smoke", "generator=oracle", "run_id=oracle", cwd=workdir)
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(before, pd.read_parquet(folder / "scores.parquet"))
    refused = physcheck("run", "suite=smoke", "generator=static", "run_id=oracle", cwd=workdir)
    assert refused.returncode == 2 and "another configuration" in refused.stderr


@pytest.mark.slow
def test_static_scores_lower_with_tags_and_folder_counts_missing_clips(oracle_run, workdir):
    folder, _ = oracle_run
    static = physcheck("run", "suite=smoke", "generator=static", "run_id=static", cwd=workdir)
    assert static.returncode == 0, static.stderr
    scores = pd.read_parquet(workdir / "runs" / "static" / "scores.parquet")
    assert scores.query("metric == 'trajectory'")["value"].mean() < 0.7
    tags = set(pd.read_parquet(workdir / "runs" / "static" / "failures.parquet")["tag"])
    assert "trajectory_diverged" in tags

    submission = workdir / "submission"
    videos = sorted((folder / "videos").rglob("*.mp4"))
    for video in videos[1:]:  # leave one clip out
        target = submission / video.relative_to(folder / "videos")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(video.read_bytes())
    result = physcheck("run", "suite=smoke", "generator=folder", f"generator.path={submission}", "run_id=folder",
                       cwd=workdir)
    assert result.returncode == 0, result.stderr
    scores = pd.read_parquet(workdir / "runs" / "folder" / "scores.parquet")
    missing = scores[scores["status"] == "missing_video"]
    assert missing["clip_id"].nunique() == 1 and (missing["value"] == 0).all()
    kept = scores[(scores["status"] == "ok") & scores["metric"].isin(["trajectory", "permanence"])]
    assert (kept["value"] >= 0.95).all()  # the oracle's own videos, through H.264
    assert "missing_video: 1" in result.stdout


def test_unknown_names_get_one_line_listing_the_valid_ones(workdir):
    cases = {
        ("suite=nope",): "Unknown suite 'nope'. Available: core, smoke",
        ("generator=nope",): f"Unknown generator 'nope'. Available: {', '.join(available('generator'))}",
        ("suite.families=[nope]",): f"unknown family 'nope'. Available: {', '.join(FAMILIES.names())}",
        ("metrics=[nope]",): "Unknown metric 'nope'. Available: count, direction",
        ("generator=folder",): "generator.path is required",
        ("suite.n_frames=x",): "suite.n_frames",
    }
    for args, message in cases.items():
        result = physcheck("run", *args, "run_id=bad", cwd=workdir)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)
        assert not (workdir / "runs" / "bad").exists(), "a refused run must not leave a folder"


@pytest.mark.slow
def test_export_writes_every_request(workdir):
    out = workdir / "requests"
    result = physcheck("export", "suite=smoke", f"out={out}", cwd=workdir)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["clip_count"] == 8 and len(manifest["clips"]) == 8
    entry = manifest["clips"][0]
    request = json.loads((out / entry["clip_id"] / "request.json").read_text())
    assert request["prompt"] and request["n_context"] == 4 and request["n_frames"] == 16
    from generators import read_video

    frames, fps = read_video(out / entry["context_mp4"])
    assert frames.shape == (4, 64, 64, 3) and fps == 8
    assert all((out / png).exists() for png in entry["context_png"])
    assert np.asarray(frames).dtype == np.uint8


PLUGIN = """
from generators import GENERATORS, Video
from generators.baselines import Static


@GENERATORS.register("shifted")
class Shifted(Static):
    def __init__(self, pixels: int, **kwargs):
        super().__init__(**kwargs)
        self.pixels = pixels

    def generate(self, requests):
        return [Video(v.frames.copy(), v.fps) for v in super().generate(requests)]
"""


@pytest.mark.slow
def test_a_plugin_generator_runs_with_its_own_options(workdir):
    (workdir / "mymodel.py").write_text(PLUGIN)
    result = physcheck("run", "suite=smoke", "suite.n_seeds=1", "plugins=[mymodel]", "generator=plugin",
                       "generator.name=shifted",
                       "+generator.pixels=3", "run_id=plugin", cwd=workdir)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((workdir / "runs" / "plugin" / "manifest.json").read_text())
    assert manifest["generator"]["config"] == {"name": "shifted", "pixels": 3}
    bad = physcheck("run", "plugins=[nowhere]", "run_id=bad2", cwd=workdir)
    assert bad.returncode == 2 and "cannot import 'nowhere'" in bad.stderr


@pytest.mark.slow
def test_train_runs_two_steps_then_resumes_from_its_checkpoint(workdir):
    out = workdir / "ae.safetensors"
    args = ("train", "stage=autoencoder", "clips_per_family=1", "batch=2", f"out={out}")
    first = physcheck(*args, "steps=2", cwd=workdir)
    assert first.returncode == 0, first.stderr
    second = physcheck(*args, "steps=3", cwd=workdir)
    assert second.returncode == 0 and "resumed" in second.stdout and "at step 2" in second.stdout, second.stderr
    from generators.diffusion.checkpoint import read_info

    assert read_info(out)[0] == 3
    assert not (workdir / "cli.log").exists()


def test_train_takes_a_list_of_data_files_and_names_a_missing_one(workdir):
    result = physcheck("train", "stage=denoiser", "data=[here.npz,missing.npz]", f"out={workdir / 'd.safetensors'}",
                       f"autoencoder={Path(__file__).resolve().parent.parent / 'checkpoints/autoencoder.safetensors'}",
                       cwd=workdir)
    assert result.returncode == 2 and "here.npz: no training-set file" in result.stderr, result.stderr


def test_overall_score_weighs_each_principle_equally():
    from bench.results import overall_scores

    scores = pd.DataFrame({
        "split": ["eval"] * 4 + ["ood"] * 2,
        "principle": ["gravity", "gravity", "gravity", "momentum", "gravity", "momentum"],
        "value": [1.0, 1.0, 0.4, 0.0, 0.5, float("nan")],
    })
    overall = overall_scores(scores)
    assert overall["eval"] == pytest.approx((0.8 + 0.0) / 2)
    assert overall["ood"] == pytest.approx(0.5)


def test_samples_keeps_every_sample_with_its_own_seed_and_leaderboard_reports_consistency(workdir):
    from bench.leaderboard import consistent_at_k, load_run

    result = physcheck("run", "suite=smoke", "suite.families=[free_fall,collision]", "suite.n_seeds=1",
                       "generator=static", "samples=2", "metrics=[trajectory,permanence]", "run_id=samples",
                       cwd=workdir)
    assert result.returncode == 0, result.stderr
    folder = workdir / "runs" / "samples"
    scores = pd.read_parquet(folder / "scores.parquet")
    assert sorted(scores["sample"].unique()) == [0, 1] and len(scores) == 2 * 2 * 2
    assert len(list((folder / "clips").glob("*.s1.json"))) == 2
    assert len(list((folder / "videos").rglob("*.s1.mp4"))) == 2
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["samples"] == 2
    share, k = consistent_at_k(load_run(folder))
    tagged = set(pd.read_parquet(folder / "failures.parquet")["clip_id"])
    assert k == 2 and share == pytest.approx(1 - len(tagged) / 2)


UNRELIABLE = '''
import time
from generators import GENERATORS, Generator, Video

@GENERATORS.register("unreliable")
class Unreliable(Generator):
    """Hangs on free_fall seed 0, raises on seed 1, returns garbage on collision seed 0; static otherwise."""
    def generate(self, requests):
        out = []
        for r in requests:
            if r.clip_id == "free_fall/eval/00000":
                time.sleep(60)
            if r.clip_id == "free_fall/eval/00001":
                raise RuntimeError("out of memory")
            if r.clip_id == "collision/eval/00000":
                out.append("not a video")
                continue
            out.append(Video(r.context[[-1] * r.n_frames].copy(), r.fps))
        return out
'''


@pytest.mark.slow
def test_a_generator_that_hangs_raises_or_returns_garbage_fails_only_those_clips(workdir):
    (workdir / "unreliable.py").write_text(UNRELIABLE)
    result = physcheck("run", "suite=smoke", "suite.families=[free_fall,collision]", "plugins=[unreliable]",
                       "generator=plugin", "generator.name=unreliable", "generator_timeout_s=2", "batch_size=4",
                       "metrics=[trajectory]", "run_id=unreliable", cwd=workdir)
    assert result.returncode == 0, result.stderr
    scores = pd.read_parquet(workdir / "runs" / "unreliable" / "scores.parquet").set_index("clip_id")
    assert scores.loc["free_fall/eval/00000", "status"] == "generator_error"
    assert "longer than 2 s" in scores.loc["free_fall/eval/00000", "reason"]
    assert scores.loc["free_fall/eval/00001", "status"] == "generator_error"
    assert "out of memory" in scores.loc["free_fall/eval/00001", "reason"]
    assert scores.loc["collision/eval/00000", "status"] == "invalid_video"
    assert (scores.loc["collision/eval/00001", "status"]) == "ok"
