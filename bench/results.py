"""Run folders: per-clip records written atomically, then scores/failures parquet and summary.md."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from generators.base import CONDITIONING
from metrics import METRICS, PHYSICS_METRICS, FailureEvent, MetricScore

SCORE_COLUMNS = ["clip_id", "sample", "family", "principle", "split", "seed", "metric", "value", "raw", "unit", "status", "reason"]
"""principle: the physical principle the clip's family tests (gravity, momentum, ...)."""
FAILURE_COLUMNS = ["clip_id", "sample", "family", "principle", "split", "seed", "tag", "frame", "object", "severity", "message"]


@dataclass
class ClipRecord:
    """Everything a run learned about one clip. status: ok, or the tag that made the clip fail."""

    clip_id: str
    spec_hash: str
    family: str
    principle: str
    split: str
    seed: int
    status: str
    scores: list[MetricScore] = field(default_factory=list)
    events: list[FailureEvent] = field(default_factory=list)
    sample: int = 0
    """Which of the run's samples of this scenario (0 .. samples-1; seed = run seed + sample)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> ClipRecord:
        data = json.loads(text)
        data["scores"] = [MetricScore(**row) for row in data["scores"]]
        data["events"] = [FailureEvent(**row) for row in data["events"]]
        return cls(**data)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(handle, 0o666 & ~umask)  # mkstemp's 0600 would hide results from the rest of a shared server
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


STAGING_GLOBS = (".*.json.*", ".*.parquet.*", ".*.md.*", ".*.mp4.*")
"""Temporary files of the run folder's writes (write_atomic, write_mp4: a dot, the file's name, a random
suffix): one is left only where a process died between writing it and renaming it into place."""


class RunFolderBusy(RuntimeError):
    """Another process holds the run folder's lock."""


