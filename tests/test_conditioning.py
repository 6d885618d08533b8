"""Conditioning modes (v2v / i2v / t2v): requests, generators' declared modes, refusals, t2v scoring, export,
leaderboard/compare refusals, and prompts complete enough for a model given no frames."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

import simulators
from bench.config import ExportConfig, RunConfig, SuiteConfig
from bench.export import export
from bench.leaderboard import RunInputError, build_leaderboard, leaderboard_markdown, load_runs
from bench.results import NOT_PHYSICS, is_physics_metric, overall_scores
from bench.run import NOT_APPLICABLE, ConfigError, make_generator, run, score_outcome
from generators import GENERATORS, GenerationRequest, Generator, Video
from generators.base import CONDITIONING, CONDITIONING_MODES
from metrics import DEFAULT_METRICS, METRICS, PHYSICS_METRICS
from simulators.families.base import PALETTE

REPOSITORY = Path(__file__).resolve().parents[1]
TINY = {"families": ["free_fall", "head_turn"], "n_seeds": 1, "n_frames": 16}
"""2 families x 1 seed: head_turn for joint_limits, free_fall for count (the reference-free metrics)."""


def suite(**overrides) -> SuiteConfig:
    return SuiteConfig(**{"name": "tiny", **TINY, **overrides})


def run_config(tmp_path: Path, generator: str, conditioning: str, **overrides) -> RunConfig:
    return OmegaConf.structured(RunConfig(
        suite=suite(), generator={"name": generator}, conditioning=conditioning, workers=1, write_videos=False,
        run_id=f"{generator}-{conditioning}", runs_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"), **overrides))


# ------------------------------------------------------------------------------------------- requests

def test_each_mode_gives_its_context_frames(core_clips):
    clip = core_clips["projectile"][0]
    height, width = clip.spec.resolution
    for mode, frames in (("v2v", 4), ("i2v", 1), ("t2v", 0)):
        request = GenerationRequest.from_clip(clip, conditioning=mode)
        assert request.conditioning == mode and request.n_frames == 32
        assert request.context.shape == (frames, height, width, 3) and request.n_context == frames
        np.testing.assert_array_equal(request.context, clip.video[:frames])
    with pytest.raises(ValueError, match="conditioning i2v gives 1 context frame"):
        GenerationRequest(clip.clip_id, clip.prompt, clip.video[:4], 32, 8.0, (64, 64), 0, "i2v")
    with pytest.raises(ValueError) as error:
        GenerationRequest.from_clip(clip, conditioning="x2v")
    assert str(error.value) == "conditioning='x2v' is not a conditioning mode; use one of v2v, i2v, t2v"


def test_reference_generators_in_every_mode_they_declare(core_clips):
    clip = core_clips["projectile"][0]
    truth = {clip.clip_id: clip}.__getitem__
    requests = {mode: GenerationRequest.from_clip(clip, conditioning=mode) for mode in CONDITIONING_MODES}

    static = GENERATORS.get("static")()
    frames = static.generate([requests["i2v"]])[0].frames
    assert frames.shape == clip.video.shape and (frames == clip.video[0]).all()  # the first frame, held

    reverse = GENERATORS.get("reverse")(ground_truth=truth)
    np.testing.assert_array_equal(reverse.generate([requests["t2v"]])[0].frames, clip.video[::-1])
    i2v = reverse.generate([requests["i2v"]])[0].frames
    np.testing.assert_array_equal(i2v[0], clip.video[0])
    np.testing.assert_array_equal(i2v[1:], clip.video[1:][::-1])

    variance = GENERATORS.get("physical_variance")(ground_truth=truth)
    take = variance.generate([requests["t2v"]])[0].frames
    assert take.shape == clip.video.shape and not np.array_equal(take, clip.video)  # all its own frames

    oracle = GENERATORS.get("oracle")(ground_truth=truth)
    for request in requests.values():
        np.testing.assert_array_equal(oracle.generate([request])[0].frames, clip.video)


def test_declared_modes():
    declared = {name: tuple(GENERATORS.get(name).supported_conditioning) for name in GENERATORS.names()}
    everything = ("v2v", "i2v", "t2v")
    assert {name: declared[name] for name in ("oracle", "physical_variance", "corrupt", "reverse", "folder")} == {
        name: everything for name in ("oracle", "physical_variance", "corrupt", "reverse", "folder")}
    assert declared["static"] == ("v2v", "i2v")
    assert declared["linear"] == ("v2v",) and declared["diffusion"] == ("v2v",)
    assert set(declared["diffusers"]) == {"i2v", "t2v"}  # narrowed to one by the loaded pipeline's signature
    assert Generator.supported_conditioning == ("v2v",)  # a plugin that declares nothing
    assert all(CONDITIONING[mode].aligned for mode in ("v2v", "i2v")) and not CONDITIONING["t2v"].aligned


# ------------------------------------------------------------------------------------------- refusals

def test_a_mode_the_generator_does_not_serve_is_refused_in_one_line():
    with pytest.raises(ConfigError) as error:
        make_generator({"name": "linear"}, ground_truth=None, conditioning="t2v")
    assert str(error.value) == "generator 'linear' supports conditioning v2v; got t2v"
    with pytest.raises(ConfigError, match="^generator 'static' supports conditioning v2v, i2v; got t2v$"):
        make_generator({"name": "static"}, ground_truth=None, conditioning="t2v")
    with pytest.raises(ConfigError, match="^generator 'diffusers' supports conditioning i2v, t2v; got v2v$"):
        make_generator({"name": "diffusers", "path": "/nowhere"}, ground_truth=None, conditioning="v2v")  # not loaded


def test_a_folder_serves_the_mode_its_manifest_records(core_clips, tmp_path):
    clip = core_clips["free_fall"][0]
    np.save(tmp_path / "free_fall__eval__00000.npy", clip.video[1:])  # i2v: the given first frame goes in front
    folder = make_generator({"name": "folder", "path": str(tmp_path)}, None, "i2v")
    assert folder.conditioning_modes() == CONDITIONING_MODES  # no manifest: any mode
    video = folder.generate([GenerationRequest.from_clip(clip, conditioning="i2v")])[0]
    np.testing.assert_array_equal(video.frames, clip.video)

    (tmp_path / "manifest.json").write_text(json.dumps({"conditioning": "t2v"}))
    folder = make_generator({"name": "folder", "path": str(tmp_path)}, None, "t2v")
    assert folder.conditioning_modes() == ("t2v",)
    with pytest.raises(ConfigError) as error:
        make_generator({"name": "folder", "path": str(tmp_path)}, None, "v2v")
    assert str(error.value) == (f"generator 'folder' supports conditioning t2v (recorded in {tmp_path / 'manifest.json'}); "
                                "got v2v")
    with pytest.raises(ValueError, match=r"31 frames, expected 32 \(t2v: every frame is generated\)"):
        folder.generate([GenerationRequest.from_clip(clip, conditioning="t2v")])
    (tmp_path / "manifest.json").write_text(json.dumps({"conditioning": "4v"}))
    with pytest.raises(ConfigError, match="manifest.json: conditioning='4v' is not a conditioning mode"):
        make_generator({"name": "folder", "path": str(tmp_path)}, None, "v2v")


def physcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPOSITORY), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_cli_refuses_a_bad_mode_and_a_mismatch_in_one_line_before_any_work(tmp_path):
    for args, message in ((("conditioning=x2v",), "physcheck run: conditioning='x2v' is not a conditioning mode; "
                                                  "use one of v2v, i2v, t2v"),
                          (("generator=linear", "conditioning=t2v"),
                           "physcheck run: generator 'linear' supports conditioning v2v; got t2v")):
        result = physcheck("run", "suite=smoke", *args, "run_id=refused", "workers=1", cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.strip() == message, result.stderr
        assert not (tmp_path / "runs" / "refused").exists()


# ------------------------------------------------------------------------------------------- scoring

def test_aligned_metrics_are_not_applicable_in_t2v_only(core_clips):
    clip = core_clips["free_fall"][0]
    aligned = [name for name in DEFAULT_METRICS if METRICS.get(name).needs_alignment]
    assert aligned and "count" not in aligned and "joint_limits" not in aligned
    video = Video(clip.video.copy(), clip.spec.fps)
    for mode in ("v2v", "i2v"):
        scores = {s.metric: s for s in score_outcome(clip, video, DEFAULT_METRICS, mode).scores}
        assert scores["trajectory"].value == 1.0 and not any(s.reason.startswith("not applicable") for s in scores.values())
    record = score_outcome(clip, video, DEFAULT_METRICS, "t2v")
    assert [s.metric for s in record.scores] == list(DEFAULT_METRICS)
    for score in record.scores:
        if score.metric in aligned:
            assert np.isnan(score.value) and score.reason == NOT_APPLICABLE.format(mode="t2v")
    assert {s.metric: s.value for s in record.scores}["count"] == 1.0


def test_t2v_run_scores_reference_free_metrics_only_and_records_the_mode(tmp_path):
    scores = run(run_config(tmp_path, "oracle", "t2v"), tmp_path / "oracle-t2v", progress=False)
    manifest = json.loads((tmp_path / "oracle-t2v" / "manifest.json").read_text())
    assert manifest["conditioning"] == "t2v" and manifest["config"]["conditioning"] == "t2v"
    aligned = sorted(name for name in DEFAULT_METRICS if METRICS.get(name).needs_alignment)
    assert manifest["not_applicable_metrics"] == aligned
    n_a = scores[scores["metric"].isin(aligned)]
    assert len(n_a) == 2 * len(aligned) and n_a["value"].isna().all()
    assert (n_a["reason"] == "not applicable in t2v: compares with the ground truth pixel by pixel").all()
    free = scores[~scores["metric"].isin(aligned)]
    assert not free["reason"].str.startswith("not applicable").any()  # a number, or the metric's own abstention
    by_metric = free.set_index(["family", "metric"])["value"]
    assert by_metric["free_fall", "count"] == 1.0 and by_metric["head_turn", "joint_limits"] == 1.0
    summary = (tmp_path / "oracle-t2v" / "summary.md").read_text()
    assert "conditioning: t2v" in summary and "n/a" in summary and "nan" not in summary
    physics = free[free["metric"].map(lambda name: METRICS.get(name).principle not in NOT_PHYSICS)]
    expected = physics.groupby("principle")["value"].mean().mean()
    assert overall_scores(scores, "t2v")["eval"] == pytest.approx(expected)


def test_reference_free_metrics_enter_the_physics_score_in_t2v_and_stand_beside_it_otherwise():
    for name in DEFAULT_METRICS:
        spec = METRICS.get(name)
        if spec.principle in NOT_PHYSICS:
            assert not any(is_physics_metric(name, mode) for mode in CONDITIONING_MODES)
        elif name in PHYSICS_METRICS:
            assert all(is_physics_metric(name, mode) for mode in CONDITIONING_MODES)
        else:  # extra evidence: beside the v2v/i2v physics score (existing scores never move), inside it in t2v
            assert not spec.needs_alignment
            assert not is_physics_metric(name, "v2v") and not is_physics_metric(name, "i2v")
            assert is_physics_metric(name, "t2v")


def test_leaderboard_and_compare_refuse_mixed_modes(tmp_path):
    for generator, mode in (("oracle", "t2v"), ("reverse", "t2v"), ("oracle", "v2v")):
        run(run_config(tmp_path, generator, mode), tmp_path / f"{generator}-{mode}", progress=False)
    board = build_leaderboard(load_runs([tmp_path / "oracle-t2v", tmp_path / "reverse-t2v"]), n_resamples=100)
    assert board.conditioning == "t2v" and {row.run.generator for row in board.rows} == {"oracle", "reverse"}
    markdown = leaderboard_markdown(board, "x.png")
    assert "conditioning t2v" in markdown and "n/a" in markdown
    for row in board.rows:  # the scores come from the reference-free metrics (count, joint_limits, ...)
        assert not np.isnan(row.overall["eval"].value)
        assert not np.isnan(row.principles["gravity"].value) and not np.isnan(row.principles["joint limits"].value)
    paths = [tmp_path / "oracle-t2v", tmp_path / "oracle-v2v"]
    with pytest.raises(RunInputError) as error:
        build_leaderboard(load_runs(paths), n_resamples=100)
    assert str(error.value) == (f"{paths[1]} ran with conditioning v2v but {paths[0]} with conditioning t2v; "
                                "compare runs of one mode (rerun with conditioning=t2v)")
    from bench.compare import check_comparable

    baseline, candidate = load_runs([tmp_path / "oracle-v2v", tmp_path / "reverse-t2v"])
    with pytest.raises(RunInputError, match="ran with conditioning t2v but .* with conditioning v2v"):
        check_comparable(baseline, candidate)


# ------------------------------------------------------------------------------------------- export

@pytest.mark.parametrize("mode, given", [("i2v", 1), ("t2v", 0)])
def test_export_carries_the_mode(tmp_path, mode, given):
    out = tmp_path / "requests"
    export(OmegaConf.structured(ExportConfig(suite=suite(families=["collision"]), out=str(out),
                                             cache_dir=str(tmp_path / "cache"), conditioning=mode)), progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["conditioning"] == mode and f"conditioning={mode}" in manifest["instructions"]
    entry = manifest["clips"][0]
    request = json.loads((out / entry["clip_id"] / "request.json").read_text())
    assert request["conditioning"] == mode and request["n_context"] == given and request["scored_from"] == 4
    assert sorted(p.name for p in (out / entry["clip_id"]).glob("context_*.png")) == [
        f"context_{i:02d}.png" for i in range(given)]
    assert (out / entry["clip_id"] / "context.mp4").exists() == bool(given)
    # answers generated into the export folder carry the mode to the folder generator
    assert make_generator({"name": "folder", "path": str(out)}, None, mode).conditioning_modes() == (mode,)


# ------------------------------------------------------------------------------------------- prompts

PALETTE_NAMES = {tuple(rgb): name for name, rgb in PALETTE}


def test_prompts_name_every_tracked_object_colour_and_the_camera(core_clips):
    for family, clips in core_clips.items():
        for clip in clips:
            words = set(re.findall(r"[a-z]+", clip.prompt.lower()))
            for obj in clip.tracked_objects:
                colour = PALETTE_NAMES[tuple(obj.rgb)]
                assert colour in words, (family, obj.name, colour, clip.prompt)
            untracked_palette = {name for name, _ in PALETTE} - {PALETTE_NAMES[tuple(o.rgb)] for o in clip.tracked_objects}
            assert not untracked_palette & words, (family, untracked_palette & words, clip.prompt)
            assert re.search(r"Seen from .* camera \d+\.\d m away", clip.prompt), (family, clip.prompt)


def test_a_diffusers_pipeline_serves_the_mode_of_its_signature(tmp_path):
    pytest.importorskip("diffusers")
    pytest.importorskip("transformers")
    import torch
    from test_diffusers_adapter import save_wan_text_to_video  # the tiny random text-to-video pipeline

    folder = save_wan_text_to_video(tmp_path / "wan")
    options = {"name": "diffusers", "path": str(folder), "steps": 2, "height": 32, "width": 32}
    with pytest.raises(ConfigError) as error:
        make_generator(options, None, "i2v")
    assert str(error.value) == f"generator 'diffusers' supports conditioning t2v (WanPipeline at {folder} takes no image); got i2v"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = make_generator(options, None, "t2v")
        clip = simulators.simulate(simulators.make_spec("free_fall", "eval", 0, n_frames=8, n_context=4))
        video = generator.generate([GenerationRequest.from_clip(clip, conditioning="t2v")])[0]
    finally:
        torch.set_num_threads(threads)
    assert video.shape == (8, 64, 64, 3)
    assert not np.array_equal(video.frames[:4], clip.video[:4])  # the pipeline's own opening, not the truth's
