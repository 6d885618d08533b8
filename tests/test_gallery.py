"""`physcheck gallery`: entry selection, drawing, the per-tag metric series, the site of real smoke runs (one run
and several), bad input, and the site in a real (headless chromium) browser when one is installed."""
from __future__ import annotations

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

from bench import cli, gallery, gallery_media, gallery_series
from generators.corruptions import CORRUPTIONS
from metrics import DEFAULT_METRICS, METRICS, observe, score
from simulators import GroundTruthCache, cache_dir, make_spec, simulate

REPO = Path(__file__).parents[1]
SMOKE_FRAMES, SMOKE_SIZE = 16, 64
SMOKE_FAMILIES = "suite.families=[free_fall,collision,chair]"  # 6 clips, 3 of them several objects


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
    """Smoke runs: the corrupt generator (objects vanish: labelled failures), the static baseline on the same
    suite with the metrics that tag it in several ways, and the oracle (no failure)."""
    arguments = {"corrupt": [SMOKE_FAMILIES, "metrics=[trajectory,permanence]"],  # vanish: one tag only
                 "static": [SMOKE_FAMILIES, "metrics=[trajectory,permanence,count,rigidity,direction]"],
                 "oracle": ["suite.families=[free_fall]", "suite.n_seeds=1", "metrics=[trajectory,permanence]"]}
    for generator, extra in arguments.items():
        result = physcheck("run", "suite=smoke", *extra, f"generator={generator}", f"run_id={generator}", "workers=1",
                           cwd=workdir, cache=cache)
        assert result.returncode == 0, result.stderr
    return {name: workdir / "runs" / name for name in arguments}


@pytest.fixture(scope="module")
def corrupt_gallery(runs, workdir, cache) -> tuple[Path, subprocess.CompletedProcess]:
    result = physcheck("gallery", str(runs["corrupt"]), "--per-tag", "4", cwd=workdir, cache=cache)
    assert result.returncode == 0, result.stderr
    return runs["corrupt"] / "gallery", result


@pytest.fixture(scope="module")
def two_run_gallery(runs, workdir, cache) -> Path:
    return gallery.build_gallery([runs["corrupt"], runs["static"]], workdir / "two", per_tag=3, cache=str(cache))


def site_data(folder: Path, name: str = "entries.js", variable: str = "GALLERY") -> dict:
    """The gallery's entries.js (or first.js) as a dict."""
    text = (folder / name).read_text()
    assert text.startswith(f"window.{variable} = ") and text.endswith(";\n")
    return json.loads(text[len(f"window.{variable} = "):-2])


def media(article: str) -> dict[str, str]:
    """alt text -> src of an article's pictures."""
    return {alt: src for src, alt in re.findall(r'<img [^>]*src="([^"]+)" alt="([^"]+)"', article)}


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


def test_select_entries_keeps_each_generators_worst_and_the_worst_sample():
    rows = [  # generator, clip, sample, frame, severity
        ("m", "a/eval/00000", 0, 5, 0.2), ("m", "a/eval/00000", 2, 6, 0.8), ("m", "a/eval/00000", 2, 9, 0.1),
        ("m", "a/eval/00001", 1, 3, 0.5), ("m", "a/eval/00002", 0, 3, 0.4),
        ("s", "a/eval/00000", 0, 4, 0.3), ("s", "a/eval/00003", 0, 4, 0.1),
    ]
    failures = pd.DataFrame(rows, columns=["generator", "clip_id", "sample", "frame", "severity"])
    failures = failures.assign(tag="vanished", family="a", object="ball",
                               message=failures["sample"].astype(str) + "@" + failures["frame"].astype(str))

    entries = gallery.select_entries(failures, per_tag=2, generators=["m", "s"])["vanished"]

    assert [(e.generator, e.clip_id, e.sample) for e in entries] == [
        ("m", "a/eval/00000", 2), ("m", "a/eval/00001", 1), ("s", "a/eval/00000", 0), ("s", "a/eval/00003", 0)]
    worst = entries[0]
    assert worst.samples_with_tag == 2 and worst.other_messages == ("2@9",), "other events of the same sample only"
    assert worst.video_name == "a/eval/00000.s2" and entries[2].video_name == "a/eval/00000"


