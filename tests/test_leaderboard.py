"""`physcheck leaderboard`: numbers equal a direct pandas computation, intervals, rank bands, outputs, refusals."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import cli
from bench.leaderboard import (
    RunInputError,
    build_leaderboard,
    leaderboard_frame,
    load_run,
    load_runs,
    write_leaderboard,
)
from bench.results import FAILURE_COLUMNS, SCORE_COLUMNS, overall_scores
from metrics import METRICS, MetricSpec

FAMILIES = {"free_fall": "gravity", "projectile": "gravity", "collision": "momentum", "occlusion": "permanence"}
RESAMPLES = 999


def write_run(folder: Path, generator: str, values: pd.DataFrame, version: int = 2,
              failures: pd.DataFrame | None = None) -> Path:
    """A run folder as `physcheck run` writes it, from rows with clip_id, family, split, metric, value[, status]."""
    scores = values.copy()
    scores["principle"] = scores["family"].map(FAMILIES).fillna("other")
    scores["seed"] = scores["clip_id"].str.rsplit("/", n=1).str[-1].astype(np.int64)
    scores["raw"], scores["unit"], scores["reason"] = 0.0, "", ""
    if "sample" not in scores:
        scores["sample"] = 0
    if "status" not in scores:
        scores["status"] = "ok"
    folder.mkdir(parents=True)
    scores[SCORE_COLUMNS].to_parquet(folder / "scores.parquet", index=False)
    (failures if failures is not None else pd.DataFrame(columns=FAILURE_COLUMNS)).to_parquet(
        folder / "failures.parquet", index=False)
    manifest = {"run_id": folder.name, "generator": {"name": generator}, "clip_count": scores["clip_id"].nunique(),
                "suite": {"name": "test", "version": version, "hash": "h"}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def random_scores(seed: int, shift: float = 0.0, n_seeds: int = 6, metrics=("trajectory", "permanence"),
                  splits=("eval", "ood")) -> pd.DataFrame:
    """Values in [0, 1] for every (family, split, seed, metric), a few NaN (metric not applicable)."""
    rng = np.random.default_rng(seed)
    rows = [{"clip_id": f"{family}/{split}/{index:05d}", "family": family, "split": split, "metric": metric,
             "value": float(np.clip(rng.beta(4, 2) + shift, 0, 1))}
            for family in FAMILIES for split in splits for index in range(n_seeds) for metric in metrics]
    frame = pd.DataFrame(rows)
    frame.loc[rng.choice(len(frame), 5, replace=False), "value"] = np.nan
    return frame


def test_numbers_equal_a_direct_pandas_computation_and_intervals_contain_them(tmp_path):
    values = random_scores(0)
    values.loc[values["clip_id"] == "collision/eval/00002", "status"] = "generator_error"
    values["status"] = values["status"].fillna("ok")
    run = load_run(write_run(tmp_path / "model", "mymodel", values))
    board = build_leaderboard([run], n_resamples=RESAMPLES)
    row = leaderboard_frame(board).iloc[0]

    scores = pd.read_parquet(tmp_path / "model" / "scores.parquet")
    overall = overall_scores(scores)
    assert row["overall eval"] == pytest.approx(overall["eval"])
    assert row["overall ood"] == pytest.approx(overall["ood"])
    assert row["gap eval-ood"] == pytest.approx(overall["eval"] - overall["ood"])
    in_distribution = scores[scores["split"] == "eval"]
    for principle, mean in in_distribution.groupby("principle")["value"].mean().items():
        assert row[f"principle {principle}"] == pytest.approx(mean)
    for family, mean in in_distribution.groupby("family")["value"].mean().items():
        assert row[f"family {family}"] == pytest.approx(mean)
    assert row["clips"] == scores["clip_id"].nunique() == 48 and row["failed clips"] == 1
    for column in [name for name in row.index if f"{name} low" in row.index]:
        assert row[f"{column} low"] <= row[column] <= row[f"{column} high"], column
        assert row[f"{column} high"] - row[f"{column} low"] > 0, column


def test_overall_interval_resamples_clips_and_recomputes_the_principle_mean(tmp_path):
    run = load_run(write_run(tmp_path / "model", "mymodel", random_scores(1, n_seeds=30)))
    estimate = build_leaderboard([run], n_resamples=RESAMPLES).rows[0].overall["eval"]
    by_clip = run.scores[run.scores["split"] == "eval"].set_index("clip_id")
    clip_ids = np.array(sorted(by_clip.index.unique()))
    rng = np.random.default_rng(7)
    manual = [overall_scores(by_clip.loc[rng.choice(clip_ids, len(clip_ids))])["eval"] for _ in range(400)]
    low, high = np.percentile(manual, [2.5, 97.5])
    assert estimate.low == pytest.approx(low, abs=0.015) and estimate.high == pytest.approx(high, abs=0.015)


def test_fidelity_metrics_are_shown_apart_and_never_enter_the_overall_score(tmp_path, monkeypatch):
    monkeypatch.setitem(METRICS._entries, "test_sharpness",
                        MetricSpec("test_sharpness", lambda clip, obs: None, "fidelity", "dB", True, (), ""))
    values = random_scores(2, metrics=("trajectory", "test_sharpness"))
    values.loc[values["metric"] == "test_sharpness", "value"] = 0.01  # would drag the overall score down
    run = load_run(write_run(tmp_path / "model", "mymodel", values))
    board = build_leaderboard([run], n_resamples=RESAMPLES)
    row = leaderboard_frame(board).iloc[0]
    physics = run.scores[run.scores["metric"] == "trajectory"]
    assert row["overall eval"] == pytest.approx(overall_scores(physics)["eval"])
    assert row["fidelity test_sharpness"] == pytest.approx(0.01)
    markdown = write_leaderboard(board, tmp_path / "out")
    assert "## Beside the physics score" in markdown and "test_sharpness" in markdown.split("## Beside the physics score")[1]


def test_overlapping_intervals_share_a_rank_band_and_references_are_marked(tmp_path):
    runs = [write_run(tmp_path / "a", "model_a", random_scores(3, n_seeds=20)),
            write_run(tmp_path / "b", "model_b", random_scores(3, shift=0.005, n_seeds=20)),
            write_run(tmp_path / "static", "static", random_scores(5, shift=-0.4, n_seeds=20)),
            write_run(tmp_path / "oracle", "oracle", random_scores(6, shift=1.0, n_seeds=20))]
    board = build_leaderboard(load_runs(runs), n_resamples=RESAMPLES)
    table = leaderboard_frame(board).set_index("generator")
    assert list(table.index) == ["oracle", "model_b", "model_a", "static"]
    assert list(table["rank band"]) == ["1", "2-3", "2-3", "4"]
    assert table.loc["oracle", "reference"] == "ceiling" and table.loc["static", "reference"] == "floor"
    assert table.loc["model_a", "reference"] == ""
    assert (table["overall eval"].diff().dropna() <= 0).all()


def test_outputs_are_byte_identical_and_the_html_is_self_contained(tmp_path):
    runs = load_runs([write_run(tmp_path / "a", "model_a", random_scores(8)),
                      write_run(tmp_path / "oracle", "oracle", random_scores(9, shift=1.0))])
    for out in ("first", "second"):
        write_leaderboard(build_leaderboard(runs, n_resamples=RESAMPLES), tmp_path / out)
    names = ["leaderboard.md", "leaderboard.csv", "leaderboard.html", "leaderboard.png"]
    for name in names:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes(), name
    html = (tmp_path / "first" / "leaderboard.html").read_text()
    assert "src='data:image/png;base64,iVBORw0KGgo" in html and "http" not in html
    assert "model_a (a)" in html and "ceiling" in html
    csv = pd.read_csv(tmp_path / "first" / "leaderboard.csv")
    assert list(csv["generator"]) == ["oracle", "model_a"]


def physcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=120)


def test_cli_writes_the_leaderboard(tmp_path):
    good = write_run(tmp_path / "a", "model_a", random_scores(10))
    other = write_run(tmp_path / "b", "model_b", random_scores(11))
    result = physcheck("leaderboard", str(good), str(other), "--out", "board", "--resamples", "500", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {path.name for path in (tmp_path / "board").iterdir()} >= {
        "leaderboard.md", "leaderboard.csv", "leaderboard.html", "leaderboard.png"}
    assert "overall eval" in result.stdout


def test_bad_input_gets_one_line_and_exit_code_2(tmp_path, capsys):
    good = write_run(tmp_path / "a", "model_a", random_scores(10))
    old = write_run(tmp_path / "old", "model_c", random_scores(12), version=1)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "manifest.json").write_text(json.dumps({"run_id": "unfinished"}))
    cases = {
        (str(tmp_path / "nowhere"),): "no such folder",
        (str(tmp_path),): "not a run folder (no manifest.json)",
        (str(good), str(unfinished)): "no scores.parquet, the run has not finished",
        (str(good), str(old)): f"{old} is suite version 1 but {good} is suite version 2",
        (str(good), str(good)): "given twice",
        ("--bogus", str(good)): "unrecognized arguments: --bogus",
        (): "the following arguments are required: RUN_DIR",
    }
    for args, message in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["leaderboard", *args, "--out", str(tmp_path / "refused")])
        lines = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0], (args, lines)
        assert lines[0].startswith("physcheck leaderboard: ")
    assert not (tmp_path / "refused").exists()


def test_runs_over_different_clips_are_refused(tmp_path):
    full = write_run(tmp_path / "full", "model_a", random_scores(13))
    part = write_run(tmp_path / "part", "model_b", random_scores(14, splits=("eval",)))
    with pytest.raises(RunInputError, match="cover different clips"):
        build_leaderboard(load_runs([full, part]), n_resamples=RESAMPLES)


def test_consistent_at_k_counts_a_scenario_with_one_failing_sample_of_k_as_inconsistent(tmp_path):
    from bench.leaderboard import consistent_at_k, load_run

    values = random_scores(0, n_seeds=2, splits=("eval",))
    values = pd.concat([values.assign(sample=sample) for sample in range(4)], ignore_index=True)
    clips = sorted(values["clip_id"].unique())
    failing = [{"clip_id": clips[0], "sample": 3, "family": clips[0].split("/")[0], "principle": "", "split": "eval",
                "seed": 0, "tag": "object_vanished", "frame": 5, "object": "ball", "severity": 0.5, "message": ""}]
    failures = pd.DataFrame(failing, columns=FAILURE_COLUMNS).astype({"sample": np.int64, "seed": np.int64,
                                                                       "frame": np.int64})
    run = load_run(write_run(tmp_path / "k4", "mymodel", values, failures=failures))
    share, k = consistent_at_k(run)
    assert k == 4 and share == pytest.approx(1 - 1 / len(clips))


def test_the_html_links_each_runs_failure_gallery(tmp_path):
    from bench.leaderboard import build_leaderboard, load_runs, write_leaderboard

    with_gallery = write_run(tmp_path / "runs" / "a", "mymodel", random_scores(0))
    (with_gallery / "gallery").mkdir()
    (with_gallery / "gallery" / "index.html").write_text("<html></html>")
    write_run(tmp_path / "runs" / "b", "static", random_scores(1))
    board = build_leaderboard(load_runs([tmp_path / "runs" / "a", tmp_path / "runs" / "b"]), n_resamples=99)
    write_leaderboard(board, tmp_path / "board")
    page = (tmp_path / "board" / "leaderboard.html").read_text()
    assert "href='../runs/a/gallery/index.html'" in page
    assert "physcheck gallery" in page and "runs/b" in page
