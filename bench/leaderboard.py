"""`physcheck leaderboard RUN_DIR...`: rank runs by the overall physics score, with bootstrap intervals.

Also home of what `compare` shares with it: reading a run folder (with one-line refusals), splitting
physics metrics from fidelity metrics, and the per-clip totals every score is computed from.

Intervals: `scipy.stats.bootstrap`, resampling scenarios (clips), method 'percentile'. Not BCa: BCa
returns NaN (with a warning) when every clip scores the same, which the reference rows do (the oracle
scores 1.0 on every clip), and its jackknife costs one statistic call per clip; for a mean of bounded
values over tens of clips the percentile interval is adequate and always defined.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from scipy import stats
from tabulate import tabulate

from . import results
from .results import write_atomic

CONFIDENCE = 0.95
BOOTSTRAP_METHOD = "percentile"
N_RESAMPLES = 9999
BOOTSTRAP_BATCH = 500
"""Resamples evaluated at once: bounds memory to batch x clips x principles floats."""
FIDELITY = "fidelity"
REFERENCE_ROLES = {"oracle": "ceiling", "physical_variance": "ceiling",
                   "static": "floor", "reverse": "floor", "linear": "floor"}
PRIMARY_SPLIT = "eval"


class RunInputError(ValueError):
    """Input that cannot be used; the message is one line naming the path and the fix."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        sys.exit(2)


# ----------------------------------------------------------------------------------------- run folders

@dataclass(frozen=True)
class Run:
    """One finished run folder: its manifest, scores.parquet and failures.parquet."""

    path: Path
    manifest: dict[str, Any]
    scores: pd.DataFrame
    failures: pd.DataFrame

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id", self.path.name))

    @property
    def generator(self) -> str:
        return str(self.manifest.get("generator", {}).get("name", "?"))

    @property
    def suite_version(self) -> Any:
        return self.manifest.get("suite", {}).get("version")

    @property
    def conditioning(self) -> str:
        """v2v, i2v or t2v (a run written before the modes existed was v2v)."""
        return results.run_conditioning(self.manifest)

    @property
    def label(self) -> str:
        return f"{self.generator} ({self.run_id})"

    @property
    def clip_ids(self) -> set[str]:
        return set(self.scores["clip_id"])


REQUIRED_SCORE_COLUMNS = {"clip_id", "family", "principle", "split", "metric", "value", "status"}


