"""Structured (dataclass) configs for hydra, and the names of the config groups."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore

from metrics import DEFAULT_METRICS

CONF_DIR = Path(__file__).parent / "conf"
GROUPS = ("suite", "generator", "executor")


@dataclass
class SuiteConfig:
    """Which scenarios to run, and the clip timing and size (resolution is [height, width])."""

    name: str = "core"
    families: list[str] = field(default_factory=lambda: [
        "free_fall", "projectile", "collision", "ramp", "pendulum", "tower", "dominoes", "chair", "occlusion", "crowd",
        "treadmill", "head_turn", "vehicle"])
    splits: list[str] = field(default_factory=lambda: ["eval"])
    n_seeds: int = 10
    first_seed: int = 0
    resolution: list[int] = field(default_factory=lambda: [64, 64])
    n_frames: int = 32
    fps: float = 8.0
    n_context: int = 4
    canonical: bool = False
    """True turns visual variety off (fixed greys, camera and colours)."""


@dataclass
class RunConfig:
    suite: SuiteConfig = field(default_factory=SuiteConfig)
    generator: Any = field(default_factory=lambda: {"name": "oracle"})
    """`name` picks the generator from the registry; every other key is passed to its constructor."""
    conditioning: str = "v2v"
    """What the model is given besides the prompt (generators.base.CONDITIONING): v2v the n_context
    opening frames, i2v the first frame, t2v nothing. In t2v the metrics that compare with the ground
    truth pixel by pixel are not applicable (NaN)."""
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    run_id: str = "${now:%Y%m%d-%H%M%S}-${generator.name}-${suite.name}"
    runs_dir: str = "runs"
    cache_dir: str = ""
    """Ground-truth and generated-video cache; empty means $PHYSCHECK_CACHE or the platform's user cache folder."""
    cache_videos: bool = True
    """Keep a model's generated videos in the cache by content hash, so a rerun of the same configuration
    generates nothing (bench/video_cache.py); false always generates."""
    batch_size: int = 8
    """Clips per generator call; the batches are fixed by the suite order (see bench/executor.py)."""
    executor: Any = field(default_factory=lambda: {"name": "local"})
    """`name`: local (a process pool on this machine) or ray (Ray actors; `address` of a cluster, empty for a
    local Ray instance). Every other key is passed to the executor (bench/executor.py)."""
    workers: int = 0
    """Worker processes (Ray actors); 0 = every core (every CPU of the Ray cluster). The scores do not depend on it."""
    torch_threads: int = 1
    """torch threads per worker (a model's output can change in the last bit with the thread count)."""
    generator_timeout_s: float = 0.0
    """Per clip: a generator call running longer fails its clips (generator_error); 0 = no limit."""
    write_videos: bool = True
    seed: int = 0
    """Seed handed to the generator with every request (sample i of a scenario gets seed + i)."""
    samples: int = 1
    """Samples generated per scenario, each with its own seed; scores.parquet keeps every one."""
    plugins: list[str] = field(default_factory=list)
    """Modules imported before the generator is looked up (they register your own generators)."""


@dataclass
class ExportConfig:
    suite: SuiteConfig = field(default_factory=SuiteConfig)
    out: str = "physcheck_requests"
    cache_dir: str = ""
    conditioning: str = "v2v"
    """The mode the requests are for: v2v writes n_context context frames, i2v the first frame, t2v none."""


@dataclass
class TrainConfig:
    """`physcheck train`: stage `autoencoder` or `denoiser` of the bundled model, resumed from `out`.
    Options left at None take the stage's own defaults (python -m generators.diffusion.train_<stage> -h)."""

    stage: str = "denoiser"
    steps: int = 20000
    out: str = ""
    clips_per_family: int = 48
    batch: Any = None
    lr: Any = None
    threads: int = 1
    autoencoder: str = "checkpoints/autoencoder.safetensors"
    weighting: Any = None
    """denoiser only: where the loss weights object cells, `truth` (target frames) or `context` (context frames)."""
    ema: Any = None
    """denoiser only: decay of the moving average of the weights that is shipped (e.g. 0.999; 0 = none)."""
    data: Any = None
    """denoiser only: a training-set .npz (python -m generators.diffusion.data) instead of simulating clips, or a
    list of them used together (data=[train-320.npz,collision-320.npz]: a set and its supplements)."""
    device: Any = None
    """denoiser only: cpu (default), cuda, or auto."""
    max_minutes: Any = None
    """denoiser only: stop and save after this many minutes of training."""
    keep_every: Any = None
    """denoiser only: keep a copy of the weights every N steps (denoiser-step<N>.safetensors)."""
    family_weights: Any = None
    """denoiser only: a mapping {family: weight} drawing those families' clips more (or less) often."""
    lr_final: Any = None
    """denoiser only: decay the learning rate linearly to this at `steps` (None: constant `lr`)."""
    warmup: Any = None
    """denoiser only: linear warmup steps, counted from `schedule_start`."""
    schedule_start: Any = None
    """denoiser only: the step the warmup and the decay count from (e.g. the step a run resumes at)."""


def register_configs() -> None:
    from .meta_eval import MetaEvalConfig

    store = ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    store.store(name="export_schema", node=ExportConfig)
    store.store(name="meta_eval_schema", node=MetaEvalConfig)
    store.store(name="train_schema", node=TrainConfig)


def available(group: str) -> list[str]:
    """Names of the config files of one group (suite, generator, executor)."""
    return sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml"))
