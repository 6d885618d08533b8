"""Checkpoints without pickle: model and optimizer tensors in safetensors, the rest in its metadata.

Two files per training stage: the shipped weights (model only, under checkpoints/, what a
Generator loads) and the training state (model + optimizer, under train_state/, ignored by git,
what a resumed training run loads). Losing the training state costs only the optimizer's moments:
training resumes from the shipped weights with a fresh optimizer.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    step: int, info: dict[str, Any] | None = None, ema: torch.nn.Module | None = None) -> Path:
    """Write model weights (keys 'model.*'), optimizer state ('optim.<param index>.<name>'), the moving
    average of the weights ('ema.*', when given) and, in the safetensors metadata, the step, the
    optimizer's param groups and `info` (JSON), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{name}": tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema.{name}": tensor.detach().contiguous() for name, tensor in ema.state_dict().items()})
    metadata = {"step": str(step), "info": json.dumps(info or {})}
    if optimizer is not None:
        state = optimizer.state_dict()
        for index, values in state["state"].items():
            for name, value in values.items():
                tensor = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"optim.{index}.{name}"] = tensor.detach().contiguous()
        metadata["param_groups"] = json.dumps(state["param_groups"])
    staging = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(staging), metadata=metadata)
    os.replace(staging, path)
    return path


def read_info(path: str | os.PathLike) -> tuple[int, dict[str, Any]]:
    """(step, info) from a checkpoint's metadata, without loading any tensor."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    return int(metadata.get("step", 0)), json.loads(metadata.get("info", "{}"))


def load_checkpoint(path: str | os.PathLike, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None) -> tuple[int, dict[str, Any]]:
    """Load what save_checkpoint wrote into `model` (and `optimizer`); returns (step, info)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    tensors = load_file(str(path))
    model.load_state_dict({key[6:]: value for key, value in tensors.items() if key.startswith("model.")})
    if optimizer is not None and "param_groups" in metadata:
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": json.loads(metadata["param_groups"])})
    return int(metadata.get("step", 0)), json.loads(metadata.get("info", "{}"))


def save_training(weights: str | os.PathLike, state: str | os.PathLike, model: torch.nn.Module,
                  optimizer: torch.optim.Optimizer, step: int, info: dict[str, Any] | None = None,
                  ema: torch.nn.Module | None = None) -> None:
    """Write the training state (model + optimizer + ema) to `state`, then the shipped weights to `weights`:
    the moving average when there is one (what sampling should use), else the model."""
    save_checkpoint(state, model, optimizer, step, info, ema=ema)
    save_checkpoint(weights, ema if ema is not None else model, None, step, info)


def load_ema(state: str | os.PathLike, ema: torch.nn.Module) -> bool:
    """Load the moving average saved in a training state into `ema`; False when the state has none."""
    state = Path(state)
    if not state.exists():
        return False
    tensors = load_file(str(state))
    averaged = {key[4:]: value for key, value in tensors.items() if key.startswith("ema.")}
    if not averaged:
        return False
    ema.load_state_dict(averaged)
    return True


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter (buffers copied)."""
    for averaged, current in zip(ema.parameters(), model.parameters()):
        averaged.lerp_(current.detach(), 1.0 - decay)
    for averaged, current in zip(ema.buffers(), model.buffers()):
        averaged.copy_(current)


def resume_training(weights: str | os.PathLike, state: str | os.PathLike, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer) -> tuple[int, dict[str, Any]]:
    """Load the training state if there is one, else the shipped weights with a fresh optimizer; the step
    reached and the loaded checkpoint's info ((0, {}) when neither exists). A state older than the weights is
    ignored."""
    weights, state = Path(weights), Path(state)
    weights_step = read_info(weights)[0] if weights.exists() else -1
    if state.exists() and read_info(state)[0] >= weights_step:
        step, info = load_checkpoint(state, model, optimizer)
        print(f"resumed {state} at step {step}")
        return step, info
    if weights.exists():
        step, info = load_checkpoint(weights, model, optimizer)
        print(f"resumed {weights} at step {step} ({state} not found: the optimizer starts afresh)")
        return step, info
    return 0, {}


def export_weights(source: str | os.PathLike, target: str | os.PathLike, keep_ema: bool = False) -> Path:
    """Copy a checkpoint's model tensors (and with keep_ema its moving average) and metadata (step, info) without
    its optimizer state. keep_ema=True makes a training state small enough to carry to a GPU machine (half its
    size: the optimizer's moments are the other half); training resumes from it with a fresh optimizer."""
    from safetensors import safe_open

    prefixes = ("model.", "ema.") if keep_ema else ("model.",)
    with safe_open(str(source), framework="pt") as handle:
        metadata = {key: value for key, value in (handle.metadata() or {}).items() if key != "param_groups"}
        tensors = {key: handle.get_tensor(key) for key in handle.keys() if key.startswith(prefixes)}
    target = Path(target)
    staging = target.with_name(f".{target.name}.tmp")
    save_file(tensors, str(staging), metadata=metadata)
    os.replace(staging, target)
    return target


def main(argv: list[str] | None = None) -> None:
    """python -m generators.diffusion.checkpoint SOURCE TARGET [--keep-ema]: export_weights from the command line."""
    import argparse

    parser = argparse.ArgumentParser(description="Copy a checkpoint without its optimizer state.")
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--keep-ema", action="store_true", help="keep the moving average (a training state to resume)")
    args = parser.parse_args(argv)
    target = export_weights(args.source, args.target, keep_ema=args.keep_ema)
    print(f"{target}: step {read_info(target)[0]}, {target.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
