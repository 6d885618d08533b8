"""`physcheck compare`: paired tests, Holm correction, the regression gate, the report and its refusals."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_leaderboard import random_scores, write_run

from bench import cli
from bench.compare import compare_json, compare_markdown, compare_runs, holm, wilcoxon_test
from bench.leaderboard import RunInputError, load_run
from bench.results import FAILURE_COLUMNS

RESAMPLES = 999


def physcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=300)


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


# ---------------------------------------------------------------------------------------- statistics

def test_holm_matches_the_step_down_definition():
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9])[1] == 1.0 and holm([0.2])[0] == 0.2


def test_wilcoxon_handles_all_zero_differences_and_agrees_with_scipy():
    assert wilcoxon_test(np.zeros(12)) == (0.0, 1.0)
    assert wilcoxon_test(np.array([0.0, np.nan, 0.0])) == (0.0, 1.0)
    differences = np.array([-0.2, -0.1, 0.05, -0.3, -0.15, 0.0, -0.25, -0.05])
    assert wilcoxon_test(differences)[1] == pytest.approx(stats.wilcoxon(differences).pvalue)


def drop_gravity(values: pd.DataFrame, by: float) -> pd.DataFrame:
    """The same clips, with every gravity (free_fall, projectile) value lowered by `by`."""
    changed = values.copy()
    gravity = changed["family"].isin(["free_fall", "projectile"]) & changed["value"].notna()
    changed.loc[gravity, "value"] = changed.loc[gravity, "value"] - by
    return changed


def test_differences_equal_pandas_and_the_gate_follows_the_threshold(tmp_path):
    values = random_scores(20, n_seeds=15)
    baseline = load_run(write_run(tmp_path / "base", "model", values))
    candidate = load_run(write_run(tmp_path / "cand", "model", drop_gravity(values, 0.01)))

    comparison = compare_runs(baseline, candidate, n_resamples=RESAMPLES)
    tests = {(test.kind, test.name, test.split): test for test in comparison.tests}
    gravity = tests[("principle", "gravity", "all")]
    base_mean = baseline.scores.query("principle == 'gravity'")["value"].mean()
    cand_mean = candidate.scores.query("principle == 'gravity'")["value"].mean()
    assert gravity.delta == pytest.approx(cand_mean - base_mean) == pytest.approx(-0.01)
    assert gravity.delta_low <= gravity.delta <= gravity.delta_high
    assert gravity.verdict == "regressed" and not gravity.fails_check  # significant, but smaller than 0.02
    assert tests[("principle", "momentum", "all")].verdict == "unchanged"
    assert tests[("principle", "momentum", "all")].delta == 0
    assert comparison.exit_code == 0 and "**OK**" in compare_markdown(comparison)

    strict = compare_runs(baseline, candidate, threshold=0.005, n_resamples=RESAMPLES)
    assert strict.exit_code == 1 and {test.name for test in strict.failed} >= {"gravity"}
    assert "**REGRESSED**" in compare_markdown(strict)
    improved = compare_runs(candidate, baseline, n_resamples=RESAMPLES)
    assert improved.exit_code == 0
    assert {test.verdict for test in improved.tests if test.name == "gravity"} == {"improved"}


def failures_for(clips: list[str], tag: str) -> pd.DataFrame:
    rows = [{"clip_id": clip, "family": clip.split("/")[0], "principle": "", "split": clip.split("/")[1], "seed": 0,
             "sample": 0, "tag": tag, "frame": 5, "object": "ball", "severity": 1.0, "message": ""} for clip in clips]
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS).astype({"seed": np.int64, "frame": np.int64})


def test_worst_clips_and_tag_changes(tmp_path):
    values = random_scores(21, n_seeds=4)
    worse = values.copy()
    hit = ["occlusion/eval/00001", "free_fall/ood/00002"]
    worse.loc[worse["clip_id"] == hit[0], "value"] = 0.0
    worse.loc[worse["clip_id"] == hit[1], "value"] = worse.loc[worse["clip_id"] == hit[1], "value"] / 2
    baseline = load_run(write_run(tmp_path / "base", "model", values,
                                  failures=failures_for(["collision/eval/00000", hit[0]], "object_appeared")))
    candidate = load_run(write_run(tmp_path / "cand", "model", worse,
                                   failures=failures_for(hit, "object_vanished")))
    comparison = compare_runs(baseline, candidate, n_resamples=RESAMPLES)
    assert list(comparison.worst["clip_id"]) == hit
    assert comparison.worst.loc[0, "candidate tags"] == "object_vanished"
    tags = comparison.tags.set_index("tag")
    assert tags.loc["object_vanished"].to_dict() == {"baseline clips": 0, "candidate clips": 2, "appeared on": 2,
                                                     "disappeared from": 0}
    assert tags.loc["object_appeared"].to_dict() == {"baseline clips": 2, "candidate clips": 0, "appeared on": 0,
                                                     "disappeared from": 2}
    report = json.loads(compare_json(comparison))
    assert report["worst_clips"][0]["clip_id"] == hit[0] and len(report["tests"]) == len(comparison.tests)
    assert compare_json(comparison) == compare_json(compare_runs(baseline, candidate, n_resamples=RESAMPLES))


def test_runs_that_cannot_be_paired_are_refused_in_one_line(tmp_path, capsys):
    base = write_run(tmp_path / "base", "model", random_scores(22))
    fewer = write_run(tmp_path / "fewer", "model", random_scores(22, splits=("eval",)))
    other_metrics = write_run(tmp_path / "other_metrics", "model", random_scores(22, metrics=("trajectory",)))
    old = write_run(tmp_path / "old", "model", random_scores(22), version=1)
    cases = {
        (str(base), str(fewer)): "cover different clips",
        (str(base), str(other_metrics)): "scored metrics trajectory but",
        (str(base), str(old)): f"{old} is suite version 1 but {base} is suite version 2",
        (str(base), str(tmp_path / "nowhere")): "no such folder",
        (str(base),): "the following arguments are required: CANDIDATE_RUN",
        (str(base), str(base), "--alpha", "2"): "--alpha must lie between 0 and 1",
    }
    for args, message in cases.items():
        code, _, err = run_cli(["compare", *args, "--out", str(tmp_path / "refused")], capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], (args, lines)
    assert not (tmp_path / "refused").exists()
    with pytest.raises(RunInputError):
        compare_runs(load_run(base), load_run(fewer))


# ------------------------------------------------------------------------------------- real smoke runs

@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory) -> Path:
    """oracle twice (a hydra multirun over the generator seed) and static on the smoke suite with 3 seeds
    (12 clips: enough for a Holm-corrected Wilcoxon test of the overall score, smallest exact p 2 / 2**12)."""
    workdir = tmp_path_factory.mktemp("compare")
    common = ("suite=smoke", "suite.n_seeds=3", "write_videos=false")
    for args in (("-m", *common, "generator=oracle", "seed=0,1", "run_id=oracle"),
                 (*common, "generator=static", "run_id=static")):
        result = physcheck("run", *args, cwd=workdir)
        assert result.returncode == 0, result.stderr
    runs = workdir / "runs"
    for name, folder in (("oracle", runs / "oracle" / "0-oracle"), ("oracle_again", runs / "oracle" / "1-oracle"),
                         ("static", runs / "static")):
        shutil.copytree(folder, workdir / name)
    return workdir


@pytest.mark.slow
def test_two_runs_of_the_same_generator_are_unchanged(smoke_runs, capsys):
    runs = smoke_runs
    code, out, _ = run_cli(["compare", str(runs / "oracle"), str(runs / "oracle_again"), "--out",
                            str(smoke_runs / "same"), "--resamples", "999"], capsys)
    assert code == 0 and "Nothing changed significantly" in out
    report = json.loads((smoke_runs / "same" / "compare.json").read_text())
    assert report["verdict"] == "ok" and {test["verdict"] for test in report["tests"]} == {"unchanged"}


@pytest.mark.slow
def test_static_against_oracle_regresses_with_exit_code_1(smoke_runs):
    runs = smoke_runs
    result = physcheck("compare", str(runs / "oracle"), str(runs / "static"), "--out", "static_vs_oracle",
                       cwd=smoke_runs)
    assert result.returncode == 1, result.stderr
    markdown = (smoke_runs / "static_vs_oracle" / "compare.md").read_text()
    assert "**REGRESSED**" in markdown and "overall (eval)" in markdown.splitlines()[2]
    assert "trajectory_diverged" in markdown.split("## Failure tags")[1]
    report = json.loads((smoke_runs / "static_vs_oracle" / "compare.json").read_text())
    assert report["exit_code"] == 1 and len(report["worst_clips"]) == 10
    overall = next(test for test in report["tests"] if test["kind"] == "overall")
    assert overall["verdict"] == "regressed" and overall["fails_check"] and overall["delta"] < -0.02


@pytest.mark.slow
def test_a_run_of_another_suite_version_is_refused_with_exit_code_2(smoke_runs, capsys):
    runs = smoke_runs
    shutil.copytree(runs / "static", smoke_runs / "static_v1")
    manifest = json.loads((smoke_runs / "static_v1" / "manifest.json").read_text())
    manifest["suite"]["version"] = "0-test"
    (smoke_runs / "static_v1" / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run_cli(["compare", str(runs / "oracle"), str(smoke_runs / "static_v1")], capsys)
    assert code == 2 and "suite version" in err and len(err.strip().splitlines()) == 1