# --------------------------------------------------------------------------------------- drawing
def test_markers_are_drawn_at_the_true_and_observed_centroids(runs, cache):
    run = gallery.load_run(runs["corrupt"])
    entry = gallery.select_entries(run.failures, 1)["object_vanished"][0]
    view = gallery.load_view(run, entry.clip_id, GroundTruthCache(cache_dir(cache)))
    k = gallery_media.object_index(view.clip, entry.object)
    np.testing.assert_array_equal(view.true_uv[..., 0], view.clip.track_matrix("seg_u"))
    assert np.isnan(view.observed_uv[entry.frame, k]).all(), "the vanished object is not observed at the failure"

    true_uv, observed_uv = np.full_like(view.true_uv, np.nan), np.full_like(view.observed_uv, np.nan)
    true_uv[3, k], observed_uv[3, k] = (20.0, 30.0), (45.0, 10.0)
    panel = gallery_media.frame_panel(view.clip.video, replace(view, true_uv=true_uv, observed_uv=observed_uv), k, 3,
                                      failure=3)
    pixels = np.asarray(panel)
    scale = gallery_media.SCALE
    observed_centre = (int((10 + 0.5) * scale), int((45 + 0.5) * scale))  # row, column
    ring_top = (int((30 + 0.5) * scale) - 5, int((20 + 0.5) * scale))
    assert tuple(pixels[observed_centre]) == gallery_media.OBSERVED_RGB
    assert tuple(pixels[ring_top]) == gallery_media.TRUE_RGB
    assert tuple(pixels[1, 1]) == gallery_media.FAILURE_RGB, "the failure frame has a red border"
    assert panel.size == (SMOKE_SIZE * scale, SMOKE_SIZE * scale)


# ------------------------------------------------------------------------------ per-tag series
def noise_after(clip, start: int) -> np.ndarray:
    """The truth with seeded noise frames from `start` on: a cut (implausible_motion)."""
    video = clip.video.copy()
    video[start:] = np.random.default_rng(0).integers(0, 256, video[start:].shape, dtype=np.uint8)
    return video


SERIES_CASES = [  # (tag, family, make the video from the truth)
    ("object_vanished", "free_fall", lambda clip: CORRUPTIONS.get("vanish").fn(clip, 0.5)),
    ("count_changed", "free_fall", lambda clip: CORRUPTIONS.get("vanish").fn(clip, 0.5)),
    ("object_appeared", "free_fall", lambda clip: CORRUPTIONS.get("appear").fn(clip, 0.5)),
    ("wrong_gravity", "free_fall", lambda clip: CORRUPTIONS.get("gravity_scale").fn(clip, 0.5)),
    ("time_reversed", "free_fall", lambda clip: CORRUPTIONS.get("time_reverse").fn(clip, 1.0)),
    ("shape_changed", "free_fall", lambda clip: CORRUPTIONS.get("stretch").fn(clip, 0.5)),
    ("implausible_motion", "free_fall", lambda clip: noise_after(clip, 20)),
    ("trajectory_diverged", "collision", lambda clip: CORRUPTIONS.get("teleport").fn(clip, 0.5)),
    ("reversed_motion", "collision", lambda clip: CORRUPTIONS.get("region_reverse").fn(clip, 0.5)),
    ("reversed_motion", "treadmill", lambda clip: CORRUPTIONS.get("region_reverse").fn(clip, 0.5)),  # the belt
    ("reemergence_missed", "occlusion", lambda clip: CORRUPTIONS.get("no_reemergence").fn(clip, 0.5)),
    ("reemergence_misplaced", "occlusion", lambda clip: CORRUPTIONS.get("misplaced_reemergence").fn(clip, 0.5)),
    ("rigidity_broken", "chair", lambda clip: CORRUPTIONS.get("bend").fn(clip, 0.5)),
    ("impossible_rotation", "head_turn", lambda clip: CORRUPTIONS.get("head_over_rotation").fn(clip, 0.5)),
]


def test_every_failure_tag_of_every_metric_has_a_series():
    tags = {tag for name in METRICS.names() for tag in METRICS.get(name).tags}
    assert tags == {tag for tag, _, _ in SERIES_CASES} and tags <= set(gallery_series.SERIES.names())


