"""`physcheck gallery RUN_DIR [RUN_DIR ...]`: a static HTML site of the worst clips of each failure tag.

Each entry shows the generated clip beside the ground truth (an animated WebP, looping, that holds
on the failure frame), the true (green) and observed (magenta) object centroid with their trails,
a small per-frame plot of the quantity the failed metric thresholds (bench.gallery_series), the
message, generator, family, clip id (and sample) and the clip's scores, and a PNG contact sheet
(frames around the failure: generated on top, truth below) to paste into issues. Several runs of one
suite version make one site with a generator filter beside the tag and family filters. Every
picture is a file of its own (media/, plots/, sheets/) loaded lazily, and the page shows PAGE_SIZE
entries at a time (bench.gallery_page), so a gallery of thousands of entries opens fast; nothing is
fetched from the network.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from generators import VideoFormatError, read_video
from metrics import observe
from simulators import SUITE_VERSION, GroundTruthCache, ScenarioSpec, cache_dir

from . import gallery_page
from .config import SuiteConfig
from .gallery_media import (
    PLOT_SIZE_PX,
    ClipView,
    animation_size,
    animation_webp,
    contact_sheet_png,
    series_of,
    series_plot_png,
    sheet_size,
)
from .results import RunFolder, overall_scores, write_atomic
from .run import ConfigError, specs_from_suite

DEFAULT_PER_TAG = 8
"""Entries per failure tag (and per generator) unless --per-tag says otherwise."""
MEDIA_FOLDERS = ("media", "plots", "sheets")
"""Folders of the gallery holding the pictures: animations, plots, contact sheets."""


class GalleryError(ValueError):
    """A run folder the gallery cannot read; the message is one line naming the path and the fix."""


# ----------------------------------------------------------------------------------------- input
@dataclass
class RunData:
    """What the gallery reads from a run folder; label names its generator in the gallery."""

    folder: RunFolder
    manifest: dict[str, Any]
    scores: pd.DataFrame
    failures: pd.DataFrame
    specs: dict[str, ScenarioSpec]
    label: str = ""

    @property
    def samples(self) -> int:
        return int(self.manifest.get("samples") or 1)


def read_manifest(path: Path) -> dict[str, Any]:
    """manifest.json of a run folder, with one-line errors naming the path and the fix."""
    if not path.is_dir():
        raise GalleryError(f"{path}: no such run folder; pass the folder `physcheck run` wrote (runs/<run_id>)")
    try:
        manifest = RunFolder(path).read_manifest()
    except (OSError, json.JSONDecodeError) as error:
        raise GalleryError(f"{path / 'manifest.json'}: unreadable ({error}); rerun `physcheck run` into it") from error
    if manifest is None:
        raise GalleryError(f"{path}: not a run folder (no manifest.json); pass the folder `physcheck run` wrote")
    return manifest


def load_run(path: Path, label: str = "") -> RunData:
    """Read manifest.json, scores.parquet and failures.parquet, and rebuild the suite's specs."""
    path = Path(path)
    manifest = read_manifest(path)
    tables = []
    for name in ("scores.parquet", "failures.parquet"):
        if not (path / name).exists():
            raise GalleryError(f"{path / name}: missing; the run did not finish, rerun the same `physcheck run` "
                               "command to complete it")
        tables.append(pd.read_parquet(path / name))
    label = label or str((manifest.get("generator") or {}).get("name", "?"))
    return RunData(RunFolder(path), manifest, tables[0], tables[1], suite_specs(manifest, path), label)


def suite_version(manifest: dict[str, Any]) -> str:
    return str((manifest.get("suite") or {}).get("version"))


def suite_specs(manifest: dict[str, Any], path: Path) -> dict[str, ScenarioSpec]:
    """clip_id -> spec of the run's suite, refusing a run of another suite version."""
    version = suite_version(manifest)
    if version != str(SUITE_VERSION):
        raise GalleryError(f"{path}: run of suite version {version}, this physcheck has version {SUITE_VERSION}; "
                           "rerun the generator with this version or use the physcheck that made the run")
    try:
        specs = specs_from_suite(SuiteConfig(**manifest["suite"]["config"]))
    except (KeyError, TypeError, ConfigError) as error:
        raise GalleryError(f"{path / 'manifest.json'}: cannot rebuild the suite ({error}); "
                           "rerun `physcheck run` to rewrite it") from error
    return {spec.clip_id: spec for spec in specs}


