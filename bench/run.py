"""`physcheck run`: simulate the suite, generate, observe, score and write the run folder."""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf
from tqdm import tqdm

from generators import GENERATORS, GenerationRequest, Generator, MissingVideoError, Video, VideoFormatError
from generators.base import check_conditioning, conditioning_mode
from metrics import METRICS, FailureEvent, MetricScore, evaluate
from simulators import FAMILIES, SPLITS, SUITE_VERSION, Clip, ScenarioSpec, build_specs

from .config import RunConfig, SuiteConfig
from .executor import RAY_MISSING, WorkerSetup, ray_installed, run_local, run_ray, samples_of, work_batches
from .results import ClipRecord, RunFolder, summary_markdown, write_atomic

log = logging.getLogger(__name__)

PACKAGES = ("physcheck", "torch", "pybullet", "numpy", "scipy", "pandas", "pyarrow", "opencv-python-headless", "av",
            "hydra-core")


EXECUTORS = {"local": run_local, "ray": run_ray}
"""executor.name -> a function (setup, batches, workers, on_done(clips written), **the executor's other keys)."""


class ConfigError(ValueError):
    """A configuration that cannot run; the message is one line naming the key and the fix."""


@dataclass(frozen=True)
class ClipFailure:
    """Why a clip has no usable video. tag: missing_video, invalid_video or generator_error."""

    tag: str
    message: str


def specs_from_suite(suite: SuiteConfig) -> list[ScenarioSpec]:
    for family in suite.families:
        if family not in FAMILIES:
            raise ConfigError(f"suite.families: unknown family {family!r}. Available: {', '.join(FAMILIES.names())}")
    for split in suite.splits:
        if split not in SPLITS:
            raise ConfigError(f"suite.splits: unknown split {split!r}. Available: {', '.join(SPLITS)}")
    if len(suite.resolution) != 2:
        raise ConfigError(f"suite.resolution must be [height, width], got {list(suite.resolution)}")
    if suite.first_seed < 0:
        raise ConfigError(f"suite.first_seed must be 0 or more, got {suite.first_seed}")
    if suite.n_seeds < 1:
        raise ConfigError(f"suite.n_seeds must be at least 1, got {suite.n_seeds}")
    try:
        return build_specs(suite.families, suite.splits, suite.n_seeds, suite.first_seed, n_frames=suite.n_frames,
                           fps=suite.fps, resolution=tuple(suite.resolution), n_context=suite.n_context,
                           canonical=suite.canonical)
    except ValueError as error:
        raise ConfigError(f"suite: {error}") from error


def make_generator(options: dict[str, Any], ground_truth, conditioning: str | None = None) -> Generator:
    """Build the generator `options` name. With `conditioning`, refuse a mode the generator does not serve:
    by its class's declaration before it is built (nothing loaded), then by the instance's own modes
    (a loaded pipeline, a folder's manifest)."""
    options = dict(options)
    name = options.pop("name", None)
    if name is None:
        raise ConfigError("generator.name is missing; pick one of " + ", ".join(GENERATORS.names()))
    if name not in GENERATORS:
        raise ConfigError(f"Unknown generator {name!r}. Available: {', '.join(GENERATORS.names())}")
    cls = GENERATORS.get(name)
    missing = [key for key, value in options.items() if value == "???"]
    if missing:
        raise ConfigError(f"generator.{missing[0]} is required for generator {name} (add generator.{missing[0]}=...)")
    if conditioning is not None:
        try:
            check_conditioning(name, tuple(cls.supported_conditioning), conditioning)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    if cls.needs_ground_truth:
        options["ground_truth"] = ground_truth
    try:
        generator = cls(**options)
    except TypeError as error:
        raise ConfigError(f"generator {name}: {error}") from error
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(str(error)) from error
    if conditioning is not None:
        try:
            check_conditioning(name, tuple(generator.conditioning_modes()), conditioning,
                               generator.conditioning_source())
        except ValueError as error:
            raise ConfigError(str(error)) from None
    return generator


