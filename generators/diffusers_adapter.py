"""Any local diffusers video pipeline as a Generator: `physcheck run generator=diffusers generator.path=DIR`.

DIR is a folder written by `pipeline.save_pretrained(DIR)` (it holds model_index.json); it is loaded
with `DiffusionPipeline.from_pretrained(DIR, local_files_only=True)`, so nothing is ever downloaded.

How a request becomes a pipeline call (decided from `inspect.signature(pipeline.__call__)`):
- mode: a call with an `image` parameter is image-to-video and gets the first context frame as a
  PIL image (and the prompt when the call takes `prompt`); otherwise it is text-to-video and gets
  the prompt only. A call without `num_frames` is not a video pipeline and is refused. The run's
  `conditioning` must match: i2v for an image-to-video pipeline, t2v for a text-to-video one
  (v2v, several context frames, is no diffusers pipeline's call); a mismatch is refused before any
  clip is generated.
- num_frames: the suite's n_frames (or generator.num_frames), the whole clip from its first frame;
  the frames the request gives (i2v: the first frame; t2v: none) then replace the first generated
  ones, and every later frame is the pipeline's own.
- height/width: the pipeline's native size (its call's defaults, i.e. what the checkpoint was made
  for; when those are None the pipeline picks), or generator.height/width rounded to a multiple of
  32, which every video pipeline's VAE/patch grid accepts.
- fps (`fps`, `frame_rate` or `target_fps`, whichever the call takes), num_inference_steps,
  guidance_scale (only when set and accepted) and one torch.Generator per request seeded with
  request.seed + a stable hash of the clip id.

Output policy: PIL lists, float arrays/tensors in [0, 1] and uint8 arrays become uint8 (T, H, W, 3).
Frames are resized to the suite's resolution with cv2.INTER_AREA without keeping the aspect ratio:
the conditioning image is stretched to the generation size the same way, so positions map back onto
the ground truth's. Extra frames are dropped; a pipeline that returns fewer than n_frames is refused
(padding with the last frame would read as motion stopping, a physics failure the model never made).
"""
from __future__ import annotations

import hashlib
import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .base import GENERATORS, GenerationRequest, Generator, Video
from .diffusion.generator import hash_id

log = logging.getLogger(__name__)

FPS_PARAMETERS = ("fps", "frame_rate", "target_fps")
SIZE_MULTIPLE = 32


class PipelineOutputError(ValueError):
    """A pipeline returned something that cannot become the requested video."""


@GENERATORS.register("diffusers")
class DiffusersPipeline(Generator):
    """Samples a local diffusers text-to-video or image-to-video pipeline."""

    supported_conditioning = ("i2v", "t2v")
    """Either, by the loaded pipeline's call signature (conditioning_modes())."""
    cache_videos = True

    def __init__(self, path: str, steps: int = 25, guidance_scale: float | None = None, batch_size: int = 1,
                 device: str = "cpu", dtype: str = "float32", height: int | None = None, width: int | None = None,
                 num_frames: int | None = None, threads: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.path = Path(path)
        self.pipeline = load_pipeline(self.path, device, dtype)
        self.parameters = set(inspect.signature(self.pipeline.__call__).parameters)
        if "num_frames" not in self.parameters:
            raise ValueError(f"{self.path}: {type(self.pipeline).__name__} is not a video pipeline (its call takes "
                             "no num_frames); point generator.path at a text-to-video or image-to-video pipeline")
        self.image_to_video = "image" in self.parameters
        self.steps, self.guidance_scale, self.batch_size = steps, guidance_scale, batch_size
        self.size = generation_size(self.pipeline, height, width)
        self.num_frames = num_frames
        if guidance_scale is not None and "guidance_scale" not in self.parameters:
            log.warning("%s takes no guidance_scale; generator.guidance_scale=%s is ignored",
                        type(self.pipeline).__name__, guidance_scale)

    @property
    def mode(self) -> str:
        """'i2v' or 't2v', from the pipeline's call signature."""
        return "i2v" if self.image_to_video else "t2v"

    def conditioning_modes(self) -> tuple[str, ...]:
        return (self.mode,)

    def conditioning_source(self) -> str:
        kind = "takes an image" if self.image_to_video else "takes no image"
        return f"{type(self.pipeline).__name__} at {self.path} {kind}"

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        videos = []
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start:start + self.batch_size]
            output = self.pipeline(**self.call_arguments(batch))
            frames = output.frames if hasattr(output, "frames") else output[0]
            videos += [Video(fit_frames(to_uint8_video(clip), request), request.fps)
                       for clip, request in zip(frames, batch)]
        return videos

    def call_arguments(self, batch: list[GenerationRequest]) -> dict[str, Any]:
        """The keyword arguments of one pipeline call for a batch of requests with the same shape."""
        import torch

        first = batch[0]
        if any((r.n_frames, r.fps, r.resolution) != (first.n_frames, first.fps, first.resolution) for r in batch):
            raise ValueError("a diffusers batch must share n_frames, fps and resolution; set generator.batch_size=1")
        arguments: dict[str, Any] = {
            "num_frames": self.num_frames or first.n_frames,
            "num_inference_steps": self.steps,
            "generator": [torch.Generator("cpu").manual_seed(r.seed + hash_id(r.clip_id)) for r in batch],
        }
        if self.size is not None:
            arguments["height"], arguments["width"] = self.size
        if self.image_to_video:
            arguments["image"] = [self.conditioning_image(r) for r in batch]
        if "prompt" in self.parameters:
            arguments["prompt"] = [r.prompt for r in batch]
        if self.guidance_scale is not None and "guidance_scale" in self.parameters:
            arguments["guidance_scale"] = self.guidance_scale
        for name in FPS_PARAMETERS:
            if name in self.parameters:
                arguments[name] = round(first.fps) if name != "frame_rate" else first.fps
        if len(batch) == 1:  # a single image/prompt rather than a list: what every pipeline accepts
            arguments = {k: v[0] if k in ("image", "prompt", "generator") else v for k, v in arguments.items()}
        return arguments

    def conditioning_image(self, request: GenerationRequest):
        """The first context frame as a PIL image, stretched to the generation size when it is known."""
        from PIL import Image

        frame = request.context[0]
        if self.size is not None and frame.shape[:2] != self.size:
            frame = cv2.resize(frame, (self.size[1], self.size[0]), interpolation=cv2.INTER_CUBIC)
        return Image.fromarray(frame)

    def checksum(self) -> str:
        """SHA-256 over the relative names and contents of every file in the pipeline folder."""
        digest = hashlib.sha256()
        for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(self.path)).encode())
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        return digest.hexdigest()[:16]