def generator_labels(manifests: Sequence[dict[str, Any]], paths: Sequence[Path]) -> list[str]:
    """The generator's name for each run; 'name (run_id)' where several runs share a name, and the folder
    where even that repeats."""
    names = [str((manifest.get("generator") or {}).get("name", "?")) for manifest in manifests]
    labels = [name if names.count(name) == 1 else f"{name} ({manifest.get('run_id', path.name)})"
              for name, manifest, path in zip(names, manifests, paths)]
    return [label if labels.count(label) == 1 else f"{label} {path}" for label, path in zip(labels, paths)]


def load_runs(paths: Sequence[Path]) -> list[RunData]:
    """Read every run folder: each once, all of one suite version (else a refusal naming both versions)."""
    paths = [Path(path) for path in paths]
    resolved = [path.resolve() for path in paths]
    for position, path in enumerate(resolved):
        if path in resolved[:position]:
            raise GalleryError(f"{paths[position]}: given twice; pass each run folder once")
    manifests = [read_manifest(path) for path in paths]
    for path, manifest in zip(paths[1:], manifests[1:]):
        if suite_version(manifest) != suite_version(manifests[0]):
            raise GalleryError(f"{path} is suite version {suite_version(manifest)} but {paths[0]} is suite version "
                               f"{suite_version(manifests[0])}; rerun both with the same physcheck suite")
    labels = generator_labels(manifests, paths) if len(paths) > 1 else [""]
    return [load_run(path, label) for path, label in zip(paths, labels)]


# ------------------------------------------------------------------------------------- selection
@dataclass(frozen=True)
class Entry:
    """The worst event of one tag in one clip (of one generator), and the other events of that tag there.

    sample: the sample (of samples=k) the event is from, the scenario's worst; samples_with_tag: how many of
    the scenario's samples raise the tag."""

    tag: str
    clip_id: str
    family: str
    frame: int
    object: str
    severity: float
    message: str
    other_messages: tuple[str, ...]
    generator: str = ""
    sample: int = 0
    samples_with_tag: int = 1

    @property
    def video_name(self) -> str:
        """The generated video's name in the run folder (bench.executor.Sample.video_name)."""
        return self.clip_id if self.sample == 0 else f"{self.clip_id}.s{self.sample}"


def select_entries(failures: pd.DataFrame, per_tag: int, generators: Sequence[str] = ("",)) -> dict[str, list[Entry]]:
    """Per tag (most clips first), each generator's per_tag worst clips by their worst event's severity (over
    the scenario's samples), worst first. failures may have a 'generator' column (default '') and a 'sample'
    column (default 0)."""
    failures = failures.assign(**{column: failures[column] if column in failures else default
                                  for column, default in (("generator", ""), ("sample", 0))})
    ordered = failures.sort_values(["tag", "generator", "clip_id", "severity", "sample", "frame", "object"],
                                   ascending=[True, True, True, False, True, True, True], kind="mergesort")
    clip_counts = ordered.groupby("tag")[["generator", "clip_id"]].apply(lambda rows: len(rows.drop_duplicates()))
    tags = sorted(clip_counts.index, key=lambda tag: (-clip_counts[tag], tag))
    order = {generator: position for position, generator in enumerate(generators)}
    sections = {}
    for tag in tags:
        entries = []
        for _, events in ordered[ordered["tag"] == tag].groupby("generator", sort=True):
            worst = [entry_of(clip_events) for _, clip_events in events.groupby("clip_id", sort=True)]
            worst.sort(key=lambda entry: (-entry.severity, entry.clip_id))
            entries += worst[:per_tag]
        entries.sort(key=lambda entry: (-entry.severity, entry.clip_id, order.get(entry.generator, len(order))))
        sections[tag] = entries
    return sections