def load_run(path: str | Path) -> Run:
    """Read a run folder written by `physcheck run`; RunInputError names what is wrong and the fix."""
    path = Path(path)
    if not path.exists():
        raise RunInputError(f"{path}: no such folder; pass a run folder written by `physcheck run` (runs/<run_id>)")
    if not path.is_dir() or not (path / "manifest.json").is_file():
        raise RunInputError(f"{path}: not a run folder (no manifest.json); pass runs/<run_id> of a `physcheck run`")
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise RunInputError(f"{path / 'manifest.json'}: unreadable ({error}); rerun `physcheck run` for it") from None
    for name in ("scores.parquet", "failures.parquet"):
        if not (path / name).is_file():
            raise RunInputError(f"{path}: no {name}, the run has not finished; rerun `physcheck run` with the same "
                                f"run_id={path.name} to finish it")
    try:
        scores = pd.read_parquet(path / "scores.parquet")
        failures = pd.read_parquet(path / "failures.parquet")
    except (OSError, ValueError) as error:
        raise RunInputError(f"{path}: unreadable parquet ({error}); rerun `physcheck run` for it") from None
    missing = REQUIRED_SCORE_COLUMNS - set(scores.columns)
    if missing:
        raise RunInputError(f"{path / 'scores.parquet'}: missing columns {', '.join(sorted(missing))}; "
                            f"it was not written by `physcheck run`")
    if scores.empty:
        raise RunInputError(f"{path / 'scores.parquet'}: no clip was scored; rerun `physcheck run` for it")
    return Run(path, manifest, scores, failures)


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Read every run folder, refusing the same folder twice."""
    resolved = [Path(path).resolve() for path in paths]
    for position, path in enumerate(resolved):
        if path in resolved[:position]:
            raise RunInputError(f"{paths[position]}: given twice; pass each run folder once")
    return [load_run(path) for path in paths]


def check_same_suite_version(runs: Sequence[Run]) -> None:
    """Refuse runs of different suite versions (their scenarios differ), naming both versions."""
    first = runs[0]
    for run in runs[1:]:
        if run.suite_version != first.suite_version:
            raise RunInputError(f"{run.path} is suite version {run.suite_version} but {first.path} is suite version "
                                f"{first.suite_version}; rerun both with the same physcheck suite")


def check_same_conditioning(runs: Sequence[Run]) -> None:
    """Refuse runs of different conditioning modes, naming both: a t2v score comes from the reference-free
    metrics only and a v2v model is shown the motion, so their scores rank what the models were given,
    not the physics they learned."""
    first = runs[0]
    for run in runs[1:]:
        if run.conditioning != first.conditioning:
            raise RunInputError(f"{run.path} ran with conditioning {run.conditioning} but {first.path} with "
                                f"conditioning {first.conditioning}; compare runs of one mode (rerun with "
                                f"conditioning={first.conditioning})")


def check_same_clips(runs: Sequence[Run]) -> None:
    """Refuse runs over different scenario sets, naming a clip that differs."""
    first = runs[0]
    for run in runs[1:]:
        only_first, only_run = sorted(first.clip_ids - run.clip_ids), sorted(run.clip_ids - first.clip_ids)
        if only_first or only_run:
            example = f"{only_first[0]} only in {first.path}" if only_first else f"{only_run[0]} only in {run.path}"
            raise RunInputError(f"{run.path} and {first.path} cover different clips ({len(only_first)} vs "
                                f"{len(only_run)} unshared, e.g. {example}); run both on the same suite "
                                f"(suite=, suite.n_seeds=, suite.splits=)")


# ------------------------------------------------------------------------------- physics vs fidelity

def physics_rows(scores: pd.DataFrame, conditioning: str = "v2v") -> pd.DataFrame:
    """Rows that enter the physics scores of a run in `conditioning` mode (bench.results.physics_rows)."""
    return results.physics_rows(scores, conditioning)


def is_fidelity(metric_names: pd.Series, conditioning: str = "v2v") -> pd.Series:
    """True for metrics reported beside the physics score (fidelity, Physics-IQ masks; in v2v/i2v the
    reference-free metrics outside PHYSICS_METRICS)."""
    return ~metric_names.map(lambda name: results.is_physics_metric(name, conditioning)).astype(bool)


def fidelity_rows(scores: pd.DataFrame, conditioning: str = "v2v") -> pd.DataFrame:
    """Rows reported beside the physics score (is_fidelity)."""
    return scores.drop(results.physics_rows(scores, conditioning).index)


def consistent_at_k(run: Run) -> tuple[float, int]:
    """(share of scenarios where no sample raised a failure tag, k = samples per scenario)."""
    samples = int(run.scores["sample"].max()) + 1 if "sample" in run.scores.columns else 1
    tagged = set(run.failures["clip_id"])
    scenarios = run.scores["clip_id"].unique()
    return float(np.mean([clip_id not in tagged for clip_id in scenarios])), samples


# ------------------------------------------------------------------------------ clip totals and stats

@dataclass(frozen=True)
class ClipTotals:
    """Per clip (rows) and group (columns: principles, families or metrics): the sum and the count of
    non-NaN values. A group's score over any multiset of clips is sum(sums) / sum(counts)."""

    clip_ids: list[str]
    groups: list[str]
    sums: np.ndarray
    counts: np.ndarray

    @property
    def n_clips(self) -> int:
        return len(self.clip_ids)


