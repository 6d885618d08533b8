"""`physcheck gallery RUN_DIR`: a self-contained HTML page of the worst clips of each failure tag.

Each entry shows the generated clip beside the ground truth (an animated WebP, looping, that holds
on the failure frame), the true (green) and observed (magenta) object centroid with their trails,
a per-frame plot of the distance between them, the message, family, clip id and the clip's scores.
Every entry also gets a PNG contact sheet (frames around the failure: generated on top, truth
below) under <out>/sheets/, to paste into issues. Images are drawn with Pillow (a dependency of
matplotlib, already installed) and the plots with matplotlib's Agg backend; nothing is fetched
when the page opens.
"""
from __future__ import annotations

import argparse
import base64
import html
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from generators import VideoFormatError, read_video
from metrics import observe
from simulators import SUITE_VERSION, Clip, GroundTruthCache, ScenarioSpec, cache_dir

from .config import SuiteConfig
from .results import RunFolder, overall_scores, write_atomic
from .run import ConfigError, specs_from_suite

DEFAULT_PER_TAG = 8
SCALE = 3
"""Frames are drawn this many times larger (nearest neighbour) so 64 px clips stay legible."""
SHEET_BEFORE, SHEET_FRAMES = 3, 8
"""A contact sheet shows SHEET_FRAMES frames starting SHEET_BEFORE frames before the failure."""
FAILURE_HOLD = 4
"""The animation shows the failure frame this many frame durations long."""
TRUE_RGB, OBSERVED_RGB, FAILURE_RGB, CONTEXT_RGB = (0, 200, 0), (255, 0, 255), (230, 0, 0), (40, 110, 255)
PLACEHOLDER_RGB = (96, 96, 96)
GAP = 4
"""Pixels between the generated and the true panel, and between sheet frames."""
SHEET_LABEL_W, SHEET_TITLE_H = 60, 16
"""Contact sheet margins: the row labels on the left, the title line on top."""


class GalleryError(ValueError):
    """A run folder the gallery cannot read; the message is one line naming the path and the fix."""


# ----------------------------------------------------------------------------------------- input
@dataclass
class RunData:
    """What the gallery reads from a run folder."""

    folder: RunFolder
    manifest: dict[str, Any]
    scores: pd.DataFrame
    failures: pd.DataFrame
    specs: dict[str, ScenarioSpec]


def load_run(path: Path) -> RunData:
    """Read manifest.json, scores.parquet and failures.parquet, and rebuild the suite's specs."""
    path = Path(path)
    if not path.is_dir():
        raise GalleryError(f"{path}: no such run folder; pass the folder `physcheck run` wrote (runs/<run_id>)")
    folder = RunFolder(path)
    try:
        manifest = folder.read_manifest()
    except (OSError, json.JSONDecodeError) as error:
        raise GalleryError(f"{path / 'manifest.json'}: unreadable ({error}); rerun `physcheck run` into it") from error
    if manifest is None:
        raise GalleryError(f"{path}: not a run folder (no manifest.json); pass the folder `physcheck run` wrote")
    tables = []
    for name in ("scores.parquet", "failures.parquet"):
        if not (path / name).exists():
            raise GalleryError(f"{path / name}: missing; the run did not finish, rerun the same `physcheck run` "
                               "command to complete it")
        tables.append(pd.read_parquet(path / name))
    return RunData(folder, manifest, tables[0], tables[1], suite_specs(manifest, path))


def suite_specs(manifest: dict[str, Any], path: Path) -> dict[str, ScenarioSpec]:
    """clip_id -> spec of the run's suite, refusing a run of another suite version."""
    suite = manifest.get("suite") or {}
    version = str(suite.get("version"))
    if version != str(SUITE_VERSION):
        raise GalleryError(f"{path}: run of suite version {version}, this physcheck has version {SUITE_VERSION}; "
                           "rerun the generator with this version or use the physcheck that made the run")
    try:
        config = SuiteConfig(**suite["config"])
        specs = specs_from_suite(config)
    except (KeyError, TypeError, ConfigError) as error:
        raise GalleryError(f"{path / 'manifest.json'}: cannot rebuild the suite ({error}); "
                           "rerun `physcheck run` to rewrite it") from error
    return {spec.clip_id: spec for spec in specs}


