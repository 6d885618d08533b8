"""`physcheck gallery`: entry selection, drawing, the page and contact sheets of real smoke runs, bad input,
and the page in a real (headless chromium) browser when one is installed."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench import cli, gallery
from simulators import GroundTruthCache, cache_dir

REPO = Path(__file__).parents[1]
SMOKE_FRAMES, SMOKE_SIZE = 16, 64


def physcheck(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PHYSCHECK_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gallery")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "cache"  # the folder conftest's isolated_cache points at


@pytest.fixture(scope="module")
def runs(workdir, cache) -> dict[str, Path]:
    """Small smoke runs of the corrupt generator (objects vanish: labelled failures) and of the oracle (none)."""
    suites = {"corrupt": ["suite.families=[free_fall,collision,chair]"],  # 6 clips, 3 of them several objects
              "oracle": ["suite.families=[free_fall]", "suite.n_seeds=1"]}
    for generator, suite in suites.items():
        result = physcheck("run", "suite=smoke", *suite, f"generator={generator}", f"run_id={generator}",
                           "metrics=[trajectory,permanence]", cwd=workdir, cache=cache)  # vanish: one tag only
        assert result.returncode == 0, result.stderr
    return {name: workdir / "runs" / name for name in ("corrupt", "oracle")}


@pytest.fixture(scope="module")
def corrupt_gallery(runs, workdir, cache) -> tuple[Path, subprocess.CompletedProcess]:
    result = physcheck("gallery", str(runs["corrupt"]), "--per-tag", "4", cwd=workdir, cache=cache)
    assert result.returncode == 0, result.stderr
    return runs["corrupt"] / "gallery", result


def embedded_images(page: str) -> list[tuple[str, Image.Image]]:
    return [(mime, Image.open(io.BytesIO(base64.b64decode(data))))
            for mime, data in re.findall(r'src="data:(image/\w+);base64,([A-Za-z0-9+/=]+)"', page)]


def articles(page: str) -> list[str]:
    return re.findall(r"<article .*?</article>", page, flags=re.S)


# ------------------------------------------------------------------------------------- selection
def test_select_entries_keeps_the_worst_clips_per_tag_worst_first():
    rows = [  # clip, tag, frame, object, severity
        ("a/eval/00000", "vanished", 5, "ball", 0.2), ("a/eval/00000", "vanished", 7, "cube", 0.9),
        ("a/eval/00001", "vanished", 3, "ball", 0.5), ("b/eval/00000", "vanished", 4, "ball", 0.7),
        ("b/eval/00001", "diverged", 9, "ball", 0.3),
    ]
    failures = pd.DataFrame(rows, columns=["clip_id", "tag", "frame", "object", "severity"])
    failures["family"] = failures["clip_id"].str.split("/").str[0]
    failures["message"] = failures["object"] + " at " + failures["frame"].astype(str)

    sections = gallery.select_entries(failures, per_tag=2)

    assert list(sections) == ["vanished", "diverged"]  # most clips first
    assert [(e.clip_id, e.frame, e.object, e.severity) for e in sections["vanished"]] == [
        ("a/eval/00000", 7, "cube", 0.9), ("b/eval/00000", 4, "ball", 0.7)]
    assert sections["vanished"][0].other_messages == ("ball at 5",)
    assert [e.clip_id for e in sections["diverged"]] == ["b/eval/00001"]


# --------------------------------------------------------------------------------------- drawing
def test_markers_are_drawn_at_the_true_and_observed_centroids(runs, cache):
    run = gallery.load_run(runs["corrupt"])
    entry = gallery.select_entries(run.failures, 1)["object_vanished"][0]
    view = gallery.load_view(run, entry.clip_id, GroundTruthCache(cache_dir(cache)))
    k = gallery.object_index(view.clip, entry.object)
    np.testing.assert_array_equal(view.true_uv[..., 0], view.clip.track_matrix("seg_u"))
    assert np.isnan(view.observed_uv[entry.frame, k]).all(), "the vanished object is not observed at the failure"

    true_uv, observed_uv = np.full_like(view.true_uv, np.nan), np.full_like(view.observed_uv, np.nan)
    true_uv[3, k], observed_uv[3, k] = (20.0, 30.0), (45.0, 10.0)
    panel = gallery.frame_panel(view.clip.video, replace(view, true_uv=true_uv, observed_uv=observed_uv), k, 3,
                                failure=3)
    pixels = np.asarray(panel)
    scale = gallery.SCALE
    observed_centre = (int((10 + 0.5) * scale), int((45 + 0.5) * scale))  # row, column
    ring_top = (int((30 + 0.5) * scale) - 5, int((20 + 0.5) * scale))
    assert tuple(pixels[observed_centre]) == gallery.OBSERVED_RGB
    assert tuple(pixels[ring_top]) == gallery.TRUE_RGB
    assert tuple(pixels[1, 1]) == gallery.FAILURE_RGB, "the failure frame has a red border"
    assert panel.size == (SMOKE_SIZE * scale, SMOKE_SIZE * scale)


# ------------------------------------------------------------------------------ page and sheets
def test_gallery_shows_each_tags_worst_clips_with_animation_sheet_and_scores(corrupt_gallery, runs):
    folder, result = corrupt_gallery
    page = (folder / "index.html").read_text()
    failures = pd.read_parquet(runs["corrupt"] / "failures.parquet")
    scores = pd.read_parquet(runs["corrupt"] / "scores.parquet")
    assert f"{folder / 'index.html'}" in result.stdout and "KiB" in result.stdout

    shown = articles(page)
    expected = failures.sort_values(["severity", "clip_id"], ascending=[False, True]).drop_duplicates("clip_id")
    expected = expected.head(4)
    assert len(shown) == 4 and set(failures["tag"]) == {"object_vanished"}
    for article, (_, event) in zip(shown, expected.iterrows()):
        assert event["clip_id"] in article and event["message"] in article
        assert f'data-family="{event["family"]}"' in article
        trajectory = scores.query("clip_id == @event.clip_id and metric == 'trajectory'")["value"].item()
        assert f"{trajectory:.3f}" in article

    images = embedded_images(page)
    webps = [image for mime, image in images if mime == "image/webp"]
    assert len(webps) == 4 and all(image.n_frames == SMOKE_FRAMES for image in webps)
    width = SMOKE_SIZE * gallery.SCALE
    assert webps[0].size == (2 * width + gallery.GAP, width)
    durations = []
    for index in range(SMOKE_FRAMES):
        webps[0].seek(index)
        webps[0].load()
        durations.append(webps[0].info["duration"])
    held = int(expected.iloc[0]["frame"])
    assert durations[held] == gallery.FAILURE_HOLD * durations[0] and durations.count(durations[0]) == SMOKE_FRAMES - 1
    assert len(images) == 3 * 4  # animation, contact sheet, distance plot per entry

    sheets = sorted((folder / "sheets").rglob("*.png"))
    assert len(sheets) == 4
    first = expected.iloc[0]
    sheet = np.asarray(Image.open(folder / "sheets" / "object_vanished" / f"{first['clip_id'].replace('/', '-')}.png"))
    window = gallery.sheet_window(SMOKE_FRAMES, int(first["frame"]))
    column = window.index(int(first["frame"]))
    left = gallery.SHEET_LABEL_W + column * (width + gallery.GAP)
    assert tuple(sheet[gallery.SHEET_TITLE_H + 1, left + 1]) == gallery.FAILURE_RGB


def test_same_run_gives_byte_identical_gallery(corrupt_gallery, runs, workdir, cache):
    folder, _ = corrupt_gallery
    again = gallery.build_gallery(runs["corrupt"], workdir / "again", per_tag=4, cache=str(cache)).parent
    for path in sorted(folder.rglob("*.*")):
        assert path.read_bytes() == (again / path.relative_to(folder)).read_bytes(), path


def test_run_without_failures_gives_a_page_that_says_so(runs, cache, capsys):
    cli.main(["gallery", str(runs["oracle"]), "--cache-dir", str(cache)])
    page = (runs["oracle"] / "gallery" / "index.html").read_text()
    assert "index.html" in capsys.readouterr().out
    assert "No failure events in this run" in page and not articles(page)


def test_missing_generated_video_shows_a_placeholder(runs, tmp_path, cache):
    copy = tmp_path / "run"
    shutil.copytree(runs["corrupt"], copy, ignore=shutil.ignore_patterns("gallery"))
    failures = pd.read_parquet(copy / "failures.parquet")
    worst = failures.sort_values(["severity", "clip_id"], ascending=[False, True]).iloc[0]
    (copy / "videos" / f"{worst['clip_id']}.mp4").unlink()
    page = gallery.build_gallery(copy, per_tag=1, cache=str(cache)).read_text()
    assert "no generated video" in page and worst["clip_id"] in page


# ------------------------------------------------------------------------------------- bad input
def test_bad_input_gets_one_line_and_exit_2(runs, tmp_path, cache, capsys):
    no_manifest = tmp_path / "empty"
    no_manifest.mkdir()
    old_suite = tmp_path / "old"
    shutil.copytree(runs["corrupt"], old_suite, ignore=shutil.ignore_patterns("gallery", "videos", "clips"))
    manifest = json.loads((old_suite / "manifest.json").read_text())
    manifest["suite"]["version"] = "0"
    (old_suite / "manifest.json").write_text(json.dumps(manifest))
    unfinished = tmp_path / "unfinished"
    shutil.copytree(old_suite, unfinished)
    (unfinished / "failures.parquet").unlink()
    missing = physcheck("gallery", str(tmp_path / "nope"), cwd=tmp_path, cache=cache)  # the console path once
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such run folder" in missing.stderr
    cases = {
        (str(no_manifest),): "not a run folder",
        (str(old_suite),): "suite version 0",
        (str(unfinished),): "failures.parquet: missing",
        (str(runs["corrupt"]), "--per-tag", "0"): "--per-tag must be at least 1",
        (): "required: run_dir",
    }
    for args, message in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["gallery", *args, "--cache-dir", str(cache)])
        lines = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0], (args, lines)


# --------------------------------------------------------------------------------------- browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=3000", *args], capture_output=True, text=True, timeout=120)


def body_data(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install chromium)")
def test_page_in_headless_chromium_decodes_every_image_and_filters(corrupt_gallery, runs, tmp_path):
    folder, _ = corrupt_gallery
    page = folder / "index.html"
    all_shown = body_data(chromium("--dump-dom", page.as_uri()).stdout)
    assert int(all_shown["images-total"]) == 12 and all_shown["images-decoded"] == all_shown["images-total"]
    assert int(all_shown["shown"]) == 4

    family = re.search(r'data-family="(\w+)"', page.read_text()).group(1)
    in_family = sum(f'data-family="{family}"' in article for article in articles(page.read_text()))
    filtered = body_data(chromium("--dump-dom", f"{page.as_uri()}#tag=object_vanished&family={family}").stdout)
    assert int(filtered["shown"]) == in_family < 4

    screenshot = tmp_path / "gallery.png"
    chromium("--window-size=1250,1800", f"--screenshot={screenshot}", page.as_uri())
    image = np.asarray(Image.open(screenshot).convert("RGB"))
    assert image.shape == (1800, 1250, 3) and image.std() > 10, "the screenshot is not blank"