def entry_of(events: pd.DataFrame) -> Entry:
    """An Entry from one clip's events of one tag (all samples), sorted worst first."""
    worst = events.iloc[0]
    same_sample = events[events["sample"] == worst["sample"]]
    return Entry(str(worst["tag"]), str(worst["clip_id"]), str(worst["family"]), int(worst["frame"]),
                 str(worst["object"]), float(worst["severity"]), str(worst["message"]),
                 tuple(str(message) for message in same_sample["message"].iloc[1:]), str(worst["generator"]),
                 int(worst["sample"]), int(events["sample"].nunique()))


# ------------------------------------------------------------------------------------ clip views
def load_view(run: RunData, clip_id: str, cache: GroundTruthCache, sample: int = 0) -> ClipView:
    """The ground truth (from the cache), the generated video of one sample, and both sets of centroids."""
    clip = cache.get(run.specs[clip_id])
    true_uv = np.stack([clip.track_matrix("seg_u"), clip.track_matrix("seg_v")], axis=-1)
    observed_uv = np.full_like(true_uv, np.nan)
    name = clip_id if sample == 0 else f"{clip_id}.s{sample}"
    generated, note = read_generated(run.folder.video_path(name), clip.video.shape)
    observation = None
    if generated is not None:
        observation = observe(generated, clip)
        observed_uv = np.stack([observation.u, observation.v], axis=-1)
    return ClipView(clip, generated, note, true_uv, observed_uv, observation)


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


# --------------------------------------------------------------------------------------- entries
def slug(text: str) -> str:
    """A file-name-safe form of a generator label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def media_name(entry: Entry, folder: str, extension: str, several: bool) -> str:
    """Relative path of one of an entry's pictures: <folder>/[<generator>/]<tag>/<clip id>[.s<sample>].<ext>."""
    generator = f"{slug(entry.generator)}/" if several else ""
    return f"{folder}/{generator}{entry.tag}/{entry.video_name.replace('/', '-')}.{extension}"


def sheet_name(entry: Entry, several: bool = False) -> str:
    """Relative path of an entry's contact sheet inside the gallery folder."""
    return media_name(entry, "sheets", "png", several)


def score_rows(scores: pd.DataFrame, clip_id: str, sample: int = 0) -> list[list[Any]]:
    """The clip's rows of scores.parquet (of one sample) as [metric, value, raw, status, reason], numbers
    rounded to 3 decimals (None for NaN); the page draws them as a table with each metric's unit."""
    rows = scores[scores["clip_id"] == clip_id]
    if "sample" in rows:
        rows = rows[rows["sample"] == sample]

    def number(value: Any) -> float | None:
        return round(float(value), 3) if pd.notna(value) else None

    return [[str(row.metric), number(row.value), number(row.raw), str(row.status), str(row.reason or "")]
            for row in rows.itertuples()]


def image_html(source: str, alt: str, size: tuple[int, int]) -> str:
    """A lazily loaded picture of known size (the page keeps its layout while pictures arrive)."""
    return (f'<img loading="lazy" src="{html.escape(source)}" alt="{html.escape(alt)}" '
            f'width="{size[0]}" height="{size[1]}">')


