"""`physcheck meta-eval`: evidence that every metric catches its failure and passes the truth.

Every clip of the suite is scored clean and under every corruption (generators/corruptions.py)
at several severities. The table reports, for each harmful corruption and each metric, the
AUROC of telling corrupted from clean clips at the moderate severity (the metric's own
corruptions are those whose expected tag it raises); for each tag its recall on its own
corruption and its false-positive rate on clean clips and on each harmless corruption; and the
mean per-clip Spearman correlation between severity and the metric's loss (1 - score).
A harmful corruption that changes no object's observed state on a clip (freezing a scene that
has come to rest, painting out an object that has left the frame) is no physics failure there:
such a (clip, corruption, severity) is skipped, and the table counts only the clips it applies to.
Observed state: which objects are detected in each frame, their centroids (beyond 1 px), their
areas and second moments (beyond 5%) and the number of unmatched blobs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from generators.corruptions import CORRUPTIONS
from metrics import DEFAULT_METRICS, METRICS, Observation, observe, score
from simulators import GroundTruthCache, cache_dir

from .config import SuiteConfig
from .results import write_atomic
from .run import ConfigError, specs_from_suite

TARGETS = {"auroc": 0.95, "recall": 0.9, "fp_clean": 0.02, "fp_harmless": 0.05, "spearman": 0.9}
MODERATE = 0.5


@dataclass
class MetaEvalConfig:
    suite: SuiteConfig = field(default_factory=SuiteConfig)
    corruptions: list[str] = field(default_factory=lambda: CORRUPTIONS.names())
    severities: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0])
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    out: str = "meta_eval"
    cache_dir: str = ""


def collect(cfg: MetaEvalConfig, progress: bool = True) -> pd.DataFrame:
    """One row per (clip, corruption, severity) with each metric's value and the tags raised."""
    for name in cfg.corruptions:
        if name not in CORRUPTIONS:
            raise ConfigError(f"Unknown corruption {name!r}. Available: {', '.join(CORRUPTIONS.names())}")
    for name in cfg.metrics:
        if name not in METRICS:
            raise ConfigError(f"Unknown metric {name!r}. Available: {', '.join(METRICS.names())}")
    if MODERATE not in cfg.severities:
        raise ConfigError(f"severities must include the moderate severity {MODERATE}")
    cache = GroundTruthCache(cache_dir(cfg.cache_dir))
    rows = []
    specs = specs_from_suite(cfg.suite)
    for spec in tqdm(specs, desc="meta-eval", unit="clip", disable=not progress):
        clip = cache.get(spec)
        clean = observe(clip.video, clip)
        cases = [("clean", 0.0, clean)]
        for name in cfg.corruptions:
            for severity in cfg.severities:
                observation = observe(CORRUPTIONS.get(name).fn(clip, severity), clip)
                if not CORRUPTIONS.get(name).harmful or changes_objects(clean, observation):
                    cases.append((name, severity, observation))
        for name, severity, observation in cases:
            scores, events = score(clip, observation, cfg.metrics)
            rows.append({"clip_id": clip.clip_id, "family": spec.family, "corruption": name, "severity": severity,
                         **{score.metric: score.value for score in scores},
                         "tags": sorted({event.tag for event in events})})
    return pd.DataFrame(rows)


def changes_objects(clean: Observation, corrupted: Observation, tolerance_px: float = 1.0) -> bool:
    """True when the corrupted video's objects differ from the clean one's: detections, centroids, blobs."""
    if not np.array_equal(clean.detected, corrupted.detected):
        return True
    both = clean.detected & corrupted.detected
    moved = np.hypot(clean.u - corrupted.u, clean.v - corrupted.v)[both]
    if moved.size and moved.max() > tolerance_px:
        return True
    return len(clean.blobs) != len(corrupted.blobs) or changes_shapes(clean, corrupted)


def changes_shapes(clean: Observation, corrupted: Observation, tolerance: float = 0.05) -> bool:
    """An object's area or second moments change by more than `tolerance` (relative): a squashed or
    bent object keeps its centroid."""
    both = clean.detected & corrupted.detected
    if not both.any():
        return False
    area = np.abs(corrupted.area / clean.area - 1)[both]
    moments = (np.abs(corrupted.covariance - clean.covariance).sum(-1) / np.abs(clean.covariance).sum(-1))[both]
    return bool(max(area.max(), np.nanmax(moments)) > tolerance)


def auroc(clean: np.ndarray, corrupted: np.ndarray) -> float:
    """P(a clean clip scores higher than a corrupted one), ties counting half (Mann-Whitney U / n1 n2)."""
    clean, corrupted = clean[~np.isnan(clean)], corrupted[~np.isnan(corrupted)]
    if len(clean) == 0 or len(corrupted) == 0:
        return float("nan")
    statistic = stats.mannwhitneyu(clean, corrupted, alternative="greater").statistic
    return float(statistic / (len(clean) * len(corrupted)))


def severity_correlation(rows: pd.DataFrame, metric: str) -> float:
    """Mean over clips of Spearman's rho between severity (0 = clean) and 1 - score; clips whose score
    never changes are left out."""
    rhos = []
    for _, clip_rows in rows.groupby("clip_id"):
        losses = 1.0 - clip_rows[metric].to_numpy()
        if len(clip_rows) >= 3 and np.nanstd(losses) > 0:
            rhos.append(stats.spearmanr(clip_rows["severity"], losses, nan_policy="omit").statistic)
    return float(np.mean(rhos)) if rhos else float("nan")


