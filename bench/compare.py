"""`physcheck compare BASELINE_RUN CANDIDATE_RUN`: a paired regression check between two runs.

Every clip is scored by both runs, so each test pairs the clips: per metric, family, principle and the
overall score per split it reports the mean difference (candidate - baseline), a paired Wilcoxon
signed-rank test on the per-clip differences (`scipy.stats.wilcoxon`), a percentile bootstrap interval
of the mean difference resampling clips (`scipy.stats.bootstrap`, both runs resampled with the same
clips), and Holm's step-down correction across all the tests. Exit code 0 when no principle score and
no overall score dropped significantly by at least the threshold, 1 when one did, 2 on bad input.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from scipy import stats
from tabulate import tabulate

from .leaderboard import (
    BOOTSTRAP_METHOD,
    CONFIDENCE,
    N_RESAMPLES,
    ClipTotals,
    OneLineParser,
    Run,
    RunInputError,
    bootstrap_estimate,
    check_same_clips,
    check_same_conditioning,
    check_same_suite_version,
    clip_totals,
    exit_with,
    is_fidelity,
    load_run,
    principle_mean,
    single_group_score,
)
from .results import write_atomic

DEFAULT_THRESHOLD = 0.02
DEFAULT_ALPHA = 0.05
GATED_KINDS = ("overall", "principle")
"""Tests whose significant drop of at least the threshold fails the check (exit code 1)."""
WORST_CLIPS = 10
ALL_SPLITS = "all"


@dataclass
class PairedTest:
    """One paired comparison. delta: candidate - baseline with its bootstrap interval."""

    kind: str
    name: str
    split: str
    clips: int
    baseline: float
    candidate: float
    delta: float
    delta_low: float
    delta_high: float
    wilcoxon_statistic: float
    p_value: float
    p_holm: float = math.nan
    verdict: str = ""
    fails_check: bool = False


# ------------------------------------------------------------------------------------------ pairing

def check_comparable(baseline: Run, candidate: Run) -> None:
    """Refuse two runs that cannot be paired clip by clip, naming what differs."""
    check_same_suite_version([baseline, candidate])
    check_same_conditioning([baseline, candidate])
    check_same_clips([baseline, candidate])
    base_suite, cand_suite = baseline.manifest.get("suite", {}), candidate.manifest.get("suite", {})
    if base_suite.get("hash") != cand_suite.get("hash"):
        raise RunInputError(f"{candidate.path} and {baseline.path} ran the same clips with different settings "
                            f"(timing {candidate.manifest.get('timing')} vs {baseline.manifest.get('timing')}); "
                            f"rerun with the same suite options")
    base_metrics, cand_metrics = set(baseline.scores["metric"]), set(candidate.scores["metric"])
    if base_metrics != cand_metrics:
        raise RunInputError(f"{candidate.path} scored metrics {', '.join(sorted(cand_metrics))} but {baseline.path} "
                            f"scored {', '.join(sorted(base_metrics))}; rerun both with the same metrics=[...]")


def paired_totals(baseline: pd.DataFrame, candidate: pd.DataFrame, column: str) -> tuple[ClipTotals, ClipTotals]:
    """Totals of both runs over the same clips in the same order."""
    clip_ids = sorted(set(baseline["clip_id"]) | set(candidate["clip_id"]))
    base, cand = clip_totals(baseline, column, clip_ids), clip_totals(candidate, column, clip_ids)
    groups = sorted(set(base.groups) | set(cand.groups))
    return align_groups(base, groups), align_groups(cand, groups)


def align_groups(totals: ClipTotals, groups: list[str]) -> ClipTotals:
    """The same totals with one column per name in groups (zeros where totals had none)."""
    sums, counts = np.zeros((totals.n_clips, len(groups))), np.zeros((totals.n_clips, len(groups)))
    for column, group in enumerate(totals.groups):
        sums[:, groups.index(group)], counts[:, groups.index(group)] = totals.sums[:, column], totals.counts[:, column]
    return ClipTotals(totals.clip_ids, groups, sums, counts)


def clip_scores(totals: ClipTotals) -> np.ndarray:
    """Each clip's score: the mean of its (non-NaN) metric values; NaN when it has none."""
    counts = totals.counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, totals.sums.sum(axis=1) / np.maximum(counts, 1), np.nan)


# ------------------------------------------------------------------------------------------ testing