def test_each_tags_series_flags_the_frame_its_metric_tagged():
    """Each tag's series, recomputed from the clip and the observation, is beyond its threshold where the metric
    raised the tag (for wrong_gravity, a whole-arc fit, somewhere in the arc), and its plot is drawn."""
    clips = {}
    for tag, family, corrupt in SERIES_CASES:
        clip = clips.setdefault(family, simulate(make_spec(family, "eval", 0, n_frames=32, fps=8.0,
                                                           resolution=(64, 64), n_context=4)))
        observation = observe(corrupt(clip), clip)
        _, events = score(clip, observation, list(DEFAULT_METRICS))
        event = next((event for event in events if event.tag == tag), None)
        assert event is not None, (tag, family, "the corruption no longer raises the tag")
        series = gallery_series.series_for(tag, clip, observation, event.object)
        assert series is not None, tag
        assert all(len(values) == len(series.x) for values in series.lines.values())
        at_event = series.flagged[series.x == event.frame]
        assert (series.flagged.any() if tag == "wrong_gravity" else at_event.any()), (tag, family, event)
        assert not series.flagged[series.x < clip.spec.n_context].any(), (tag, "the context is never flagged")
        png = gallery_media.series_plot_png(series, clip.spec.n_context, clip.spec.n_frames, event.frame)
        assert Image.open(io.BytesIO(png)).size == gallery_media.PLOT_SIZE_PX


def test_a_tag_without_a_series_falls_back_to_the_displacement_and_says_so(runs, cache):
    run = gallery.load_run(runs["corrupt"])
    entry = gallery.select_entries(run.failures, 1)["object_vanished"][0]
    view = gallery.load_view(run, entry.clip_id, GroundTruthCache(cache_dir(cache)))
    own, caption = gallery_media.series_of(view, entry)
    assert own.source == "metrics.occlusion.observed_counts" and "the quantity object_vanished thresholds" in caption
    fallback, caption = gallery_media.series_of(view, replace(entry, tag="plugin_tag"))
    assert caption == f"no per-frame series for plugin_tag: showing {entry.object}'s displacement instead"
    assert fallback.source == "bench.gallery_media.displacement_series"


# ------------------------------------------------------------------------------ page and media
def test_gallery_shows_each_tags_worst_clips_with_animation_plot_sheet_and_scores(corrupt_gallery, runs):
    folder, result = corrupt_gallery
    data = site_data(folder)
    failures = pd.read_parquet(runs["corrupt"] / "failures.parquet")
    scores = pd.read_parquet(runs["corrupt"] / "scores.parquet")
    assert f"{folder / 'index.html'}" in result.stdout and "KiB" in result.stdout and "4 entries" in result.stdout

    shown = data["entries"]
    expected = failures.sort_values(["severity", "clip_id"], ascending=[False, True]).drop_duplicates("clip_id")
    expected = expected.head(4)
    assert len(shown) == 4 and set(failures["tag"]) == {"object_vanished"}
    for entry, (_, event) in zip(shown, expected.iterrows()):
        article = entry["html"]
        assert event["clip_id"] in article and event["message"] in article
        assert f'data-family="{event["family"]}"' in article and entry["family"] == event["family"]
        trajectory = scores.query("clip_id == @event.clip_id and metric == 'trajectory'")["value"].item()
        assert ["trajectory", round(trajectory, 3)] == data["scores"][entry["scores"]][0][:2]
        pictures = media(article)
        assert set(pictures) == {"generated (left) and ground truth (right)", "per-frame plot of object_vanished",
                                 "contact sheet"}
        assert all((folder / src).is_file() for src in pictures.values())
        assert "the quantity object_vanished thresholds" in article
    assert data["units"]["trajectory"] == "fraction of image diagonal"
    first = site_data(folder, "first.js", "GALLERY_FIRST")  # the first page, shown before entries.js is read
    assert first["entries"] == shown[:data["page_size"]] and first["total"] == data["total"] == 4
    assert first["tag_entries"] == {"object_vanished": 4} and set(first["scores"]) == {e["scores"] for e in shown}
    assert "data:image" not in (folder / "index.html").read_text() + (folder / "entries.js").read_text()

    first = media(shown[0]["html"])
    webp = Image.open(folder / first["generated (left) and ground truth (right)"])
    assert webp.n_frames == SMOKE_FRAMES
    width = SMOKE_SIZE * gallery_media.SCALE
    assert webp.size == (2 * width + gallery_media.GAP, width)
    durations = []
    for index in range(SMOKE_FRAMES):
        webp.seek(index)
        webp.load()
        durations.append(webp.info["duration"])
    held = int(expected.iloc[0]["frame"])
    assert durations[held] == gallery_media.FAILURE_HOLD * durations[0]
    assert durations.count(durations[0]) == SMOKE_FRAMES - 1

    assert len(sorted((folder / "sheets").rglob("*.png"))) == 4 and len(sorted((folder / "plots").rglob("*.png"))) == 4
    sheet = np.asarray(Image.open(folder / first["contact sheet"]))
    assert first["contact sheet"] == f"sheets/object_vanished/{expected.iloc[0]['clip_id'].replace('/', '-')}.png"
    window = gallery_media.sheet_window(SMOKE_FRAMES, held)
    left = gallery_media.SHEET_LABEL_W + window.index(held) * (width + gallery_media.GAP)
    assert tuple(sheet[gallery_media.SHEET_TITLE_H + 1, left + 1]) == gallery_media.FAILURE_RGB


