"""The `physcheck` console script: `physcheck <command> [hydra overrides]`."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .config import CONF_DIR, GROUPS, available, register_configs

USAGE = """usage: physcheck <command> [key=value ...]

commands:
  run      simulate a suite, generate with a model, score it and write runs/<run_id>/
           e.g. physcheck run suite=core generator=static
           conditioning=v2v|i2v|t2v: the model gets the context frames, the first frame, or the prompt only
  export   write every request of a suite (prompts, context frames) for an outside model
           e.g. physcheck export suite=core out=requests/ conditioning=t2v
  train    train the bundled model on the train split (resumes from its checkpoint)
           e.g. physcheck train stage=denoiser steps=20000
  meta-eval  score every clip clean and under labelled corruptions; AUROC, tag recall, false positives
           e.g. physcheck meta-eval suite=core out=meta_eval/
  gallery  a static HTML site of the worst clips of each failure tag (one run, or several: filter by generator)
           e.g. physcheck gallery runs/<run_id> --per-tag 8   (physcheck gallery --help)
  leaderboard  rank runs by the overall physics score with bootstrap intervals (md, csv, html)
           e.g. physcheck leaderboard runs/model-a runs/model-b runs/static --out leaderboard/
  compare  paired regression check of a candidate run against a baseline run; exit 1 on a regression
           e.g. physcheck compare runs/step-1000 runs/step-2000 --threshold 0.02 --out compare/

Options are hydra overrides; `physcheck run --cfg job` prints the full configuration.
"""


def _refuse_on_config_error(command: str, work, cleanup=None) -> None:
    """Run work(); a ConfigError becomes one line on stderr and exit code 2 (after cleanup())."""
    from .results import RunFolderBusy
    from .run import ConfigError

    try:
        work()
    except RunFolderBusy as error:  # the folder belongs to the live run that holds it: touch nothing
        sys.stderr.write(f"physcheck {command}: {error}\n")
        sys.exit(2)
    except ConfigError as error:
        if cleanup is not None:
            cleanup()
        sys.stderr.write(f"physcheck {command}: {error}\n")
        sys.exit(2)


@hydra.main(config_path=str(CONF_DIR), config_name="run", version_base="1.3")
def _run_main(cfg: DictConfig) -> None:
    from .run import run

    run_dir = Path(HydraConfig.get().runtime.output_dir)

    def remove_if_empty() -> None:  # refused before any work: leave no empty run folder
        if not (run_dir / "manifest.json").exists():
            shutil.rmtree(run_dir, ignore_errors=True)

    _refuse_on_config_error("run", lambda: run(cfg, run_dir), remove_if_empty)


@hydra.main(config_path=str(CONF_DIR), config_name="export", version_base="1.3")
def _export_main(cfg: DictConfig) -> None:
    from .export import export

    _refuse_on_config_error("export", lambda: export(cfg))


@hydra.main(config_path=str(CONF_DIR), config_name="meta_eval", version_base="1.3")
def _meta_eval_main(cfg: DictConfig) -> None:
    from .meta_eval import meta_eval

    _refuse_on_config_error("meta-eval", lambda: meta_eval(cfg))


@hydra.main(config_path=str(CONF_DIR), config_name="train", version_base="1.3")
def _train_main(cfg: DictConfig) -> None:
    stages = {"autoencoder": "generators.diffusion.train_autoencoder", "denoiser": "generators.diffusion.train_denoiser"}
    if cfg.stage not in stages:
        sys.stderr.write(f"physcheck train: unknown stage {cfg.stage!r}. Available: {', '.join(stages)}\n")
        sys.exit(2)
    import importlib

    argv = ["--steps", str(cfg.steps), "--clips-per-family", str(cfg.clips_per_family), "--threads", str(cfg.threads)]
    argv += ["--out", cfg.out or f"checkpoints/{cfg.stage}.safetensors"]
    for key in ("batch", "lr"):
        if cfg[key] is not None:
            argv += [f"--{key}", str(cfg[key])]
    if cfg.stage == "denoiser":
        argv += ["--autoencoder", cfg.autoencoder]
        for key in ("weighting", "ema", "device", "max_minutes", "keep_every", "lr_final", "warmup", "schedule_start"):
            if cfg[key] is not None:
                argv += [f"--{key.replace('_', '-')}", str(cfg[key])]
        if cfg.data:  # one file, or a list: a set and its supplements
            argv += ["--data", *map(str, cfg.data if OmegaConf.is_list(cfg.data) else [cfg.data])]
        for family, weight in (cfg.family_weights or {}).items():
            argv += ["--family-weight", f"{family}={weight}"]
    try:
        importlib.import_module(stages[cfg.stage]).main(argv)
    except (ValueError, FileNotFoundError) as error:  # a wrong option or a missing file: one line, not a trace
        sys.stderr.write(f"physcheck train: {error}\n")
        sys.exit(2)


COMMANDS = {"run": ("run", _run_main), "export": ("export", _export_main),
            "meta-eval": ("meta_eval", _meta_eval_main), "train": ("train", _train_main)}
ARGPARSE_COMMANDS = {"gallery": "bench.gallery", "leaderboard": "bench.leaderboard", "compare": "bench.compare"}
"""Commands with their own argparse options (`physcheck <command> --help`): name -> module with main(argv)."""


def check_overrides(command: str, config_name: str, overrides: list[str]) -> str | None:
    """One-line message for overrides that cannot compose (unknown group option, key or type), else None."""
    for override in overrides:
        key, _, value = override.partition("=")
        unknown = [option for option in value.split(",") if option not in available(key)] if key in GROUPS else []
        if value and unknown:  # a comma-separated list is a multirun sweep over the group
            return f"Unknown {key} {unknown[0]!r}. Available: {', '.join(available(key))}"
    if any(flag in overrides for flag in ("-m", "--multirun", "--help", "-h", "--hydra-help", "--info")) or any(
            o.startswith(("--cfg", "-c", "--")) for o in overrides):
        return None
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            compose(config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        message = str(error).strip().splitlines()[0].rstrip(".")
        if error.__cause__ is not None:
            message += ": " + str(error.__cause__).strip().splitlines()[0]
        return message
    return None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        sys.exit(0 if argv else 2)
    command, overrides = argv[0], argv[1:]
    if command in ARGPARSE_COMMANDS:
        import importlib

        importlib.import_module(ARGPARSE_COMMANDS[command]).main(overrides)
        return
    if command not in COMMANDS:
        sys.stderr.write(f"physcheck: unknown command {command!r}. "
                         f"Available: {', '.join([*COMMANDS, *ARGPARSE_COMMANDS])}\n")
        sys.exit(2)
    register_configs()
    config_name, entry = COMMANDS[command]
    problem = check_overrides(command, config_name, overrides)
    if problem:
        sys.stderr.write(f"physcheck {command}: {problem}\n")
        sys.exit(2)
    sys.argv = [f"physcheck {command}", *overrides]
    entry()


if __name__ == "__main__":
    main()