def load_pipeline(path: Path, device: str, dtype: str):
    """DiffusionPipeline.from_pretrained on a local folder, with one-line errors for bad folders."""
    import torch
    from diffusers import DiffusionPipeline

    if not path.is_dir():
        raise FileNotFoundError(f"{path}: not a folder; set generator.path to a diffusers pipeline folder "
                                "(the one holding model_index.json)")
    if not (path / "model_index.json").is_file():
        raise FileNotFoundError(f"{path}: no model_index.json, so not a diffusers pipeline folder; point "
                                "generator.path at a folder written by pipeline.save_pretrained()")
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ValueError(f"generator.dtype={dtype!r} is not a torch dtype; use float32, float16 or bfloat16")
    try:
        with warnings.catch_warnings():  # newer diffusers prefer dtype=, which older ones ignore
            warnings.filterwarnings("ignore", message=".*torch_dtype.*deprecated", category=FutureWarning)
            pipeline = DiffusionPipeline.from_pretrained(path, local_files_only=True, use_safetensors=True,
                                                         torch_dtype=torch_dtype)
    except (OSError, ValueError, ImportError, AttributeError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path}: diffusers could not load this pipeline ({first_line}); "
                         "pip install 'physcheck[diffusers]' adds transformers and accelerate") from error
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(device)


def generation_size(pipeline, height: int | None, width: int | None) -> tuple[int, int] | None:
    """(H, W) to generate at: the overrides rounded to a multiple of 32, else the call's defaults (None: its own)."""
    if height is not None or width is not None:
        if height is None or width is None:
            raise ValueError("set both generator.height and generator.width, or neither (the pipeline's native size)")
        rounded = tuple(max(SIZE_MULTIPLE, round(v / SIZE_MULTIPLE) * SIZE_MULTIPLE) for v in (height, width))
        if rounded != (height, width):
            log.warning("generation size %dx%d rounded to %dx%d (a multiple of %d)", height, width, *rounded,
                        SIZE_MULTIPLE)
        return rounded
    parameters = inspect.signature(pipeline.__call__).parameters
    defaults = [parameters[k].default if k in parameters else None for k in ("height", "width")]
    if all(isinstance(v, int) for v in defaults):
        return defaults[0], defaults[1]
    return None


def to_uint8_video(clip: Any) -> np.ndarray:
    """One pipeline output video (PIL list, float in [0, 1], uint8; channels last or first) as uint8 (T, H, W, 3)."""
    if isinstance(clip, (list, tuple)):
        frames = np.stack([np.asarray(frame.convert("RGB")) if hasattr(frame, "convert") else np.asarray(frame)
                           for frame in clip])
    elif hasattr(clip, "detach"):
        frames = clip.detach().float().cpu().numpy()
    else:
        frames = np.asarray(clip)
    if frames.ndim != 4:
        raise PipelineOutputError(f"pipeline returned a video of shape {frames.shape}; expected (T, H, W, 3)")
    if frames.shape[-1] != 3 and frames.shape[1] == 3:
        frames = frames.transpose(0, 2, 3, 1)
    if frames.shape[-1] != 3:
        raise PipelineOutputError(f"pipeline returned a video of shape {frames.shape}; expected 3 colour channels")
    if frames.dtype != np.uint8:
        frames = np.round(np.clip(frames.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    return frames


def fit_frames(frames: np.ndarray, request: GenerationRequest) -> np.ndarray:
    """Resize to the suite's resolution (INTER_AREA), keep n_frames, and put the true context first."""
    if frames.shape[0] < request.n_frames:
        raise PipelineOutputError(
            f"pipeline returned {frames.shape[0]} frames, the suite needs {request.n_frames}; set "
            f"generator.num_frames to a count this pipeline accepts that is at least {request.n_frames}")
    height, width = request.resolution
    if frames.shape[1:3] != (height, width):
        frames = np.stack([cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA) for frame in frames])
    return np.concatenate([request.context, frames[request.n_context:request.n_frames]])