def test_same_run_gives_byte_identical_gallery(corrupt_gallery, runs, workdir, cache):
    folder, _ = corrupt_gallery
    again = gallery.build_gallery(runs["corrupt"], workdir / "again", per_tag=4, cache=str(cache)).parent
    files = sorted(path.relative_to(folder) for path in folder.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(again) for path in again.rglob("*") if path.is_file())
    for path in files:
        assert (folder / path).read_bytes() == (again / path).read_bytes(), path


def test_several_runs_make_one_site_with_each_generators_entries_and_counts(two_run_gallery, runs):
    data = site_data(two_run_gallery.parent)
    page = two_run_gallery.read_text()
    assert data["generators"] == ["corrupt", "static"]
    assert '<select id="generator"' in page and "Clips with each failure tag per generator" in page
    for generator in ("corrupt", "static"):
        failures = pd.read_parquet(runs[generator] / "failures.parquet")
        entries = [entry for entry in data["entries"] if entry["generator"] == generator]
        for tag, clips in failures.groupby("tag")["clip_id"].nunique().items():
            assert sum(entry["tag"] == tag for entry in entries) == min(3, clips), (generator, tag)
            assert sum(data["clips"][tag][generator].values()) == clips
        assert all(f'data-generator="{generator}"' in entry["html"] and f"generator <b>{generator}</b>" in entry["html"]
                   for entry in entries)
    static_tags = set(pd.read_parquet(runs["static"] / "failures.parquet")["tag"])
    assert len(static_tags) >= 3, "the static run raises several tags"
    for entry in data["entries"]:  # each tag's own series, none falls back to the displacement plot
        assert f"the quantity {entry['tag']} thresholds" in entry["html"], entry["tag"]
        plot = media(entry["html"])[f"per-frame plot of {entry['tag']}"]
        assert plot.startswith(f"plots/{entry['generator']}/{entry['tag']}/")
        assert (two_run_gallery.parent / plot).is_file()


def test_run_without_failures_gives_a_page_that_says_so(runs, cache, capsys):
    cli.main(["gallery", str(runs["oracle"]), "--cache-dir", str(cache)])
    folder = runs["oracle"] / "gallery"
    assert "index.html" in capsys.readouterr().out
    assert "No failure events in this run" in (folder / "index.html").read_text()
    assert site_data(folder)["entries"] == []


def test_missing_generated_video_shows_a_placeholder(runs, tmp_path, cache):
    copy = tmp_path / "run"
    shutil.copytree(runs["corrupt"], copy, ignore=shutil.ignore_patterns("gallery"))
    failures = pd.read_parquet(copy / "failures.parquet")
    worst = failures.sort_values(["severity", "clip_id"], ascending=[False, True]).iloc[0]
    (copy / "videos" / f"{worst['clip_id']}.mp4").unlink()
    [entry] = site_data(gallery.build_gallery(copy, per_tag=1, cache=str(cache)).parent)["entries"]
    assert "no generated video" in entry["html"] and worst["clip_id"] in entry["html"]
    assert "per-frame plot" not in entry["html"]


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
    current = json.loads((runs["corrupt"] / "manifest.json").read_text())["suite"]["version"]
    assert current != "0"
    cases = {
        (str(no_manifest),): "not a run folder",
        (str(old_suite),): "suite version 0",
        (str(runs["corrupt"]), str(old_suite)): f"{old_suite} is suite version 0 but {runs['corrupt']} is suite "
                                                 f"version {current}",
        (str(runs["corrupt"]), str(runs["corrupt"])): "given twice",
        (str(unfinished),): "failures.parquet: missing",
        (str(runs["corrupt"]), "--per-tag", "0"): "--per-tag must be at least 1",
        (): "required: RUN_DIR",
    }
    for args, message in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["gallery", *args, "--cache-dir", str(cache)])
        lines = capsys.readouterr().err.strip().splitlines()
        assert exit_info.value.code == 2 and len(lines) == 1 and message in lines[0], (args, lines)