# ------------------------------------------------------------------------------------- selection
@dataclass(frozen=True)
class Entry:
    """The worst event of one tag in one clip, and the other events of that tag in the clip."""

    tag: str
    clip_id: str
    family: str
    frame: int
    object: str
    severity: float
    message: str
    other_messages: tuple[str, ...]


def select_entries(failures: pd.DataFrame, per_tag: int) -> dict[str, list[Entry]]:
    """Per tag (most clips first), its per_tag worst clips by their worst event's severity. With several
    samples per scenario (`samples=k`), the first sample's failures and video are shown."""
    if "sample" in failures.columns:
        failures = failures[failures["sample"] == 0]
    ordered = failures.sort_values(["tag", "clip_id", "severity", "frame", "object"],
                                   ascending=[True, True, False, True, True], kind="mergesort")
    clip_counts = ordered.groupby("tag")["clip_id"].nunique()
    tags = sorted(clip_counts.index, key=lambda tag: (-clip_counts[tag], tag))
    sections = {}
    for tag in tags:
        entries = [entry_of(events) for _, events in ordered[ordered["tag"] == tag].groupby("clip_id", sort=True)]
        entries.sort(key=lambda entry: (-entry.severity, entry.clip_id))
        sections[tag] = entries[:per_tag]
    return sections


def entry_of(events: pd.DataFrame) -> Entry:
    """An Entry from one clip's events of one tag, sorted worst first."""
    worst = events.iloc[0]
    return Entry(str(worst["tag"]), str(worst["clip_id"]), str(worst["family"]), int(worst["frame"]),
                 str(worst["object"]), float(worst["severity"]), str(worst["message"]),
                 tuple(str(message) for message in events["message"].iloc[1:]))


# ------------------------------------------------------------------------------ clip and tracks
@dataclass
class ClipView:
    """Frames and centroids of one clip. generated is None when the run has no usable video (see note).
    true_uv, observed_uv: (T, K, 2) pixel centroids (NaN where not visible / not detected)."""

    clip: Clip
    generated: np.ndarray | None
    note: str
    true_uv: np.ndarray
    observed_uv: np.ndarray


def load_view(run: RunData, clip_id: str, cache: GroundTruthCache) -> ClipView:
    """The ground truth (from the cache), the generated video and both sets of centroids of one clip."""
    clip = cache.get(run.specs[clip_id])
    true_uv = np.stack([clip.track_matrix("seg_u"), clip.track_matrix("seg_v")], axis=-1)
    observed_uv = np.full_like(true_uv, np.nan)
    generated, note = read_generated(run.folder.video_path(clip_id), clip.video.shape)
    if generated is not None:
        observation = observe(generated, clip)
        observed_uv = np.stack([observation.u, observation.v], axis=-1)
    return ClipView(clip, generated, note, true_uv, observed_uv)


def read_generated(path: Path, expected_shape: tuple[int, ...]) -> tuple[np.ndarray | None, str]:
    """The generated frames, or None and why not (missing, undecodable or of another shape)."""
    if not path.exists():
        return None, f"no generated video ({path.name} missing)"
    try:
        frames, _ = read_video(path)
    except VideoFormatError as error:
        return None, f"generated video unreadable: {error}"
    if frames.shape != tuple(expected_shape):
        return None, f"generated video has shape {frames.shape}, the ground truth {tuple(expected_shape)}"
    return frames, ""