def clip_totals(rows: pd.DataFrame, group_column: str, clip_ids: Sequence[str] | None = None) -> ClipTotals:
    """Totals of `rows` per clip and `group_column`; clip_ids fixes the row order (pairs two runs)."""
    valid = rows.dropna(subset=["value"])
    sums = valid.pivot_table(index="clip_id", columns=group_column, values="value", aggfunc="sum", fill_value=0.0)
    counts = valid.pivot_table(index="clip_id", columns=group_column, values="value", aggfunc="count", fill_value=0)
    order = sorted(rows["clip_id"].unique()) if clip_ids is None else list(clip_ids)
    groups = sorted(rows[group_column].unique())
    sums = sums.reindex(index=order, columns=groups, fill_value=0.0)
    counts = counts.reindex(index=order, columns=groups, fill_value=0)
    return ClipTotals(order, groups, sums.to_numpy(np.float64), counts.to_numpy(np.float64))


def group_means(totals: ClipTotals, index: np.ndarray) -> np.ndarray:
    """Each group's score over the clips index[..., :] (shape index.shape[:-1] + (groups,)); NaN if empty."""
    sums = totals.sums[index].sum(axis=-2)
    counts = totals.counts[index].sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def principle_mean(totals: ClipTotals, index: np.ndarray) -> np.ndarray:
    """The overall score: the mean over principles (equal weight) present in the resampled clips."""
    means = group_means(totals, index)
    present = ~np.isnan(means)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present.any(axis=-1), np.nansum(means, axis=-1) / np.maximum(present.sum(axis=-1), 1), np.nan)


def single_group_score(totals: ClipTotals) -> Callable[[np.ndarray], np.ndarray]:
    """The score of the only group of `totals` over resampled clip indices."""
    return lambda index: group_means(totals, index)[..., 0]


@dataclass(frozen=True)
class Estimate:
    """A score and its bootstrap interval (low/high NaN when under two clips could be resampled)."""

    value: float
    low: float
    high: float

    def text(self) -> str:
        if np.isnan(self.value):
            return results.NOT_AVAILABLE
        if np.isnan(self.low):
            return f"{self.value:.3f}"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def bounds(self) -> tuple[float, float]:
        """The interval, or the point itself when there is none."""
        return (self.value, self.value) if np.isnan(self.low) else (self.low, self.high)


Statistic = Callable[..., np.ndarray]


def bootstrap_estimate(statistic: Statistic, sizes: Sequence[int], seed: int,
                       n_resamples: int = N_RESAMPLES) -> Estimate:
    """statistic(*clip_index_arrays) with a seeded percentile bootstrap resampling each sample's clips
    independently (one sample = one set of clips; pass one sample to pair two runs on the same clips)."""
    samples = tuple(np.arange(size) for size in sizes)
    value = float(statistic(*samples))
    if np.isnan(value) or min(sizes) < 2:
        return Estimate(value, np.nan, np.nan)
    result = stats.bootstrap(samples, lambda *index, axis=-1: statistic(*index), vectorized=True,
                             n_resamples=n_resamples, batch=BOOTSTRAP_BATCH, confidence_level=CONFIDENCE,
                             method=BOOTSTRAP_METHOD, random_state=np.random.default_rng(seed))
    return Estimate(value, float(result.confidence_interval.low), float(result.confidence_interval.high))


# ---------------------------------------------------------------------------------------- one row

@dataclass
class Row:
    """One run's line of the leaderboard."""

    run: Run
    role: str
    clips: int
    failed: int
    overall: dict[str, Estimate]
    gap: Estimate | None
    principles: dict[str, Estimate]
    families: dict[str, Estimate]
    fidelity: dict[str, Estimate]
    consistent: float = float("nan")
    """consistent@k: share of scenarios where none of the k samples raised a failure tag."""
    samples: int = 1
    rank: int = 0
    band: str = ""


def split_rows(rows: pd.DataFrame, split: str) -> pd.DataFrame:
    return rows[rows["split"] == split]


def overall_estimate(rows: pd.DataFrame, seed: int, n_resamples: int) -> Estimate:
    totals = clip_totals(rows, "principle")
    return bootstrap_estimate(lambda index: principle_mean(totals, index), [totals.n_clips], seed, n_resamples)