class RunFolder:
    """runs/<run_id>/: manifest.json, clips/<spec_hash>.json, scores.parquet, failures.parquet, summary.md, videos/."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.clips = self.path / "clips"
        self.videos = self.path / "videos"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the folder (fcntl.flock on .lock) while a run writes to it. The kernel
        drops the lock when its process dies, so a killed run's lock is never stale. RunFolderBusy when
        another live process holds it."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                owner = handle.read().strip() or "another process"
                raise RunFolderBusy(f"{self.path} is being written by another physcheck run ({owner}); wait for it, "
                                    f"or pick another run_id=") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
            handle.flush()
            self.remove_staging()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def remove_staging(self) -> list[Path]:
        """Delete the temporary files of writes a crash cut short (STAGING_GLOBS); call it holding the lock,
        when no writer is alive. Returns what it deleted."""
        stale = sorted({path for pattern in STAGING_GLOBS for path in self.path.rglob(pattern) if path.is_file()})
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def record_path(self, key: str) -> Path:
        """key: the spec hash, with '.s<sample>' for samples after the first (bench.executor.Sample.key)."""
        return self.clips / f"{key}.json"

    def video_path(self, name: str) -> Path:
        """name: the clip id, with '.s<sample>' for samples after the first."""
        return self.videos / f"{name}.mp4"

    def has_record(self, key: str) -> bool:
        return self.record_path(key).exists()

    def write_record(self, record: ClipRecord, key: str | None = None) -> None:
        write_atomic(self.record_path(key or record.spec_hash), record.to_json().encode())

    def read_record(self, key: str) -> ClipRecord:
        return ClipRecord.from_json(self.record_path(key).read_text())

    def read_manifest(self) -> dict[str, Any] | None:
        path = self.path / "manifest.json"
        return json.loads(path.read_text()) if path.exists() else None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.path / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())

    def write_tables(self, records: Sequence[ClipRecord]) -> tuple[pd.DataFrame, pd.DataFrame]:
        scores, failures = tables(records)
        for name, frame in (("scores.parquet", scores), ("failures.parquet", failures)):
            write_atomic(self.path / name, frame.to_parquet(index=False))
        return scores, failures


def tables(records: Sequence[ClipRecord]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """scores (one row per clip and metric) and failures (one row per event)."""
    score_rows, failure_rows = [], []
    for record in records:
        keys = {"clip_id": record.clip_id, "sample": record.sample, "family": record.family, "principle": record.principle,
                "split": record.split, "seed": record.seed}
        for metric in record.scores:
            score_rows.append({**keys, **asdict(metric), "status": record.status})
        for event in record.events:
            failure_rows.append({**keys, **{k: v for k, v in asdict(event).items() if k != "clip_id"}})
    scores = pd.DataFrame(score_rows, columns=SCORE_COLUMNS)
    failures = pd.DataFrame(failure_rows, columns=FAILURE_COLUMNS)
    scores = scores.astype({"sample": np.int64, "seed": np.int64, "value": np.float64, "raw": np.float64})
    failures = failures.astype({"sample": np.int64, "seed": np.int64, "frame": np.int64, "severity": np.float64})
    return scores, failures


NOT_PHYSICS = ("fidelity", "physics-iq")
"""Metric principles reported beside the physics score, never inside it: how the pixels look, and
Physics-IQ's motion-mask numbers (kept for comparison with that benchmark; they would count the
same motion a second time)."""


def is_physics_metric(name: str, conditioning: str = "v2v") -> bool:
    """True for a metric that enters the physics score of a run in `conditioning` mode.

    Never: fidelity and Physics-IQ (NOT_PHYSICS). In the aligned modes (v2v, i2v) the physics score is
    made of metrics.PHYSICS_METRICS; any other physics metric a run computes (the reference-free ones) is
    reported beside it, so adding evidence never moves an existing score. In t2v every physics metric
    that applies enters (the aligned ones are NaN there and drop out). Unregistered names (an older
    run's) count as physics."""
    if name not in METRICS:
        return True
    if METRICS.get(name).principle in NOT_PHYSICS:
        return False
    return name in PHYSICS_METRICS or not CONDITIONING.get(conditioning, CONDITIONING["v2v"]).aligned


def physics_rows(scores: pd.DataFrame, conditioning: str = "v2v") -> pd.DataFrame:
    """The rows of scores.parquet that enter the physics score (is_physics_metric)."""
    if "metric" not in scores.columns:
        return scores
    return scores[[is_physics_metric(name, conditioning) for name in scores["metric"]]]


def overall_scores(scores: pd.DataFrame, conditioning: str = "v2v") -> pd.Series:
    """The overall physics score per split: the mean over physical principles (equal weight each) of
    the mean value of every (clip, physics metric) row of that principle; NaN values are left out."""
    per_principle = physics_rows(scores, conditioning).groupby(["split", "principle"])["value"].mean()
    return per_principle.groupby("split").mean()


NOT_AVAILABLE = "n/a"
"""How tables show a score with no value: a metric not applicable in the run's conditioning mode (t2v), or
one that abstains on every clip of a family."""


def run_conditioning(manifest: dict[str, Any]) -> str:
    """The conditioning mode of a run (runs written before the modes existed were v2v)."""
    return str(manifest.get("conditioning", "v2v"))


def conditioning_words(mode: str) -> str:
    """'t2v (the prompt only)': the mode and what the model was given."""
    known = CONDITIONING.get(mode)
    return f"{mode} ({known.description})" if known else mode


def markdown_table(table: pd.DataFrame) -> str:
    """A score table rounded to 3 decimals with empty cells shown as n/a (never as 0 or nan)."""
    shown = table.round(3).astype(object).where(table.notna(), NOT_AVAILABLE)
    return shown.to_markdown()


def summary_markdown(scores: pd.DataFrame, failures: pd.DataFrame, manifest: dict[str, Any]) -> str:
    """The run's table: mean score per family and metric, the failed clips, and failure-tag counts."""
    conditioning = run_conditioning(manifest)
    lines = [
        f"# physcheck run {manifest['run_id']}",
        "",
        f"generator: {manifest['generator']['name']}  suite: {manifest['suite']['name']} "
        f"(version {manifest['suite']['version']}, {manifest['clip_count']} clips)  conditioning: "
        f"{conditioning_words(conditioning)}",
        "",
    ]
    skipped = manifest.get("not_applicable_metrics") or []
    if skipped:
        lines += [f"Not applicable in {conditioning} (the video need not line up with the ground truth pixel by "
                  f"pixel), shown as {NOT_AVAILABLE} and left out of every score: {', '.join(skipped)}.", ""]
    if scores.empty:
        return "\n".join(lines + ["No clips were scored."]) + "\n"
    overall = overall_scores(scores, conditioning)
    lines += ["Overall physics score (mean over principles, 1 = physically right): "
              + ", ".join(f"{split} {value:.3f}" if pd.notna(value) else f"{split} {NOT_AVAILABLE}"
                          for split, value in overall.items()), ""]
    columns = ["split", "metric"] if scores["split"].nunique() > 1 else "metric"  # eval and ood side by side
    physics = physics_rows(scores, conditioning)
    beside = scores.drop(physics.index)

    def pivot(rows: pd.DataFrame, index: str) -> pd.DataFrame:
        table = rows.pivot_table(index=index, columns=columns, values="value", aggfunc="mean", dropna=False)
        table.columns = [" ".join(column) if isinstance(column, tuple) else column for column in table.columns]
        return table

    if not physics.empty:
        table = pivot(physics, "family")
        table.loc["all"] = pivot(physics.assign(family="all"), "family").iloc[0]
        lines += ["Mean physics score per family and metric (1 = physically right):", "", markdown_table(table), ""]
        lines += ["Mean physics score per physical principle:", "", markdown_table(pivot(physics, "principle")), ""]
    if not beside.empty:
        table = pivot(beside, "family")
        table.loc["all"] = pivot(beside.assign(family="all"), "family").iloc[0]
        lines += ["Beside the physics score (Physics-IQ mask metrics, visual fidelity, and in v2v/i2v the "
                  "reference-free metrics; docs/metrics.md):", "",
                  markdown_table(table), ""]
    failed = scores.drop_duplicates("clip_id")
    failed = failed[failed["status"] != "ok"]
    lines.append(f"Failed clips (scored 0): {len(failed)}")
    if len(failed):
        counts = failed.groupby("status").size()
        lines += [f"- {status}: {count}" for status, count in counts.items()]
    lines.append("")
    if failures.empty:
        lines.append("Failure events: none")
    else:
        counts = failures.pivot_table(index="tag", columns="family", values="clip_id", aggfunc="nunique", fill_value=0)
        lines += ["Clips with each failure tag:", "", counts.to_markdown(), ""]
    return "\n".join(lines) + "\n"