def article_html(entry: Entry, view: ClipView, rank: int, paths: dict[str, str], plot_caption: str,
                 run: RunData, several: bool) -> str:
    """One entry's article; '<!--scores-->' stands for its clip's scores table (stored once per clip)."""
    e = html.escape
    spec = view.clip.spec
    others = "".join(f"<li>{e(message)}</li>" for message in entry.other_messages)
    note = f"<p><b>{e(view.note)}</b></p>" if view.note else ""
    generator = f" · generator <b>{e(entry.generator)}</b>" if several else ""
    sample = (f" · sample {entry.sample} of {run.samples} ({entry.tag} in {entry.samples_with_tag} of "
              f"{run.samples} samples)" if run.samples > 1 else "")
    plot = (f'<figure class="plot">{image_html(paths["plot"], f"per-frame plot of {entry.tag}", PLOT_SIZE_PX)}'
            f"<figcaption>{e(plot_caption)}</figcaption></figure>" if "plot" in paths else "")
    identifier = f"{entry.tag}-{slug(entry.generator)}-{rank}" if several else f"{entry.tag}-{rank}"
    return f"""<article data-tag="{e(entry.tag)}" data-family="{e(entry.family)}" data-generator="{e(entry.generator)}" \
data-sample="{entry.sample}" id="{e(identifier)}">
<figure>{image_html(paths["animation"], "generated (left) and ground truth (right)", animation_size(spec.resolution))}
<figcaption>generated &nbsp;|&nbsp; ground truth</figcaption></figure>{plot}
<div class="meta"><p>#{rank} <b>{e(entry.clip_id)}</b>{generator}{sample} · family <b>{e(entry.family)}</b> · split \
{e(spec.split)} · seed {spec.seed}</p><p>{e(entry.tag)} at frame <b>{entry.frame}</b>, object \
<b>{e(entry.object or '—')}</b>, severity <span class="sev">{entry.severity:.3f}</span></p><p>{e(entry.message)}</p>
{f'<ul>{others}</ul>' if others else ''}{note}<p><i>{e(view.clip.prompt)}</i></p>
<!--scores--></div>
<div class="sheet"><a href="{e(paths['sheet'])}">contact sheet PNG</a><br>
{image_html(paths["sheet"], "contact sheet", sheet_size(spec.resolution, spec.n_frames))}</div>
</article>"""


def write_entry_media(out: Path, entry: Entry, view: ClipView, several: bool) -> tuple[dict[str, str], str]:
    """Write the entry's animation, contact sheet and (with a generated video) plot; their relative paths
    and the plot's caption."""
    paths = {"animation": media_name(entry, "media", "webp", several), "sheet": sheet_name(entry, several)}
    write_atomic(out / paths["animation"], animation_webp(view, entry))
    write_atomic(out / paths["sheet"], contact_sheet_png(view, entry))
    series, caption = series_of(view, entry)
    if series is not None:
        paths["plot"] = media_name(entry, "plots", "png", several)
        spec = view.clip.spec
        write_atomic(out / paths["plot"], series_plot_png(series, spec.n_context, spec.n_frames, entry.frame))
    return paths, caption


def ranks(sections: dict[str, list[Entry]]) -> list[tuple[Entry, int]]:
    """Every entry with its rank among its tag's entries of its generator (1 = the worst)."""
    ranked, counts = [], {}
    for tag, entries in sections.items():
        for entry in entries:
            counts[tag, entry.generator] = counts.get((tag, entry.generator), 0) + 1
            ranked.append((entry, counts[tag, entry.generator]))
    return ranked


# ----------------------------------------------------------------------------------------- build
def header_html(runs: Sequence[RunData]) -> str:
    """Run facts: id, generator, suite, clip count (samples), overall score; a table for several runs."""
    e = html.escape

    def overall(run: RunData) -> str:
        values = overall_scores(run.scores) if not run.scores.empty else pd.Series(dtype=float)
        return ", ".join(f"{split} {value:.3f}" if pd.notna(value) else f"{split} n/a"
                         for split, value in values.items()) or "—"

    def clips(run: RunData) -> str:
        count = run.manifest.get("clip_count", len(run.specs))
        return f"{count} clips" + (f" x {run.samples} samples" if run.samples > 1 else "")

    first = runs[0].manifest
    suite = f"<b>{e(str(first['suite']['name']))}</b> (version {e(suite_version(first))})"
    if len(runs) == 1:
        run = runs[0]
        return (f"<h1>physcheck failure gallery: {e(str(first.get('run_id', run.folder.path.name)))}</h1>"
                f"<p>generator <b>{e(str(first['generator']['name']))}</b> · suite {suite}, {clips(run)} · "
                f"overall physics score {overall(run)}</p>")
    rows = "".join(f"<tr><td>{e(run.label)}</td><td>{e(str(run.manifest.get('run_id', run.folder.path.name)))}</td>"
                   f"<td>{e(str(run.manifest['suite']['name']))}</td><td>{clips(run)}</td><td>{overall(run)}</td></tr>"
                   for run in runs)
    return (f"<h1>physcheck failure gallery: {len(runs)} runs</h1><p>suite version {e(suite_version(first))}</p>"
            "<table><tr><th>generator</th><th>run</th><th>suite</th><th>clips</th><th>overall physics score</th></tr>"
            f"{rows}</table>")