def gap_estimate(in_rows: pd.DataFrame, out_rows: pd.DataFrame, seed: int, n_resamples: int) -> Estimate:
    """Overall in-distribution minus out-of-distribution score (positive: worse on ood); the two splits are
    different scenarios, so each is resampled on its own."""
    in_totals, out_totals = clip_totals(in_rows, "principle"), clip_totals(out_rows, "principle")
    return bootstrap_estimate(lambda a, b: principle_mean(in_totals, a) - principle_mean(out_totals, b),
                              [in_totals.n_clips, out_totals.n_clips], seed, n_resamples)


def group_estimates(rows: pd.DataFrame, column: str, seed: int, n_resamples: int) -> dict[str, Estimate]:
    """The score of each principle / family / metric, resampling the clips of that group."""
    estimates = {}
    for group, group_rows in rows.groupby(column, sort=True):
        totals = clip_totals(group_rows, column)
        estimates[str(group)] = bootstrap_estimate(single_group_score(totals), [totals.n_clips], seed, n_resamples)
    return estimates


def ranking_split(runs: Sequence[Run]) -> str:
    """'eval' when every run has it, else the first split every run has."""
    shared = set.intersection(*(set(run.scores["split"]) for run in runs))
    if not shared:
        raise RunInputError(f"{runs[0].path} and the other runs share no split; run them on the same suite.splits")
    return PRIMARY_SPLIT if PRIMARY_SPLIT in shared else sorted(shared)[0]


def leaderboard_row(run: Run, primary: str, seed: int, n_resamples: int) -> Row:
    physics, fidelity = physics_rows(run.scores, run.conditioning), fidelity_rows(run.scores, run.conditioning)
    splits = sorted(physics["split"].unique())
    overall = {split: overall_estimate(split_rows(physics, split), seed, n_resamples) for split in splits}
    gap = None
    if primary in splits and "ood" in splits and primary != "ood":
        gap = gap_estimate(split_rows(physics, primary), split_rows(physics, "ood"), seed, n_resamples)
    clips = run.scores.drop_duplicates("clip_id")
    main = split_rows(physics, primary)
    return Row(run=run, role=REFERENCE_ROLES.get(run.generator, ""), clips=len(clips),
               failed=int((clips["status"] != "ok").sum()), overall=overall, gap=gap,
               principles=group_estimates(main, "principle", seed, n_resamples),
               families=group_estimates(main, "family", seed, n_resamples),
               fidelity=group_estimates(split_rows(fidelity, primary), "metric", seed, n_resamples),
               **dict(zip(("consistent", "samples"), consistent_at_k(run))))


def overlaps(a: Estimate, b: Estimate) -> bool:
    (a_low, a_high), (b_low, b_high) = a.bounds(), b.bounds()
    return a_low <= b_high and b_low <= a_high


def assign_ranks(rows: list[Row], primary: str) -> list[Row]:
    """Sort by the overall score of the primary split; a row's band spans every rank whose interval
    overlaps its own, so differences inside the noise are never sold as wins."""
    missing = Estimate(np.nan, np.nan, np.nan)

    def key(row: Row) -> tuple[float, str]:
        value = row.overall.get(primary, missing).value
        return (-value if not np.isnan(value) else np.inf, row.run.label)

    rows = sorted(rows, key=key)
    for position, row in enumerate(rows, start=1):
        row.rank = position
        mine = row.overall.get(primary, missing)
        tied = [other_position for other_position, other in enumerate(rows, start=1)
                if overlaps(mine, other.overall.get(primary, missing))]
        low, high = (min(tied), max(tied)) if tied else (position, position)
        row.band = str(low) if low == high else f"{low}-{high}"
    return rows


# ------------------------------------------------------------------------------------------- output

@dataclass
class Leaderboard:
    rows: list[Row]
    primary: str
    splits: list[str]
    principles: list[str]
    families: list[str]
    fidelity_metrics: list[str]
    suite: dict[str, Any] = field(default_factory=dict)
    conditioning: str = "v2v"
    """The one conditioning mode of every run (build_leaderboard refuses mixed modes)."""