# --------------------------------------------------------------------------------------- browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ.get("PHYSCHECK_SCREENSHOTS", "")) if os.environ.get("PHYSCHECK_SCREENSHOTS") else None
"""Set PHYSCHECK_SCREENSHOTS to a folder to keep the browser test's screenshots there (to look at them)."""


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=5000", *args], capture_output=True, text=True, timeout=120)


def body_data(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body))


def screenshot(page: str, path: Path, height: int = 1800) -> np.ndarray:
    chromium(f"--window-size=1250,{height}", f"--screenshot={path}", page)
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENSHOTS / path.name)
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape == (height, 1250, 3) and image.std() > 10, "the screenshot is not blank"
    return image


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install chromium)")
def test_page_in_headless_chromium_decodes_every_picture_and_filters(corrupt_gallery, tmp_path):
    folder, _ = corrupt_gallery
    page = folder / "index.html"
    dom = chromium("--window-size=1250,6000", "--dump-dom", page.as_uri()).stdout
    all_shown = body_data(dom)
    assert int(all_shown["shown"]) == int(all_shown["matching"]) == 4 and all_shown["pages"] == "1"
    assert all_shown["all-entries"] == "4", "entries.js was read after the first page"
    assert int(all_shown["images-total"]) == 12 and all_shown["images-decoded"] == all_shown["images-total"]
    assert dom.count("<article ") == 4 and "<table>" in dom, "the articles and their scores tables are rendered"

    family = re.search(r'data-family="(\w+)"', dom).group(1)
    in_family = dom.count(f'data-family="{family}"')
    filtered_dom = chromium("--dump-dom", f"{page.as_uri()}#tag=object_vanished&family={family}").stdout
    filtered = body_data(filtered_dom)
    assert int(filtered["shown"]) == filtered_dom.count("<article ") == in_family < 4
    screenshot(page.as_uri(), tmp_path / "gallery.png")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install chromium)")
def test_generator_filter_of_a_two_run_site_changes_what_is_shown(two_run_gallery, tmp_path):
    data = site_data(two_run_gallery.parent)
    every = body_data(chromium("--dump-dom", two_run_gallery.as_uri()).stdout)
    assert int(every["matching"]) == len(data["entries"])
    for generator in ("corrupt", "static"):
        dom = chromium("--dump-dom", f"{two_run_gallery.as_uri()}#generator={generator}").stdout
        shown = body_data(dom)
        articles = re.findall(r'<article [^>]*data-generator="([^"]*)"', dom)
        expected = sum(entry["generator"] == generator for entry in data["entries"])
        assert int(shown["matching"]) == expected < len(data["entries"])
        assert articles and set(articles) == {generator} and len(articles) == min(expected, data["page_size"])
    screenshot(f"{two_run_gallery.as_uri()}#generator=static", tmp_path / "gallery-static.png")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install chromium)")
def test_pages_hold_page_size_entries_and_follow_the_filters(two_run_gallery, tmp_path):
    folder = tmp_path / "paged"
    shutil.copytree(two_run_gallery.parent, folder)
    data = {**site_data(folder), "page_size": 2}  # the same site, two entries a page
    (folder / "entries.js").write_text(gallery.gallery_page.data_js("GALLERY", data))
    (folder / "first.js").write_text(gallery.gallery_page.data_js("GALLERY_FIRST", gallery.gallery_page.first_page(data)))
    page = (folder / "index.html").as_uri()

    first = chromium("--dump-dom", page).stdout
    assert body_data(first)["pages"] == str(-(-len(data["entries"]) // 2)) and first.count("<article ") == 2
    assert 'href="#page=2"' in first, "a link to the next page"
    corrupt = [entry for entry in data["entries"] if entry["generator"] == "corrupt"]
    second = chromium("--dump-dom", f"{page}#generator=corrupt&page=2").stdout
    shown = body_data(second)
    assert (shown["page"], shown["pages"], shown["matching"]) == ("2", str(-(-len(corrupt) // 2)), str(len(corrupt)))
    ids = re.findall(r'<article [^>]*id="([^"]+)"', second)
    assert ids == [re.search(r'id="([^"]+)"', entry["html"]).group(1) for entry in corrupt[2:4]]