def tag_rate(rows: pd.DataFrame, tag: str) -> float:
    """Share of rows whose raised tags include `tag` (NaN for no rows)."""
    return float(np.mean([tag in raised for raised in rows["tags"]])) if len(rows) else float("nan")


def tables(rows: pd.DataFrame, metric_names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metric table: one row per harmful corruption and metric; tag table: one row per tag)."""
    clean = rows[rows["corruption"] == "clean"]
    metric_rows, tag_rows = [], []
    harmful = [name for name in rows["corruption"].unique() if name != "clean" and CORRUPTIONS.get(name).harmful]
    for name in harmful:
        corruption = CORRUPTIONS.get(name)
        moderate = rows[(rows["corruption"] == name) & (rows["severity"] == MODERATE)]
        clip_ids = set(rows.loc[rows["corruption"] == name, "clip_id"])
        ladder = pd.concat([clean[clean["clip_id"].isin(clip_ids)], rows[rows["corruption"] == name]])
        for metric in metric_names:
            own = bool(set(corruption.expected_tags) & set(METRICS.get(metric).tags))
            value = auroc(clean[metric].to_numpy(), moderate[metric].to_numpy())
            rho = severity_correlation(ladder, metric)
            metric_rows.append({
                "corruption": name, "metric": metric, "own": own, "clips": len(moderate), "auroc": value,
                "spearman": rho,
                "meets_targets": bool(value >= TARGETS["auroc"] and rho >= TARGETS["spearman"]) if own else None,
            })
    harmless = [name for name in rows["corruption"].unique() if name != "clean" and not CORRUPTIONS.get(name).harmful]
    tags = sorted({tag for name in harmful for tag in CORRUPTIONS.get(name).expected_tags}
                  | {tag for metric in metric_names for tag in METRICS.get(metric).tags})
    for tag in tags:
        own = [name for name in harmful if tag in CORRUPTIONS.get(name).expected_tags]
        moderate = rows[rows["corruption"].isin(own) & (rows["severity"] == MODERATE)]
        recall = tag_rate(moderate, tag)
        row = {"tag": tag, "own corruptions": ", ".join(own) or "none (false positives only)", "recall": recall,
               "fp clean": tag_rate(clean, tag)}
        for name in harmless:
            row[f"fp {name}"] = tag_rate(rows[rows["corruption"] == name], tag)
        fps = [value for key, value in row.items() if key.startswith("fp ") and key != "fp clean"]
        row["meets_targets"] = bool((not own or recall >= TARGETS["recall"]) and row["fp clean"] <= TARGETS["fp_clean"]
                                    and all(value <= TARGETS["fp_harmless"] for value in fps))
        tag_rows.append(row)
    return pd.DataFrame(metric_rows), pd.DataFrame(tag_rows)


def false_positives_by_family(rows: pd.DataFrame) -> pd.DataFrame:
    """Share of clips of each family raising any failure tag, clean and under each harmless corruption."""
    harmless = rows[rows["corruption"].map(lambda name: name == "clean" or not CORRUPTIONS.get(name).harmful)]
    raised = harmless.assign(any_tag=harmless["tags"].map(bool))
    return raised.pivot_table(index="family", columns="corruption", values="any_tag", aggfunc="mean")


def markdown(metric_table: pd.DataFrame, tag_table: pd.DataFrame, cfg: MetaEvalConfig, n_clips: int,
             by_family: pd.DataFrame | None = None) -> str:
    return "\n".join([
        "# Meta-evaluation", "",
        f"Suite {cfg.suite.name}: {n_clips} clips ({', '.join(cfg.suite.families)}; splits {', '.join(cfg.suite.splits)}), "
        f"severities {cfg.severities}, moderate = {MODERATE}.",
        f"Targets: AUROC >= {TARGETS['auroc']} and Spearman >= {TARGETS['spearman']} for a metric on its own "
        f"corruptions; recall >= {TARGETS['recall']}, false positives <= {TARGETS['fp_clean']:.0%} on clean clips "
        f"and <= {TARGETS['fp_harmless']:.0%} on each harmless corruption. Rows that miss a target say so.", "",
        "## Each metric on its own corruptions", "",
        "A metric's own corruptions are those whose expected tag it raises.", "",
        metric_table[metric_table["own"]].drop(columns="own").round(3).to_markdown(index=False), "",
        "## AUROC of every metric against every harmful corruption (moderate severity)", "",
        "Off the diagonal of ownership a metric may well be blind (0.5): each principle has its own metric.", "",
        metric_table.pivot(index="corruption", columns="metric", values="auroc")
        .reindex(columns=list(dict.fromkeys(metric_table["metric"]))).round(2).to_markdown(), "",
        "## Failure tags", "",
        tag_table.round(3).to_markdown(index=False), "",
        *(["## False positives by family (share of clips raising any tag)", "",
           by_family.round(3).to_markdown(), ""] if by_family is not None else []),
    ])


def meta_eval(cfg: MetaEvalConfig, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = collect(cfg, progress)
    metric_table, tag_table = tables(rows, list(cfg.metrics))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    rows.assign(tags=rows["tags"].apply(json.dumps)).to_parquet(out / "meta_eval_rows.parquet", index=False)
    text = markdown(metric_table, tag_table, cfg, rows["clip_id"].nunique(), false_positives_by_family(rows))
    write_atomic(out / "meta_eval.md", text.encode())
    print(text)
    print(f"Written to {out}")
    return metric_table, tag_table