class GeneratorTimeout(TimeoutError):
    """The generator took longer than generator_timeout_s per clip."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise GeneratorTimeout in this thread after `seconds` (0: no limit). SIGALRM works in a process's
    main thread only (where the local executor's workers run batches); elsewhere there is no limit."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise GeneratorTimeout(f"generation took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def generate_safely(generator: Generator, requests: Sequence[GenerationRequest],
                    timeout_per_clip: float = 0.0) -> list[Video | ClipFailure]:
    """Generate a batch; if the batch fails (raises, returns garbage, or runs past timeout_per_clip seconds
    per clip), retry each request alone so one bad clip fails alone."""
    try:
        with time_limit(timeout_per_clip * len(requests)):
            videos = generator.generate(list(requests))
        if len(videos) != len(requests):
            raise RuntimeError(f"returned {len(videos)} videos for {len(requests)} requests")
        return [check_video(video, request) for video, request in zip(videos, requests)]
    except Exception:  # noqa: BLE001 - isolate the failing request below
        if len(requests) == 1:
            return [_failure(requests[0])]
        return [outcome for request in requests
                for outcome in generate_safely(generator, [request], timeout_per_clip)]


def _failure(request: GenerationRequest) -> ClipFailure:
    _, error, _ = sys.exc_info()
    if isinstance(error, MissingVideoError):
        return ClipFailure("missing_video", str(error))
    if isinstance(error, VideoFormatError):
        return ClipFailure("invalid_video", str(error))
    return ClipFailure("generator_error", f"{request.clip_id}: {type(error).__name__}: {error}")


def check_video(video: Any, request: GenerationRequest) -> Video | ClipFailure:
    expected = (request.n_frames, *request.resolution, 3)
    if not isinstance(video, Video):
        return ClipFailure("invalid_video", f"{request.clip_id}: generator returned {type(video).__name__}, not Video")
    if video.shape != expected:
        return ClipFailure("invalid_video", f"{request.clip_id}: video shape {video.shape}, expected {expected}")
    return video


def failed_clip_reasons(scores: pd.DataFrame, limit: int = 50) -> str:
    """Summary lines naming each failed clip (the first `limit`) and its one-line reason."""
    failed = scores[scores["status"] != "ok"].drop_duplicates(["clip_id", "sample"])
    if failed.empty:
        return ""
    lines = ["", "Why clips failed:"]
    lines += [f"- {row.clip_id}{f' sample {row.sample}' if row.sample else ''} ({row.status}): {row.reason}"
              for row in failed.head(limit).itertuples()]
    if len(failed) > limit:
        lines.append(f"- ... and {len(failed) - limit} more (scores.parquet, column reason)")
    return "\n".join(lines) + "\n"


NOT_APPLICABLE = "not applicable in {mode}: compares with the ground truth pixel by pixel"
"""Reason of the NaN score a metric that needs alignment gets in a mode that is not aligned (t2v)."""


def not_applicable(metric_names: Sequence[str], conditioning: str) -> set[str]:
    """The metrics that do not apply in `conditioning`: those that need pixel alignment with the ground
    truth (MetricSpec.needs_alignment) when the mode's videos do not line up with it (t2v)."""
    if conditioning_mode(conditioning).aligned:
        return set()
    return {name for name in metric_names if METRICS.get(name).needs_alignment}


def score_outcome(clip: Clip, outcome: Video | ClipFailure, metric_names: Sequence[str],
                  conditioning: str = "v2v") -> ClipRecord:
    """The clip's record: every metric's score in metric_names order. Metrics that do not apply in the
    conditioning mode are not computed: NaN with the NOT_APPLICABLE reason (never 0), and no failure
    events. A failed clip scores 0 on every applicable metric."""
    spec = clip.spec
    record = ClipRecord(clip.clip_id, spec.spec_hash, spec.family, FAMILIES.get(spec.family).principle, spec.split,
                        spec.seed, "ok")
    skipped = not_applicable(metric_names, conditioning)
    applicable = [name for name in metric_names if name not in skipped]
    reason = NOT_APPLICABLE.format(mode=conditioning)
    absent = {name: MetricScore(name, float("nan"), float("nan"), METRICS.get(name).unit, reason) for name in skipped}
    if isinstance(outcome, Video):
        try:
            scores, record.events = evaluate(outcome.frames, clip, applicable) if applicable else ([], [])
            computed = {score.metric: score for score in scores}
            record.scores = [computed.get(name) or absent[name] for name in metric_names]
            return record
        except Exception as error:  # noqa: BLE001 - one bad clip never kills a run
            log.exception("scoring %s failed", clip.clip_id)
            outcome = ClipFailure("scoring_error", f"{clip.clip_id}: {type(error).__name__}: {error}")
    record.status = outcome.tag
    record.scores = [absent.get(name) or MetricScore(name, 0.0, float("nan"), METRICS.get(name).unit, outcome.message)
                     for name in metric_names]
    record.events = [FailureEvent(clip.clip_id, outcome.tag, 0, "", 1.0, outcome.message)]
    return record


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                                text=True, timeout=5)
        return result.stdout.strip() if result.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def fingerprint(suite_hash: str, generator: dict, metric_names: Sequence[str], seed: int,
                conditioning: str = "v2v") -> str:
    payload = json.dumps([suite_hash, generator, list(metric_names), seed, conditioning], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def import_plugins(modules: Sequence[str]) -> None:
    """Import the user's modules (from the working directory too) so their generators register."""
    if modules and "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(f"plugins: cannot import {module!r} ({error}); is it on PYTHONPATH?") from error


def plain_dict(node: Any) -> dict[str, Any]:
    """A config node (generator, executor) as a plain dict with interpolations resolved."""
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node)