def build_leaderboard(runs: Sequence[Run], seed: int = 0, n_resamples: int = N_RESAMPLES) -> Leaderboard:
    """Check the runs belong together and score each with its intervals, ranked."""
    check_same_suite_version(runs)
    check_same_conditioning(runs)
    check_same_clips(runs)
    primary = ranking_split(runs)
    rows = assign_ranks([leaderboard_row(run, primary, seed, n_resamples) for run in runs], primary)

    def union(attribute: str) -> list[str]:
        return sorted({name for row in rows for name in getattr(row, attribute)})

    return Leaderboard(rows, primary, union("overall"), union("principles"), union("families"), union("fidelity"),
                       runs[0].manifest.get("suite", {}), runs[0].conditioning)


def _cell(estimates: dict[str, Estimate], name: str) -> str:
    return estimates[name].text() if name in estimates else "-"


def main_table(board: Leaderboard) -> tuple[list[str], list[list[str]]]:
    has_gap = any(row.gap for row in board.rows)
    headers = ["rank", "run", "reference", *[f"overall {split}" for split in board.splits]]
    headers += [f"gap {board.primary}-ood"] if has_gap else []
    body = []
    for row in board.rows:
        line = [row.band, row.run.label, row.role, *[_cell(row.overall, split) for split in board.splits]]
        line += [row.gap.text() if row.gap else "-"] if has_gap else []
        body.append(line + [f"{row.consistent:.3f} (k={row.samples})", str(row.clips), str(row.failed)])
    return headers + ["consistent@k", "clips", "failed clips"], body


def group_table(board: Leaderboard, attribute: str, names: list[str]) -> tuple[list[str], list[list[str]]]:
    headers = ["rank", "run", *names]
    body = [[row.band, row.run.label, *[_cell(getattr(row, attribute), name) for name in names]] for row in board.rows]
    return headers, body


def notes(board: Leaderboard) -> list[str]:
    return [
        f"Overall physics score: per split, the mean over physical principles (equal weight) of the mean value of "
        f"every (clip, metric) row of that principle; fidelity metrics never enter it. Rows are sorted by the "
        f"overall {board.primary} score; principle and family columns are on the {board.primary} split.",
        f"Brackets: {CONFIDENCE:.0%} bootstrap confidence intervals (scipy.stats.bootstrap, {BOOTSTRAP_METHOD}, "
        f"resampling scenarios (clips); the overall score recomputes the principle mean on each resample).",
        f"Rank bands: rows whose overall {board.primary} intervals overlap share a band (e.g. 1-2); their "
        f"difference is within the noise of this suite and is not a win.",
        "consistent@k: the share of scenarios where all k samples (`physcheck run samples=k`) raise no failure "
        "tag; a model that gets a scene right once in k tries has not learned the law.",
        "Reference rows: ceiling = the ground truth itself (oracle); floor = static (nothing moves), reverse "
        "(the future played backwards), linear (inertia without gravity or collisions). A model that does "
        "not beat the floors has learned no physics.",
        f"Conditioning {results.conditioning_words(board.conditioning)}: every run here was given the same inputs "
        "(runs of different modes are refused). In t2v the metrics that compare with the ground truth pixel by "
        f"pixel are not applicable ({results.NOT_AVAILABLE}) and the scores come from the reference-free metrics only.",
    ]


def beside_words(board: Leaderboard) -> str:
    """What the 'beside the physics score' table holds in the board's conditioning mode."""
    aligned = results.CONDITIONING.get(board.conditioning, results.CONDITIONING["v2v"]).aligned
    return "Physics-IQ mask metrics, fidelity and reference-free metrics" if aligned else \
        "Physics-IQ mask metrics and fidelity"