def all_failures(runs: Sequence[RunData]) -> pd.DataFrame:
    """Every run's failures.parquet with its generator label in a 'generator' column (and 'sample' filled)."""
    frames = [run.failures.assign(generator=run.label, **({} if "sample" in run.failures else {"sample": 0}))
              for run in runs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def check_clips_known(sections: dict[str, list[Entry]], by_label: dict[str, RunData]) -> None:
    """Refuse an entry whose clip is not in its run's suite (a run folder holding several runs)."""
    for entries in sections.values():
        for entry in entries:
            run = by_label[entry.generator]
            if entry.clip_id not in run.specs:
                raise GalleryError(f"{run.folder.path / 'failures.parquet'}: clip {entry.clip_id} is not in the "
                                   "manifest's suite; the run folder mixes runs, rerun it into a fresh run_id")


ViewKey = tuple[str, str, int]
"""(generator label, clip id, sample): one generated video and its ground truth."""


def write_entries(out: Path, sections: dict[str, list[Entry]], by_label: dict[str, RunData], cache: str,
                  several: bool) -> tuple[dict[Entry, tuple[str, ViewKey]], set[Path]]:
    """Write every entry's pictures, loading each video once; return each entry's article and view key, and the
    files written."""
    by_view: dict[ViewKey, list[tuple[Entry, int]]] = {}
    for entry, rank in ranks(sections):
        by_view.setdefault((entry.generator, entry.clip_id, entry.sample), []).append((entry, rank))
    caches = {label: GroundTruthCache(cache_dir(cache or ((run.manifest.get("config") or {}).get("cache_dir") or "")))
              for label, run in by_label.items()}
    articles: dict[Entry, tuple[str, ViewKey]] = {}
    written: set[Path] = set()
    for key, group in sorted(by_view.items()):
        generator, clip_id, sample = key
        run = by_label[generator]
        view = load_view(run, clip_id, caches[generator], sample)
        for entry, rank in group:
            media, caption = write_entry_media(out, entry, view, several)
            written |= {out / path for path in media.values()}
            articles[entry] = (article_html(entry, view, rank, media, caption, run, several), key)
    return articles, written


def site_data(runs: Sequence[RunData], sections: dict[str, list[Entry]],
              articles: dict[Entry, tuple[str, ViewKey]], failures: pd.DataFrame, per_tag: int) -> dict[str, Any]:
    """What entries.js holds: the entries in page order (tag, family, generator, article), each clip's scores
    once, the metrics' units, and the clips with each tag per generator and family."""
    by_label = {run.label: run for run in runs}
    views = sorted({key for _, key in articles.values()})
    names = {key: f"c{index}" for index, key in enumerate(views)}
    units: dict[str, str] = {}
    for run in runs:
        for metric, unit in run.scores.drop_duplicates("metric")[["metric", "unit"]].itertuples(index=False):
            units.setdefault(str(metric), str(unit))
    entries = [{"tag": entry.tag, "family": entry.family, "generator": entry.generator,
                "scores": names[articles[entry][1]], "html": articles[entry][0]}
               for entries in sections.values() for entry in entries]
    return {"per_tag": per_tag, "page_size": gallery_page.PAGE_SIZE, "generators": [run.label for run in runs],
            "clips": gallery_page.clip_counts(failures) if not failures.empty else {}, "units": units,
            "scores": {names[key]: score_rows(by_label[key[0]].scores, key[1], key[2]) for key in views},
            "entries": entries, "total": len(entries)}


def write_gallery(run_dirs: Path | Sequence[Path], out: Path | None = None, per_tag: int = DEFAULT_PER_TAG,
                  cache: str = "") -> tuple[Path, int]:
    """Write <out>/index.html, first.js, entries.js and every entry's pictures; return the page and the entry count.
    Default out: RUN_DIR/gallery for one run, ./gallery for several."""
    if per_tag < 1:
        raise GalleryError(f"--per-tag must be at least 1, got {per_tag}")
    paths = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(path) for path in run_dirs]
    if not paths:
        raise GalleryError("no run folder given; pass at least one folder `physcheck run` wrote (runs/<run_id>)")
    runs = load_runs(paths)
    several = len(runs) > 1
    out = Path(out) if out is not None else (Path("gallery") if several else runs[0].folder.path / "gallery")
    by_label = {run.label: run for run in runs}
    failures = all_failures(runs)
    sections = select_entries(failures, per_tag, list(by_label)) if not failures.empty else {}
    check_clips_known(sections, by_label)
    articles, written = write_entries(out, sections, by_label, cache, several)
    remove_stale_media(out, written)
    data = site_data(runs, sections, articles, failures, per_tag)
    write_atomic(out / "entries.js", gallery_page.data_js("GALLERY", data).encode())
    write_atomic(out / "first.js", gallery_page.data_js("GALLERY_FIRST", gallery_page.first_page(data)).encode())
    families = sorted({entry.family for entries in sections.values() for entry in entries})
    title = f"physcheck gallery ({len(runs)} runs)" if several else f"physcheck gallery {runs[0].manifest.get('run_id', '')}"
    empty = (f"No failure events in {'these runs' if several else 'this run'}: every clip passed every failure check. "
             "Nothing to show.")
    page = out / "index.html"
    write_atomic(page, gallery_page.page_html(title, header_html(runs), failures, list(sections), families,
                                              list(by_label) if several else [], empty).encode())
    return page, len(data["entries"])