def run(cfg: RunConfig, run_dir: Path, progress: bool = True) -> pd.DataFrame:
    """Run the benchmark into run_dir (resuming finished clips) and return scores.parquet as a frame."""
    conditioning = str(cfg.conditioning)
    try:
        conditioning_mode(conditioning)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    import_plugins(cfg.plugins)
    specs = specs_from_suite(cfg.suite)
    metric_names = list(cfg.metrics)
    for name in metric_names:
        if name not in METRICS:
            raise ConfigError(f"Unknown metric {name!r}. Available: {', '.join(METRICS.names())}")
    if cfg.generator_timeout_s < 0:
        raise ConfigError(f"generator_timeout_s must be 0 (no limit) or more, got {cfg.generator_timeout_s}")
    if cfg.samples < 1:
        raise ConfigError(f"samples must be at least 1, got {cfg.samples}")
    if cfg.batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {cfg.batch_size}")
    generator_options = plain_dict(cfg.generator)
    if cfg.workers < 0:
        raise ConfigError(f"workers must be 0 (every core) or more, got {cfg.workers}")
    executor_options = plain_dict(cfg.executor)
    executor = executor_options.pop("name", None)
    if executor not in EXECUTORS:
        raise ConfigError(f"Unknown executor {executor!r}. Available: {', '.join(EXECUTORS)}")
    if executor == "ray" and not ray_installed():
        raise ConfigError(RAY_MISSING)
    generator = make_generator(generator_options, ground_truth=lambda clip_id: None, conditioning=conditioning)
    folder = RunFolder(run_dir)
    setup = WorkerSetup(generator_options, metric_names, cfg.cache_dir, str(folder.path), cfg.write_videos, cfg.seed,
                        list(cfg.plugins), cfg.torch_threads, cfg.generator_timeout_s, conditioning, cfg.cache_videos)

    with folder.locked():
        suite_hash = hashlib.sha256("".join(spec.spec_hash for spec in specs).encode()).hexdigest()[:16]
        run_fingerprint = fingerprint(suite_hash, generator_options, metric_names, cfg.seed, conditioning)
        previous = folder.read_manifest()
        if previous is not None and previous.get("fingerprint") != run_fingerprint:
            raise ConfigError(f"{folder.path} holds a run of another configuration; pick another run_id= to start anew")
        manifest = {
            "run_id": run_dir.name,
            "fingerprint": run_fingerprint,
            "suite": {"name": cfg.suite.name, "version": SUITE_VERSION, "hash": suite_hash,
                      "config": OmegaConf.to_container(OmegaConf.structured(cfg.suite))},
            "generator": {"name": generator_options["name"], "checksum": generator.checksum(), "config": generator_options},
            "conditioning": conditioning,
            "not_applicable_metrics": sorted(not_applicable(metric_names, conditioning)),
            "metrics": metric_names,
            "seed": cfg.seed,
            "config": {**OmegaConf.to_container(cfg, resolve=True), "run_id": run_dir.name}
            if OmegaConf.is_config(cfg) else None,
            "timing": {"n_frames": cfg.suite.n_frames, "fps": cfg.suite.fps, "n_context": cfg.suite.n_context,
                       "resolution": list(cfg.suite.resolution)},
            "packages": package_versions(),
            "git_commit": git_commit(),
            "started": (previous or {}).get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "finished": None,
            "clip_count": len(specs),
            "samples": cfg.samples,
        }
        folder.write_manifest(manifest)

        items = samples_of(specs, cfg.samples)
        work = list(work_batches(items, cfg.batch_size, lambda item: folder.has_record(item.key)))
        pending = sum(not folder.has_record(item.key) for batch in work for item in batch)
        with tqdm(total=len(items), initial=len(items) - pending, desc=f"run {generator_options['name']}",
                  unit="clip", disable=not progress) as bar:
            EXECUTORS[executor](setup, work, cfg.workers, bar.update, **executor_options)

        records = [folder.read_record(item.key) for item in items]
        scores, failures = folder.write_tables(records)
        manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        manifest["failed_clip_count"] = sum(record.status != "ok" for record in records)
        folder.write_manifest(manifest)
        summary = summary_markdown(scores, failures, manifest) + failed_clip_reasons(scores)
        write_atomic(folder.path / "summary.md", summary.encode())
        print(summary)
        print(f"Results in {folder.path}")
        return scores
