"""The gallery's pictures of one entry: the looping side-by-side animation, the contact sheet and the plot.

Frames are drawn with Pillow (a dependency of matplotlib), SCALE times larger so 64 px clips stay
legible, with the true (green ring) and observed (magenta cross) centroid of the event's object and
their trails; the plot with matplotlib's Agg backend (bench.gallery_series gives the series).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from metrics import Observation
from simulators import Clip

from .gallery_series import MetricSeries, series_for

if TYPE_CHECKING:
    from .gallery import Entry

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
PLOT_SIZE_PX, PLOT_DPI = (380, 250), 100
"""The per-frame plot's size in pixels and its resolution."""
WEBP_OPTIONS = {"lossless": True, "quality": 0, "method": 0}
"""Animated WebP encoding: lossless keeps the pixels exact; effort 0 encodes a 32-frame clip in about 0.1 s
(method 4 took 2.7 s on a noisy generated clip, for 25% less size)."""


@dataclass
class ClipView:
    """Frames and centroids of one clip. generated is None when the run has no usable video (see note).
    true_uv, observed_uv: (T, K, 2) pixel centroids (NaN where not visible / not detected); observation:
    of the generated video (None without one)."""

    clip: Clip
    generated: np.ndarray | None
    note: str
    true_uv: np.ndarray
    observed_uv: np.ndarray
    observation: Observation | None = None


def object_index(clip: Clip, name: str) -> int | None:
    """Index of a tracked object by name (tracked_objects order), None for '' or an untracked name."""
    names = [obj.name for obj in clip.tracked_objects]
    return names.index(name) if name in names else None


# --------------------------------------------------------------------------------------- frames
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


# ------------------------------------------------------------------------------ animation, sheet
def animation_size(resolution: tuple[int, int]) -> tuple[int, int]:
    """(width, height) in px of the side-by-side animation of a clip of `resolution` (height, width)."""
    height, width = resolution
    return 2 * width * SCALE + GAP, height * SCALE


def side_by_side_frames(view: ClipView, entry: Entry) -> list[Image.Image]:
    """Per frame: generated (left) beside the ground truth (right), same frame, same markers."""
    k = object_index(view.clip, entry.object)
    images = []
    for t in range(view.clip.spec.n_frames):
        left = frame_panel(view.generated, view, k, t, entry.frame)
        right = frame_panel(view.clip.video, view, k, t, entry.frame)
        canvas = Image.new("RGB", animation_size(view.clip.spec.resolution), (255, 255, 255))
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
                   **WEBP_OPTIONS)
    return buffer.getvalue()


def sheet_window(n_frames: int, failure: int) -> range:
    """SHEET_FRAMES consecutive frames starting SHEET_BEFORE before the failure, kept inside the clip."""
    count = min(SHEET_FRAMES, n_frames)
    start = int(np.clip(failure - SHEET_BEFORE, 0, n_frames - count))
    return range(start, start + count)


def sheet_size(resolution: tuple[int, int], n_frames: int) -> tuple[int, int]:
    """(width, height) in px of the contact sheet of a clip of `resolution` (height, width) and n_frames."""
    height, width = resolution
    count = min(SHEET_FRAMES, n_frames)
    return SHEET_LABEL_W + count * (width * SCALE + GAP), SHEET_TITLE_H + 2 * (height * SCALE + GAP)