def leaderboard_markdown(board: Leaderboard, image_name: str) -> str:
    suite = board.suite
    lines = ["# physcheck leaderboard", "",
             f"suite: {suite.get('name', '?')} (version {suite.get('version', '?')}), conditioning "
             f"{board.conditioning}, {len(board.rows)} runs", "",
             tabulate(*reversed(main_table(board)), tablefmt="pipe"), ""]
    lines += [f"- {note}" for note in notes(board)] + [""]
    lines += [f"## Per physical principle ({board.primary})", "",
              tabulate(*reversed(group_table(board, "principles", board.principles)), tablefmt="pipe"), ""]
    lines += [f"## Per family ({board.primary})", "",
              tabulate(*reversed(group_table(board, "families", board.families)), tablefmt="pipe"), ""]
    if board.fidelity_metrics:
        lines += [f"## Beside the physics score: {beside_words(board)} ({board.primary})", "",
                  tabulate(*reversed(group_table(board, "fidelity", board.fidelity_metrics)), tablefmt="pipe"), ""]
    lines += [f"![per-principle scores]({image_name})", ""]
    return "\n".join(lines)


def _estimate_columns(prefix: str, estimate: Estimate | None) -> dict[str, float]:
    estimate = estimate or Estimate(np.nan, np.nan, np.nan)
    return {prefix: estimate.value, f"{prefix} low": estimate.low, f"{prefix} high": estimate.high}


def leaderboard_frame(board: Leaderboard) -> pd.DataFrame:
    """Every number of the leaderboard, one row per run (the CSV)."""
    records = []
    for row in board.rows:
        record: dict[str, Any] = {"rank": row.rank, "rank band": row.band, "run_id": row.run.run_id,
                                  "generator": row.run.generator, "reference": row.role, "path": str(row.run.path)}
        for split in board.splits:
            record |= _estimate_columns(f"overall {split}", row.overall.get(split))
        record |= _estimate_columns(f"gap {board.primary}-ood", row.gap)
        for kind, names, estimates in (("principle", board.principles, row.principles),
                                       ("family", board.families, row.families),
                                       ("fidelity", board.fidelity_metrics, row.fidelity)):
            for name in names:
                record |= _estimate_columns(f"{kind} {name}", estimates.get(name))
        records.append(record | {"consistent@k": row.consistent, "k": row.samples, "clips": row.clips,
                                 "failed clips": row.failed})
    return pd.DataFrame(records)


def principle_plot_png(board: Leaderboard) -> bytes:
    """Grouped bars: the overall score and each principle's, one bar per run, with interval error bars."""
    from matplotlib.figure import Figure  # Agg canvas, no pyplot global state

    groups = ["overall", *board.principles]
    width = 0.8 / max(len(board.rows), 1)
    figure = Figure(figsize=(max(6.0, 1.1 * len(groups) + 2), 4.2), dpi=100)
    axes = figure.add_subplot()
    for position, row in enumerate(board.rows):
        estimates = [row.overall.get(board.primary)] + [row.principles.get(name) for name in board.principles]
        estimates = [estimate or Estimate(np.nan, np.nan, np.nan) for estimate in estimates]
        values = np.array([estimate.value for estimate in estimates])
        lows, highs = np.array([estimate.bounds() for estimate in estimates]).T
        errors = np.clip(np.vstack([values - lows, highs - values]), 0, None)
        offsets = np.arange(len(groups)) + (position - (len(board.rows) - 1) / 2) * width
        axes.bar(offsets, values, width, yerr=np.nan_to_num(errors), capsize=2, label=row.run.label,
                 hatch="//" if row.role else None, edgecolor="black", linewidth=0.4)
    axes.set_xticks(np.arange(len(groups)), groups, rotation=30, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel(f"score ({board.primary}; 1 = physically right)")
    axes.set_title(f"Per-principle scores with {CONFIDENCE:.0%} bootstrap intervals (hatched: reference rows)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


HTML_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
              "margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
              "td:nth-child(2),th:nth-child(2){text-align:left}img{max-width:100%}li{margin:.3em 0}")


def gallery_links(board: Leaderboard, out: Path | None) -> list[str]:
    """Links to each run's failure gallery (`physcheck gallery RUN_DIR` writes RUN_DIR/gallery/index.html),
    relative to the page's folder so the site works from file://; runs without one are named with the command."""
    import os
    from html import escape

    items = []
    for row in board.rows:
        page = row.run.path / "gallery" / "index.html"
        if page.is_file():
            target = os.path.relpath(page.resolve(), (out or Path.cwd()).resolve())
            items.append(f"<li><a href='{escape(target)}'>{escape(row.run.label)}: failure gallery</a></li>")
        else:
            items.append(f"<li>{escape(row.run.label)}: no gallery yet (<code>physcheck gallery "
                         f"{escape(str(row.run.path))}</code>)</li>")
    return ["<h2>Failure galleries</h2>", "<ul>" + "".join(items) + "</ul>"]


def leaderboard_html(board: Leaderboard, png: bytes, out: Path | None = None) -> str:
    """One self-contained page: the tables, the notes and the plot inlined as base64; links to galleries."""
    from html import escape

    suite = board.suite
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>physcheck leaderboard</title>"
             f"<style>{HTML_STYLE}</style></head><body><h1>physcheck leaderboard</h1>",
             f"<p>suite: {escape(str(suite.get('name', '?')))} (version {escape(str(suite.get('version', '?')))}),"
             f" conditioning {escape(board.conditioning)}, {len(board.rows)} runs</p>",
             tabulate(*reversed(main_table(board)), tablefmt="html"),
             "<ul>" + "".join(f"<li>{escape(note)}</li>" for note in notes(board)) + "</ul>",
             f"<img alt='per-principle scores' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
             *gallery_links(board, out),
             f"<h2>Per physical principle ({board.primary})</h2>",
             tabulate(*reversed(group_table(board, "principles", board.principles)), tablefmt="html"),
             f"<h2>Per family ({board.primary})</h2>",
             tabulate(*reversed(group_table(board, "families", board.families)), tablefmt="html")]
    if board.fidelity_metrics:
        parts += [f"<h2>Beside the physics score: {escape(beside_words(board))}</h2>",
                  tabulate(*reversed(group_table(board, "fidelity", board.fidelity_metrics)), tablefmt="html")]
    return "\n".join(parts + ["</body></html>", ""])