def object_index(clip: Clip, name: str) -> int | None:
    """Index of a tracked object by name (tracked_objects order), None for '' or an untracked name."""
    names = [obj.name for obj in clip.tracked_objects]
    return names.index(name) if name in names else None


# -------------------------------------------------------------------------------------- drawing
def font(size: int = 10) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def scaled(frame: np.ndarray) -> Image.Image:
    """A frame SCALE times larger, nearest neighbour (pixels stay pixels)."""
    image = Image.fromarray(frame)
    return image.resize((image.width * SCALE, image.height * SCALE), Image.Resampling.NEAREST)


def placeholder(height: int, width: int, note: str) -> Image.Image:
    """A grey panel that says why there is no generated frame."""
    image = Image.new("RGB", (width * SCALE, height * SCALE), PLACEHOLDER_RGB)
    ImageDraw.Draw(image).multiline_text((4, 4), "no video\n" + note[:18], fill=(255, 255, 255), font=font(9))
    return image


def to_canvas(uv: np.ndarray) -> tuple[float, float]:
    """Pixel coordinates (centres at integers) to the scaled image's coordinates."""
    return (float(uv[0]) + 0.5) * SCALE, (float(uv[1]) + 0.5) * SCALE


def draw_trail(draw: ImageDraw.ImageDraw, path: np.ndarray, colour: tuple[int, int, int]) -> None:
    """A polyline through the defined points of path (N, 2), broken where a point is NaN."""
    for start, end in zip(path[:-1], path[1:]):
        if np.isfinite(start).all() and np.isfinite(end).all():
            draw.line([to_canvas(start), to_canvas(end)], fill=colour, width=1)


def draw_markers(image: Image.Image, view: ClipView, k: int | None, t: int) -> None:
    """Trails up to frame t and markers at t: true centroid (green ring), observed centroid (magenta x)."""
    if k is None:
        return
    draw = ImageDraw.Draw(image)
    draw_trail(draw, view.true_uv[:t + 1, k], TRUE_RGB)
    draw_trail(draw, view.observed_uv[:t + 1, k], OBSERVED_RGB)
    if np.isfinite(view.true_uv[t, k]).all():
        x, y = to_canvas(view.true_uv[t, k])
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], outline=TRUE_RGB, width=2)
    if np.isfinite(view.observed_uv[t, k]).all():
        x, y = to_canvas(view.observed_uv[t, k])
        draw.line([x - 4, y - 4, x + 4, y + 4], fill=OBSERVED_RGB, width=2)
        draw.line([x - 4, y + 4, x + 4, y - 4], fill=OBSERVED_RGB, width=2)


def frame_panel(frames: np.ndarray | None, view: ClipView, k: int | None, t: int, failure: int) -> Image.Image:
    """One frame, scaled, with markers, its index, and a border: red at the failure, blue in the context."""
    height, width = view.clip.spec.resolution
    image = placeholder(height, width, view.note) if frames is None else scaled(frames[t])
    draw_markers(image, view, k, t)
    draw = ImageDraw.Draw(image)
    border = FAILURE_RGB if t == failure else CONTEXT_RGB if t < view.clip.spec.n_context else None
    if border is not None:
        draw.rectangle([0, 0, image.width - 1, image.height - 1], outline=border, width=3)
    draw.text((image.width - 4, image.height - 3), str(t), fill=(255, 255, 255), font=font(10), anchor="rd",
              stroke_width=1, stroke_fill=(0, 0, 0))
    return image


def side_by_side_frames(view: ClipView, entry: Entry) -> list[Image.Image]:
    """Per frame: generated (left) beside the ground truth (right), same frame, same markers."""
    k = object_index(view.clip, entry.object)
    images = []
    for t in range(view.clip.spec.n_frames):
        left = frame_panel(view.generated, view, k, t, entry.frame)
        right = frame_panel(view.clip.video, view, k, t, entry.frame)
        canvas = Image.new("RGB", (left.width * 2 + GAP, left.height), (255, 255, 255))
        canvas.paste(left, (0, 0))
        canvas.paste(right, (left.width + GAP, 0))
        images.append(canvas)
    return images


