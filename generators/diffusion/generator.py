"""The bundled model as a Generator: `physcheck run generator=diffusion`."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..base import GENERATORS, GenerationRequest, Generator, Video

REPOSITORY = Path(__file__).resolve().parents[2]


@GENERATORS.register("diffusion")
class Diffusion(Generator):
    """Samples with the autoencoder + denoiser checkpoints (safetensors; never unpickled).

    Trained to continue 4 context frames (train_denoiser's context mask), so it serves v2v only."""

    supported_conditioning = ("v2v",)
    cache_videos = True

    def __init__(self, checkpoint: str = "checkpoints/denoiser.safetensors",
                 autoencoder: str = "checkpoints/autoencoder.safetensors", steps: int = 24, batch_size: int = 8,
                 threads: int = 0, start_sigma: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        import torch

        from .autoencoder import load_autoencoder
        from .checkpoint import load_checkpoint
        from .pipeline import LatentScale, VideoPipeline
        from .train_denoiser import build_model

        self.paths = [self._resolve(checkpoint), self._resolve(autoencoder)]
        if threads:
            torch.set_num_threads(threads)
        frame_autoencoder, _ = load_autoencoder(self.paths[1])
        model = build_model()
        self.step, info = load_checkpoint(self.paths[0], model)
        self.pipeline = VideoPipeline(frame_autoencoder, model["denoiser"], model["prompts"],
                                      LatentScale(info["latent_mean"], info["latent_std"]), steps=steps,
                                      start_sigma=start_sigma)
        self.batch_size = batch_size

    @staticmethod
    def _resolve(path: str) -> Path:
        candidate = Path(path)
        if not candidate.is_absolute() and not candidate.exists():
            candidate = REPOSITORY / path
        if not candidate.exists():
            raise FileNotFoundError(f"{path}: no such checkpoint; set generator.checkpoint= / generator.autoencoder=")
        return candidate

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        videos = []
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start:start + self.batch_size]
            frames = self.pipeline([r.context for r in batch], [r.prompt for r in batch], batch[0].n_frames,
                                   [r.seed + hash_id(r.clip_id) for r in batch])
            videos += [Video(clip, r.fps) for clip, r in zip(frames, batch)]
        return videos

    def checksum(self) -> str:
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def hash_id(clip_id: str) -> int:
    """A stable per-clip offset for the sampling seed (Python's hash() is salted per process)."""
    return int(hashlib.sha256(clip_id.encode()).hexdigest()[:8], 16)
