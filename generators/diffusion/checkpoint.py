"""Checkpoints without pickle: model and optimizer tensors in safetensors, the rest in its metadata."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    step: int, info: dict[str, Any] | None = None) -> Path:
    """Write model weights (keys 'model.*'), optimizer state ('optim.<param index>.<name>') and, in the
    safetensors metadata, the step, the optimizer's param groups and `info` (JSON), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{name}": tensor.detach().contiguous() for name, tensor in model.state_dict().items()}
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