def animation_webp(view: ClipView, entry: Entry) -> bytes:
    """A looping animated WebP of the side-by-side frames that holds on the failure frame."""
    images = side_by_side_frames(view, entry)
    frame_ms = round(1000 / view.clip.spec.fps)
    durations = [frame_ms * (FAILURE_HOLD if t == entry.frame else 1) for t in range(len(images))]
    buffer = io.BytesIO()
    images[0].save(buffer, format="WEBP", save_all=True, append_images=images[1:], duration=durations, loop=0,
                   lossless=True, quality=50, method=4)  # lossless: exact pixels, and half the size of lossy here
    return buffer.getvalue()


def sheet_window(n_frames: int, failure: int) -> range:
    """SHEET_FRAMES consecutive frames starting SHEET_BEFORE before the failure, kept inside the clip."""
    count = min(SHEET_FRAMES, n_frames)
    start = int(np.clip(failure - SHEET_BEFORE, 0, n_frames - count))
    return range(start, start + count)


def contact_sheet_png(view: ClipView, entry: Entry) -> bytes:
    """A PNG strip of the frames around the failure: generated on top, ground truth below, row labels left."""
    k = object_index(view.clip, entry.object)
    window = sheet_window(view.clip.spec.n_frames, entry.frame)
    rows = [[frame_panel(frames, view, k, t, entry.frame) for t in window]
            for frames in (view.generated, view.clip.video)]
    cell_w, cell_h = rows[0][0].size
    label_w, title_h = SHEET_LABEL_W, SHEET_TITLE_H
    sheet = Image.new("RGB", (label_w + len(window) * (cell_w + GAP), title_h + 2 * (cell_h + GAP)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((2, 2), f"{entry.clip_id}  {entry.tag}  {entry.object}  frame {entry.frame}", fill=(0, 0, 0),
              font=font(11))
    for row, (label, panels) in enumerate(zip(("generated", "truth"), rows)):
        y = title_h + row * (cell_h + GAP)
        draw.text((2, y + cell_h // 2), label, fill=(0, 0, 0), font=font(9), anchor="lm")
        for column, panel in enumerate(panels):
            sheet.paste(panel, (label_w + column * (cell_w + GAP), y))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def distance_plot_png(view: ClipView, entry: Entry) -> bytes | None:
    """Per-frame distance (px) between the observed and true centroid of the event's object, the frames
    where the video misses it or shows it while the truth hides it, the context and the failure frame."""
    k = object_index(view.clip, entry.object)
    if k is None or view.generated is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    true_uv, observed_uv = view.true_uv[:, k], view.observed_uv[:, k]
    frames = np.arange(len(true_uv))
    distance = np.hypot(*(observed_uv - true_uv).T)
    truth_shown, video_shown = np.isfinite(true_uv).all(1), np.isfinite(observed_uv).all(1)
    figure, axes = plt.subplots(figsize=(3.4, 1.8), dpi=100)
    axes.axvspan(-0.5, view.clip.spec.n_context - 0.5, color=np.array(CONTEXT_RGB) / 255, alpha=0.12, lw=0)
    axes.plot(frames, distance, "-o", color="black", ms=2.5, lw=1, label=f"{entry.object}: |observed - true|")
    top = max(float(np.nanmax(distance)) if np.isfinite(distance).any() else 0.0, 1.0) * 1.15
    missed, phantom = truth_shown & ~video_shown, ~truth_shown & video_shown
    axes.plot(frames[missed], np.full(missed.sum(), top), "x", color=np.array(FAILURE_RGB) / 255, ms=4,
              label="missing in video")
    axes.plot(frames[phantom], np.full(phantom.sum(), top), "^", color=np.array(OBSERVED_RGB) / 255, ms=4,
              label="shown, truth hidden")
    axes.axvline(entry.frame, color=np.array(FAILURE_RGB) / 255, lw=1.2)
    axes.set(xlim=(-0.5, len(frames) - 0.5), ylim=(0, top * 1.1), xlabel="frame", ylabel="px")
    axes.tick_params(labelsize=7)
    axes.xaxis.label.set_size(7)
    axes.yaxis.label.set_size(7)
    axes.legend(fontsize=6, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False, borderaxespad=0.2)
    figure.tight_layout(pad=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------- page
PAGE_STYLE = """
body{font:14px system-ui,sans-serif;margin:1.2em;color:#222;max-width:1200px}
h2{border-bottom:2px solid #c00;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}
article{display:flex;flex-wrap:wrap;gap:12px;border:1px solid #ddd;padding:8px;margin:10px 0;border-radius:4px}
article img{image-rendering:pixelated}.meta{min-width:320px;flex:1}.meta p{margin:.2em 0}
.sheet{flex-basis:100%}.sheet img{max-width:100%}.legend span{margin-right:1em}
.sev{font-weight:bold;color:#c00}.empty{font-size:18px;color:#060;padding:1em;border:2px solid #060}
.hidden{display:none}
"""

FILTER_SCRIPT = """
function applyFilters(){
  var tag=document.getElementById('tag').value, family=document.getElementById('family').value;
  document.querySelectorAll('article').forEach(function(a){
    a.classList.toggle('hidden', (tag && a.dataset.tag!==tag) || (family && a.dataset.family!==family));});
  document.querySelectorAll('section').forEach(function(s){
    s.classList.toggle('hidden', !s.querySelector('article:not(.hidden)'));});
  document.body.dataset.shown=document.querySelectorAll('article:not(.hidden)').length;
}
function applyHash(){
  var query=new URLSearchParams(location.hash.slice(1));
  ['tag','family'].forEach(function(key){var s=document.getElementById(key); if(s) s.value=query.get(key)||'';});
  if(document.getElementById('tag')) applyFilters();
}
window.addEventListener('hashchange', applyHash);
window.addEventListener('load', function(){
  var images=Array.from(document.images);
  document.body.dataset.loadMs=Math.round(performance.now());
  document.body.dataset.imagesTotal=images.length;
  document.body.dataset.imagesDecoded=images.filter(function(i){return i.complete && i.naturalWidth>0;}).length;
  applyHash();
});
"""
"""Filters by tag and family (also from the address: index.html#tag=object_vanished&family=chair, so the
leaderboard can link to a tag). On load, body gets data-images-decoded / data-images-total and data-shown
(articles visible), which the browser test reads."""


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def sheet_name(entry: Entry) -> str:
    """Relative path of an entry's contact sheet inside the gallery folder."""
    return f"sheets/{entry.tag}/{entry.clip_id.replace('/', '-')}.png"


def scores_table_html(scores: pd.DataFrame, clip_id: str) -> str:
    """The clip's rows of scores.parquet: metric, value, raw, unit (and status/reason when not ok)."""
    rows = scores[scores["clip_id"] == clip_id]
    columns = ["metric", "value", "raw", "unit"] + (["status", "reason"] if (rows["status"] != "ok").any() else [])
    return rows[columns].to_html(index=False, float_format=lambda value: f"{value:.3f}", na_rep="—", border=0)


def entry_html(entry: Entry, view: ClipView, scores: pd.DataFrame, rank: int) -> str:
    """One article: animation, plot, facts, scores and the contact sheet."""
    e = html.escape
    spec = view.clip.spec
    plot = distance_plot_png(view, entry)
    plot_html = f'<img alt="distance plot" src="{data_uri(plot, "image/png")}">' if plot else ""
    others = "".join(f"<li>{e(message)}</li>" for message in entry.other_messages)
    note = f"<p><b>{e(view.note)}</b></p>" if view.note else ""
    return f"""<article data-tag="{e(entry.tag)}" data-family="{e(entry.family)}" id="{e(entry.tag)}-{rank}">
<figure><img alt="generated (left) and ground truth (right)" src="{data_uri(animation_webp(view, entry), 'image/webp')}">
<figcaption>generated &nbsp;|&nbsp; ground truth</figcaption></figure>
<div class="meta"><p>#{rank} <b>{e(entry.clip_id)}</b> · family <b>{e(entry.family)}</b> · split {e(spec.split)} ·
seed {spec.seed}</p><p>{e(entry.tag)} at frame <b>{entry.frame}</b>, object <b>{e(entry.object or '—')}</b>,
severity <span class="sev">{entry.severity:.3f}</span></p><p>{e(entry.message)}</p>
{f'<ul>{others}</ul>' if others else ''}{note}<p><i>{e(view.clip.prompt)}</i></p>
{scores_table_html(scores, entry.clip_id)}{plot_html}</div>
<div class="sheet"><a href="{e(sheet_name(entry))}">contact sheet PNG</a><br>
<img alt="contact sheet" src="{data_uri(contact_sheet_png(view, entry), 'image/png')}"></div>
</article>"""


def counts_table_html(failures: pd.DataFrame) -> str:
    """Clips with each failure tag, per family (and in all)."""
    counts = failures.pivot_table(index="tag", columns="family", values="clip_id", aggfunc="nunique", fill_value=0)
    counts["all clips"] = failures.groupby("tag")["clip_id"].nunique()
    counts["events"] = failures.groupby("tag").size()
    counts.columns.name, counts.index.name = "tag / family", None
    return counts.to_html(border=0)


def header_html(run: RunData) -> str:
    """Run facts: id, generator, suite, clip count, overall score."""
    manifest, e = run.manifest, html.escape
    overall = overall_scores(run.scores) if not run.scores.empty else pd.Series(dtype=float)
    overall_text = ", ".join(f"{split} {value:.3f}" for split, value in overall.items()) or "—"
    return (f"<h1>physcheck failure gallery: {e(str(manifest.get('run_id', run.folder.path.name)))}</h1>"
            f"<p>generator <b>{e(str(manifest['generator']['name']))}</b> · suite "
            f"<b>{e(str(manifest['suite']['name']))}</b> (version {e(str(manifest['suite']['version']))}, "
            f"{manifest.get('clip_count', len(run.specs))} clips) · overall physics score {overall_text}</p>")


def filters_html(sections: dict[str, list[Entry]]) -> str:
    def options(values: list[str]) -> str:
        return "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)

    tags = list(sections)
    families = sorted({entry.family for entries in sections.values() for entry in entries})
    return (f'<p>Filter: tag <select id="tag" onchange="applyFilters()"><option value="">all</option>'
            f'{options(tags)}</select> family <select id="family" onchange="applyFilters()">'
            f'<option value="">all</option>{options(families)}</select></p>'
            '<p class="legend"><span style="color:#0a0">○ true centroid</span><span style="color:#f0f">× observed '
            'centroid</span><span style="color:#e00">▢ failure frame (held longer)</span>'
            '<span style="color:#28f">▢ context frames</span></p>')


def page_html(run: RunData, sections: dict[str, list[Entry]], articles: dict[str, list[str]], per_tag: int) -> str:
    """The whole page; says so plainly when the run raised no failure."""
    body = [header_html(run)]
    if run.failures.empty:
        body.append('<p class="empty">No failure events in this run: every clip passed every failure check. '
                    'Nothing to show.</p>')
    else:
        body += ["<h2>Clips with each failure tag</h2>", counts_table_html(run.failures), filters_html(sections)]
        for tag, entries in sections.items():
            total = run.failures.loc[run.failures["tag"] == tag, "clip_id"].nunique()
            body.append(f'<section data-tag="{html.escape(tag)}"><h2>{html.escape(tag)}: {total} clips '
                        f'(the {len(entries)} worst by severity; at most {per_tag} per tag)</h2>')
            body += articles[tag] + ["</section>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>physcheck gallery {html.escape(str(run.manifest.get('run_id', '')))}</title>"
            f"<style>{PAGE_STYLE}</style><script>{FILTER_SCRIPT}</script></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# ----------------------------------------------------------------------------------------- build
def build_gallery(run_dir: Path, out: Path | None = None, per_tag: int = DEFAULT_PER_TAG,
                  cache: str = "") -> Path:
    """Write <out>/index.html (default out: RUN_DIR/gallery) and a contact sheet per entry; return the page."""
    if per_tag < 1:
        raise GalleryError(f"--per-tag must be at least 1, got {per_tag}")
    run = load_run(Path(run_dir))
    out = Path(out) if out is not None else run.folder.path / "gallery"
    configured = cache or ((run.manifest.get("config") or {}).get("cache_dir") or "")
    truth = GroundTruthCache(cache_dir(configured))
    sections = select_entries(run.failures, per_tag)
    unknown = sorted({entry.clip_id for entries in sections.values() for entry in entries} - set(run.specs))
    if unknown:
        raise GalleryError(f"{run.folder.path / 'failures.parquet'}: clip {unknown[0]} is not in the manifest's "
                           "suite; the run folder mixes runs, rerun it into a fresh run_id")
    views: dict[str, ClipView] = {}
    articles: dict[str, list[str]] = {}
    sheets = set()
    for tag, entries in sections.items():
        articles[tag] = []
        for rank, entry in enumerate(entries, start=1):
            if entry.clip_id not in views:
                views[entry.clip_id] = load_view(run, entry.clip_id, truth)
            view = views[entry.clip_id]
            write_atomic(out / sheet_name(entry), contact_sheet_png(view, entry))
            sheets.add(out / sheet_name(entry))
            articles[tag].append(entry_html(entry, view, run.scores, rank))
    remove_stale_sheets(out, sheets)
    page = out / "index.html"
    write_atomic(page, page_html(run, sections, articles, per_tag).encode())
    return page


def remove_stale_sheets(out: Path, kept: set[Path]) -> None:
    """Delete contact sheets an earlier build left that this build did not write (same inputs, same folder)."""
    for path in sorted((out / "sheets").rglob("*.png")) if (out / "sheets").is_dir() else []:
        if path not in kept:
            path.unlink()


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    result = OneLineParser(prog="physcheck gallery",
                           description="Write a self-contained HTML page of the worst clips of each failure tag.")
    result.add_argument("run_dir", type=Path, help="a run folder written by `physcheck run` (runs/<run_id>)")
    result.add_argument("--out", type=Path, default=None, help="gallery folder (default: RUN_DIR/gallery)")
    result.add_argument("--per-tag", type=int, default=DEFAULT_PER_TAG,
                        help=f"entries per failure tag, worst first (default {DEFAULT_PER_TAG})")
    result.add_argument("--cache-dir", default="",
                        help="ground-truth cache (default: the run's cache_dir, $PHYSCHECK_CACHE or the user cache)")
    return result


def main(argv: list[str] | None = None) -> None:
    """`physcheck gallery RUN_DIR [--out DIR] [--per-tag N]`: build the page, print its path and size."""
    args = parser().parse_args(argv)
    try:
        page = build_gallery(args.run_dir, args.out, args.per_tag, args.cache_dir)
    except GalleryError as error:
        sys.stderr.write(f"physcheck gallery: {error}\n")
        sys.exit(2)
    entries = page.read_text().count("<article ")
    sheets = f"; contact sheets in {page.parent / 'sheets'}" if entries else ""
    print(f"Gallery: {page} ({page.stat().st_size / 1024:.0f} KiB, {entries} entries{sheets})")
