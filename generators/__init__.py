"""The Generator interface, the reference generators, and adapters for outside videos."""
from . import (  # noqa: F401  (registration)
    baselines,
    diffusers_adapter,  # noqa: F401  (registration; diffusers/torch load only when used)
    folder,
    linear,
    physical_variance,
)
from .base import GENERATORS, GenerationRequest, Generator, GroundTruth, Video
from .diffusion import generator as _diffusion  # noqa: F401  (registration; torch loads only when used)
from .folder import MissingVideoError
from .video_io import VideoFormatError, read_video, write_mp4

__all__ = [
    "GENERATORS", "GenerationRequest", "Generator", "GroundTruth", "Video", "MissingVideoError",
    "VideoFormatError", "read_video", "write_mp4",
]