def build_gallery(run_dirs: Path | Sequence[Path], out: Path | None = None, per_tag: int = DEFAULT_PER_TAG,
                  cache: str = "") -> Path:
    """write_gallery, returning the page only."""
    return write_gallery(run_dirs, out, per_tag, cache)[0]


def remove_stale_media(out: Path, kept: set[Path]) -> None:
    """Delete pictures an earlier build left in out that this build did not write."""
    for folder in MEDIA_FOLDERS:
        for path in sorted((out / folder).rglob("*")) if (out / folder).is_dir() else []:
            if path.is_file() and path not in kept:
                path.unlink()


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    result = OneLineParser(prog="physcheck gallery",
                           description="Write a static HTML site of the worst clips of each failure tag, over one "
                                       "run or several runs of one suite version (filter by tag, family, generator).")
    result.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="run folders written by `physcheck run` (runs/<run_id>), all of one suite version")
    result.add_argument("--out", type=Path, default=None,
                        help="gallery folder (default: RUN_DIR/gallery for one run, ./gallery for several)")
    result.add_argument("--per-tag", type=int, default=DEFAULT_PER_TAG,
                        help=f"entries per failure tag and generator, worst first (default {DEFAULT_PER_TAG})")
    result.add_argument("--cache-dir", default="",
                        help="ground-truth cache (default: the run's cache_dir, $PHYSCHECK_CACHE or the user cache)")
    return result


def main(argv: list[str] | None = None) -> None:
    """`physcheck gallery RUN_DIR [RUN_DIR ...] [--out DIR] [--per-tag N]`: build the site, print its path and size."""
    args = parser().parse_args(argv)
    try:
        page, count = write_gallery(args.run_dirs, args.out, args.per_tag, args.cache_dir)
    except GalleryError as error:
        sys.stderr.write(f"physcheck gallery: {error}\n")
        sys.exit(2)
    size = sum(path.stat().st_size for path in page.parent.rglob("*") if path.is_file())
    print(f"Gallery: {page} ({page.stat().st_size / 1024:.0f} KiB page, {count} entries, "
          f"{size / 2**20:.1f} MiB in all with entries.js and the pictures)")