def contact_sheet_png(view: ClipView, entry: Entry) -> bytes:
    """A PNG strip of the frames around the failure: generated on top, ground truth below, row labels left."""
    k = object_index(view.clip, entry.object)
    window = sheet_window(view.clip.spec.n_frames, entry.frame)
    rows = [[frame_panel(frames, view, k, t, entry.frame) for t in window]
            for frames in (view.generated, view.clip.video)]
    cell_w, cell_h = rows[0][0].size
    sheet = Image.new("RGB", sheet_size(view.clip.spec.resolution, view.clip.spec.n_frames), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    sample = f"  sample {entry.sample}" if entry.sample else ""
    draw.text((2, 2), f"{entry.clip_id}{sample}  {entry.tag}  {entry.object}  frame {entry.frame}", fill=(0, 0, 0),
              font=font(11))
    for row, (label, panels) in enumerate(zip(("generated", "truth"), rows)):
        y = SHEET_TITLE_H + row * (cell_h + GAP)
        draw.text((2, y + cell_h // 2), label, fill=(0, 0, 0), font=font(9), anchor="lm")
        for column, panel in enumerate(panels):
            sheet.paste(panel, (SHEET_LABEL_W + column * (cell_w + GAP), y))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------- plot
def rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    return tuple(channel / 255 for channel in colour)


LINE_COLOURS = ("black", "tab:green", "tab:blue")
"""Colours of a series' lines in order: the thresholded quantity first."""
MARK_STYLES = (("x", FAILURE_RGB), ("^", OBSERVED_RGB), ("v", (120, 120, 120)))
"""Marker and colour of a series' marks in order, drawn along the top of the plot."""
SPAN_COLOURS = ((150, 150, 150), (255, 190, 60))


def series_of(view: ClipView, entry: Entry) -> tuple[MetricSeries | None, str]:
    """The entry's metric series (bench.gallery_series) and a caption; the displacement series as a fallback
    for a tag without one (the caption says so); None without a generated video."""
    if view.observation is None:
        return None, ""
    series = series_for(entry.tag, view.clip, view.observation, entry.object)
    if series is not None:
        return series, f"{series.quantity}: the quantity {entry.tag} thresholds ({series.source})"
    fallback = displacement_series(view, entry)
    if fallback is None:
        return None, ""
    return fallback, f"no per-frame series for {entry.tag}: showing {entry.object}'s displacement instead"


def displacement_series(view: ClipView, entry: Entry) -> MetricSeries | None:
    """Per-frame distance (px) between the observed and true centroid of the event's object, with the frames
    where the video misses it or shows it while the truth hides it: the fallback plot."""
    k = object_index(view.clip, entry.object)
    if k is None:
        return None
    true_uv, observed_uv = view.true_uv[:, k], view.observed_uv[:, k]
    truth_shown, video_shown = np.isfinite(true_uv).all(1), np.isfinite(observed_uv).all(1)
    return MetricSeries(f"{entry.object}: |observed - true| (px)", "bench.gallery_media.displacement_series",
                        np.arange(len(true_uv)), {"distance": np.hypot(*(observed_uv - true_uv).T)},
                        np.zeros(len(true_uv), bool),
                        marks={"missing in video": truth_shown & ~video_shown,
                               "shown, truth hidden": ~truth_shown & video_shown})


def series_plot_png(series: MetricSeries, n_context: int, n_frames: int, failure: int) -> bytes:
    """The series' lines (the thresholded one first, its flagged values circled red), thresholds (red dashed),
    reference levels (grey dotted), the truth's band, shaded spans, marks along the top, the context (blue
    shade) and the failure frame (red line)."""
    width, height = PLOT_SIZE_PX
    figure = Figure(figsize=(width / PLOT_DPI, height / PLOT_DPI), dpi=PLOT_DPI)
    axes = figure.add_axes((0.12, 0.13, 0.85, 0.5))
    axes.axvspan(-0.5, n_context - 0.5, color=rgb(CONTEXT_RGB), alpha=0.12, lw=0)
    for (label, ranges), colour in zip(series.spans.items(), SPAN_COLOURS):
        for index, (start, end) in enumerate(ranges):
            axes.axvspan(start - 0.5, end - 0.5, color=rgb(colour), alpha=0.25, lw=0, label=None if index else label)
    if series.band is not None:
        label, low, high = series.band
        axes.fill_between(series.x, low, high, step="mid", color=rgb(TRUE_RGB), alpha=0.2, lw=0, label=label)
    for (label, values), colour in zip(series.lines.items(), LINE_COLOURS):
        axes.plot(series.x, values, "-o", color=colour, ms=2.2, lw=1, label=label)
    primary = next(iter(series.lines.values()))
    flagged = series.flagged & np.isfinite(primary)
    axes.plot(series.x[flagged], primary[flagged], "o", mfc="none", mec=rgb(FAILURE_RGB), ms=5, mew=1.1,
              label="beyond the threshold")
    for label, value in series.thresholds.items():
        axes.axhline(value, color=rgb(FAILURE_RGB), ls="--", lw=1, label=label)
    for label, value in series.levels.items():
        axes.axhline(value, color="grey", ls=":", lw=1, label=label)
    values = [array[np.isfinite(array)] for array in series.lines.values()]
    values += [np.asarray(list(series.thresholds.values()) + list(series.levels.values()), float)]
    if series.band is not None:
        values += [series.band[1][np.isfinite(series.band[1])], series.band[2][np.isfinite(series.band[2])]]
    finite = np.concatenate(values) if values else np.zeros(0)
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    low, high = min(low, 0.0), max(high, low + 1e-6)
    top = high + 0.12 * (high - low)
    for (label, where), (marker, colour) in zip(series.marks.items(), MARK_STYLES):
        if where.any():
            axes.plot(series.x[where], np.full(int(where.sum()), top), marker, color=rgb(colour), ms=4, ls="none",
                      label=label)
    axes.axvline(failure, color=rgb(FAILURE_RGB), lw=1.3, label=f"failure frame {failure}")
    axes.set(xlim=(-0.5, n_frames - 0.5), ylim=(low - 0.05 * (high - low), top + 0.08 * (high - low)), xlabel="frame")
    axes.tick_params(labelsize=6.5)
    axes.xaxis.label.set_size(7)
    figure.text(0.01, 0.985, series.quantity, fontsize=7.5, weight="bold", va="top")
    axes.legend(fontsize=5.5, loc="lower left", bbox_to_anchor=(-0.1, 1.01), ncol=2, frameon=False,
                borderaxespad=0.1, handlelength=1.6, columnspacing=0.8, labelspacing=0.25)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