def wilcoxon_test(differences: np.ndarray) -> tuple[float, float]:
    """Paired Wilcoxon signed-rank test (zeros dropped); no non-zero difference means no evidence: p = 1."""
    differences = differences[~np.isnan(differences)]
    if not np.any(differences != 0):
        return 0.0, 1.0
    result = stats.wilcoxon(differences, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: sorted ascending, p_(i) * (m - i), made monotone, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (len(p) - np.arange(len(p)))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def paired_test(kind: str, name: str, split: str, base: ClipTotals, cand: ClipTotals, seed: int,
                n_resamples: int) -> PairedTest:
    """Mean difference, its paired bootstrap interval and the Wilcoxon test for one set of paired clips."""
    if kind == "overall":
        base_score, cand_score = partial(principle_mean, base), partial(principle_mean, cand)
    else:
        base_score, cand_score = single_group_score(base), single_group_score(cand)
    delta = bootstrap_estimate(lambda index: cand_score(index) - base_score(index), [base.n_clips], seed, n_resamples)
    everything = np.arange(base.n_clips)
    statistic, p_value = wilcoxon_test(clip_scores(cand) - clip_scores(base))
    return PairedTest(kind, name, split, base.n_clips, float(base_score(everything)), float(cand_score(everything)),
                      delta.value, delta.low, delta.high, statistic, p_value)


def all_tests(baseline: Run, candidate: Run, seed: int, n_resamples: int) -> list[PairedTest]:
    """Overall (per split), each principle, family and metric (over all splits)."""
    base_rows, cand_rows = baseline.scores, candidate.scores
    base_physics = base_rows[~is_fidelity(base_rows["metric"], baseline.conditioning)]
    cand_physics = cand_rows[~is_fidelity(cand_rows["metric"], candidate.conditioning)]
    tests = []
    for split in sorted(base_physics["split"].unique()):
        base, cand = paired_totals(base_physics[base_physics["split"] == split],
                                   cand_physics[cand_physics["split"] == split], "principle")
        tests.append(paired_test("overall", "overall", split, base, cand, seed, n_resamples))
    for kind, column, base_frame, cand_frame in (("principle", "principle", base_physics, cand_physics),
                                                  ("family", "family", base_physics, cand_physics),
                                                  ("metric", "metric", base_rows, cand_rows)):
        for name in sorted(base_frame[column].unique()):
            base, cand = paired_totals(base_frame[base_frame[column] == name], cand_frame[cand_frame[column] == name],
                                       column)
            tests.append(paired_test(kind, str(name), ALL_SPLITS, base, cand, seed, n_resamples))
    return tests


def judge(tests: list[PairedTest], alpha: float, threshold: float) -> list[PairedTest]:
    """Holm-correct every p-value, then call each test improved / regressed / unchanged and flag the
    principle and overall drops that fail the check."""
    for test, adjusted in zip(tests, holm([test.p_value for test in tests])):
        test.p_holm = float(adjusted)
        significant = test.p_holm < alpha and test.delta != 0
        test.verdict = ("improved" if test.delta > 0 else "regressed") if significant else "unchanged"
        test.fails_check = (test.verdict == "regressed" and test.kind in GATED_KINDS
                            and test.delta <= -threshold)
    return tests


# ------------------------------------------------------------------------------------ clips and tags

def worst_clips(baseline: Run, candidate: Run, limit: int = WORST_CLIPS) -> pd.DataFrame:
    """The clips whose score (mean of its physics metrics) dropped most, with the candidate's tags."""
    def per_clip(run: Run) -> pd.Series:
        rows = run.scores[~is_fidelity(run.scores["metric"], run.conditioning)]
        return rows.groupby("clip_id")["value"].mean()

    table = pd.DataFrame({"baseline": per_clip(baseline), "candidate": per_clip(candidate)})
    table["change"] = table["candidate"] - table["baseline"]
    table = table[table["change"] < 0].reset_index().sort_values(["change", "clip_id"]).head(limit)
    tags = candidate.failures.groupby("clip_id")["tag"].agg(lambda values: ", ".join(sorted(set(values))))
    table["candidate tags"] = [tags.get(clip, "") for clip in table["clip_id"]]
    return table.reset_index(drop=True)


def tag_changes(baseline: Run, candidate: Run) -> pd.DataFrame:
    """Per failure tag: clips with it in each run, and the clips it appeared on or disappeared from."""
    def pairs(run: Run) -> set[tuple[str, str]]:
        return set(zip(run.failures["tag"], run.failures["clip_id"]))

    base, cand = pairs(baseline), pairs(candidate)
    rows = []
    for tag in sorted({tag for tag, _ in base | cand}):
        base_clips = {clip for name, clip in base if name == tag}
        cand_clips = {clip for name, clip in cand if name == tag}
        rows.append({"tag": tag, "baseline clips": len(base_clips), "candidate clips": len(cand_clips),
                     "appeared on": len(cand_clips - base_clips), "disappeared from": len(base_clips - cand_clips)})
    return pd.DataFrame(rows, columns=["tag", "baseline clips", "candidate clips", "appeared on", "disappeared from"])


# ------------------------------------------------------------------------------------------- report

@dataclass
class Comparison:
    baseline: Run
    candidate: Run
    tests: list[PairedTest]
    worst: pd.DataFrame
    tags: pd.DataFrame
    alpha: float
    threshold: float

    @property
    def failed(self) -> list[PairedTest]:
        return [test for test in self.tests if test.fails_check]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def compare_runs(baseline: Run, candidate: Run, alpha: float = DEFAULT_ALPHA, threshold: float = DEFAULT_THRESHOLD,
                 seed: int = 0, n_resamples: int = N_RESAMPLES) -> Comparison:
    check_comparable(baseline, candidate)
    tests = judge(all_tests(baseline, candidate, seed, n_resamples), alpha, threshold)
    return Comparison(baseline, candidate, tests, worst_clips(baseline, candidate), tag_changes(baseline, candidate),
                      alpha, threshold)


def _describe(test: PairedTest) -> str:
    name = f"overall ({test.split})" if test.kind == "overall" else f"{test.kind} {test.name}"
    return f"{name} {test.delta:+.3f} (p_holm {test.p_holm:.2g})"


def _listing(tests: list[PairedTest], limit: int = 5) -> str:
    """Overall scores first, then the largest changes, at most `limit` of them."""
    ordered = sorted(tests, key=lambda test: (test.kind != "overall", -abs(test.delta)))
    more = f"; and {len(ordered) - limit} more" if len(ordered) > limit else ""
    return "; ".join(_describe(test) for test in ordered[:limit]) + more


def headline(comparison: Comparison) -> str:
    """One line a CI reader acts on."""
    if comparison.failed:
        return (f"**REGRESSED**: {len(comparison.failed)} score(s) dropped significantly by at least "
                f"{comparison.threshold}: " + _listing(comparison.failed))
    regressed = [test for test in comparison.tests if test.verdict == "regressed"]
    improved = [test for test in comparison.tests if test.verdict == "improved"]
    line = f"**OK**: no principle or overall score dropped significantly by {comparison.threshold} or more."
    if regressed:
        line += " Smaller or family/metric-level drops: " + _listing(regressed) + "."
    if improved:
        line += " Improved: " + _listing(improved) + "."
    if not regressed and not improved:
        line += " Nothing changed significantly."
    return line


def _number(value: float, digits: int = 3) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def tests_table(comparison: Comparison) -> str:
    rows = []
    for test in comparison.tests:
        interval = f" [{_number(test.delta_low)}, {_number(test.delta_high)}]" if not np.isnan(test.delta_low) else ""
        verdict = f"**{test.verdict}**" if test.fails_check else test.verdict
        rows.append([test.kind, test.name, test.split, test.clips, _number(test.baseline), _number(test.candidate),
                     f"{test.delta:+.3f}{interval}", f"{test.p_value:.2g}", f"{test.p_holm:.2g}", verdict])
    headers = ["kind", "name", "split", "clips", "baseline", "candidate", f"change [{CONFIDENCE:.0%} CI]",
               "p (Wilcoxon)", "p (Holm)", "verdict"]
    return tabulate(rows, headers, tablefmt="pipe", disable_numparse=True)


def compare_markdown(comparison: Comparison) -> str:
    base, cand = comparison.baseline, comparison.candidate
    lines = [f"# physcheck compare: {cand.label} vs baseline {base.label}", "", headline(comparison), "",
             f"suite version {base.suite_version}, conditioning {base.conditioning}, {len(base.clip_ids)} paired "
             f"clips. Change = candidate - baseline "
             f"(1 = physically right). Paired Wilcoxon signed-rank test per row, Holm-corrected across all "
             f"{len(comparison.tests)} tests at alpha {comparison.alpha}; {CONFIDENCE:.0%} bootstrap interval "
             f"({BOOTSTRAP_METHOD}, resampling clips); **bold**: a principle or overall drop of at least "
             f"{comparison.threshold} that fails the check. Fidelity metrics appear as metric rows only.", "",
             tests_table(comparison), "", f"## Clips that got worst (up to {WORST_CLIPS})", ""]
    if comparison.worst.empty:
        lines.append("No clip scored lower than in the baseline.")
    else:
        lines.append(tabulate(comparison.worst, headers="keys", tablefmt="pipe", showindex=False, floatfmt=".3f"))
    lines += ["", "## Failure tags (clips with each tag)", ""]
    if comparison.tags.empty:
        lines.append("No failure tags in either run.")
    else:
        lines.append(tabulate(comparison.tags, headers="keys", tablefmt="pipe", showindex=False))
    return "\n".join(lines) + "\n"


def _json_ready(value: Any) -> Any:
    """NaN becomes null; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def compare_json(comparison: Comparison) -> str:
    def run_info(run: Run) -> dict[str, Any]:
        return {"run_id": run.run_id, "generator": run.generator, "path": str(run.path),
                "suite_version": run.suite_version, "conditioning": run.conditioning}

    payload = {
        "verdict": "regressed" if comparison.failed else "ok", "exit_code": comparison.exit_code,
        "baseline": run_info(comparison.baseline), "candidate": run_info(comparison.candidate),
        "alpha": comparison.alpha, "threshold": comparison.threshold, "gated_kinds": list(GATED_KINDS),
        "bootstrap": {"method": BOOTSTRAP_METHOD, "confidence": CONFIDENCE},
        "tests": [asdict(test) for test in comparison.tests],
        "worst_clips": comparison.worst.to_dict(orient="records"),
        "tags": comparison.tags.to_dict(orient="records"),
    }
    return json.dumps(_json_ready(payload), indent=1, sort_keys=True) + "\n"


def parser() -> OneLineParser:
    cli = OneLineParser(prog="physcheck compare",
                        description="Paired regression check of CANDIDATE_RUN against BASELINE_RUN (exit 1 on a "
                                    "significant drop).")
    cli.add_argument("baseline", metavar="BASELINE_RUN", help="run folder of the reference model")
    cli.add_argument("candidate", metavar="CANDIDATE_RUN", help="run folder of the model under test")
    cli.add_argument("--out", default="compare", help="output folder for compare.md/.json (default: ./compare)")
    cli.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                     help=f"smallest drop of a principle or overall score that fails (default {DEFAULT_THRESHOLD})")
    cli.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                     help=f"significance level after Holm correction (default {DEFAULT_ALPHA})")
    cli.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    cli.add_argument("--resamples", type=int, default=N_RESAMPLES, help=f"bootstrap resamples (default {N_RESAMPLES})")
    return cli


def compare(argv: Sequence[str]) -> int:
    """`physcheck compare BASELINE_RUN CANDIDATE_RUN`: 0 no regression, 1 regression (2: bad input, raised)."""
    args = parser().parse_args(list(argv))
    if not 0 < args.alpha < 1:
        raise RunInputError(f"--alpha must lie between 0 and 1, got {args.alpha}")
    if args.threshold < 0:
        raise RunInputError(f"--threshold must be 0 or more, got {args.threshold}")
    if args.resamples < 100:
        raise RunInputError(f"--resamples must be at least 100, got {args.resamples}")
    baseline, candidate = load_run(args.baseline), load_run(args.candidate)  # the same run twice is allowed
    comparison = compare_runs(baseline, candidate, args.alpha, args.threshold, args.seed, args.resamples)
    markdown = compare_markdown(comparison)
    out = Path(args.out)
    write_atomic(out / "compare.md", markdown.encode())
    write_atomic(out / "compare.json", compare_json(comparison).encode())
    print(markdown)
    print(f"Comparison in {out}/ (compare.md, compare.json); exit code {comparison.exit_code}")
    return comparison.exit_code


def main(argv: Sequence[str]) -> NoReturn:
    exit_with("compare", lambda: compare(argv))