def write_leaderboard(board: Leaderboard, out: Path) -> str:
    """Write leaderboard.md/.csv/.html/.png into out (atomically); return the markdown."""
    png = principle_plot_png(board)
    markdown = leaderboard_markdown(board, "leaderboard.png")
    write_atomic(out / "leaderboard.png", png)
    write_atomic(out / "leaderboard.md", markdown.encode())
    write_atomic(out / "leaderboard.csv", leaderboard_frame(board).to_csv(index=False, lineterminator="\n").encode())
    write_atomic(out / "leaderboard.html", leaderboard_html(board, png, out).encode())
    return markdown


def parser() -> OneLineParser:
    cli = OneLineParser(prog="physcheck leaderboard",
                        description="Rank runs by the overall physics score with bootstrap intervals.")
    cli.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders written by `physcheck run`")
    cli.add_argument("--out", default="leaderboard", help="output folder (default: ./leaderboard)")
    cli.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    cli.add_argument("--resamples", type=int, default=N_RESAMPLES, help=f"bootstrap resamples (default {N_RESAMPLES})")
    return cli


def leaderboard(argv: Sequence[str]) -> int:
    """`physcheck leaderboard RUN_DIR... [--out DIR]`: write the leaderboard; 0 on success."""
    args = parser().parse_args(list(argv))
    if args.resamples < 100:
        raise RunInputError(f"--resamples must be at least 100, got {args.resamples}")
    board = build_leaderboard(load_runs(args.runs), seed=args.seed, n_resamples=args.resamples)
    print(write_leaderboard(board, Path(args.out)))
    print(f"Leaderboard in {args.out}/ (leaderboard.md, leaderboard.csv, leaderboard.html)")
    return 0


def exit_with(command: str, work: Callable[[], int]) -> NoReturn:
    """Exit with work()'s code; a RunInputError becomes one line on stderr and exit code 2."""
    try:
        code = work()
    except RunInputError as error:
        sys.stderr.write(f"physcheck {command}: {error}\n")
        sys.exit(2)
    sys.exit(code)


def main(argv: Sequence[str]) -> NoReturn:
    exit_with("leaderboard", lambda: leaderboard(argv))
