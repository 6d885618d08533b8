"""The folder generator: a team's own videos, one file per clip id.

Layout: DIR/<family>/<split>/<seed:05d>.<ext> (what `physcheck export` lays out), or the flat
name DIR/<family>__<split>__<seed:05d>.<ext>. ext is one of mp4, webm, gif, npz, npy.

Shape policy (no silent resizing): the frames must have the suite's resolution exactly; a video
holds either all n_frames frames (context first) or only the n_frames - n_context generated
ones, in which case the request's context frames are put in front.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .base import GENERATORS, GenerationRequest, Generator, Video
from .video_io import VIDEO_EXTENSIONS, VideoFormatError, read_video


class MissingVideoError(FileNotFoundError):
    """The folder holds no video for a clip."""


def candidate_paths(folder: Path, clip_id: str) -> list[Path]:
    flat = clip_id.replace("/", "__")
    return [folder / f"{clip_id}{ext}" for ext in VIDEO_EXTENSIONS] + [folder / f"{flat}{ext}" for ext in VIDEO_EXTENSIONS]


def find_video(folder: Path, clip_id: str) -> Path:
    for path in candidate_paths(folder, clip_id):
        if path.is_file():
            return path
    raise MissingVideoError(
        f"{folder}: no video for {clip_id}; expected {folder / clip_id}.mp4 (or .webm, .gif, .npz, .npy)"
    )


def fit_request(frames: np.ndarray, request: GenerationRequest, path: Path) -> np.ndarray:
    """Check a loaded video against the request and put the context in front when it is missing."""
    height, width = request.resolution
    if frames.shape[1:3] != (height, width):
        raise VideoFormatError(
            f"{path}: frames are {frames.shape[1]}x{frames.shape[2]} (HxW), expected {height}x{width}; "
            "resize to the suite's resolution"
        )
    generated = request.n_frames - request.n_context
    if frames.shape[0] == request.n_frames:
        return frames
    if frames.shape[0] == generated:
        return np.concatenate([request.context, frames])
    raise VideoFormatError(
        f"{path}: {frames.shape[0]} frames, expected {request.n_frames} (context included) "
        f"or {generated} (generated only)"
    )


@GENERATORS.register("folder")
class Folder(Generator):
    """Reads pre-generated videos from `path`."""

    def __init__(self, path: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: not a folder; set generator.path to your videos' folder")

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        return [self.load(request) for request in requests]

    def load(self, request: GenerationRequest) -> Video:
        path = find_video(self.path, request.clip_id)
        frames, fps = read_video(path)
        return Video(fit_request(frames, request, path), fps or request.fps)

    def checksum(self) -> str:
        """SHA-256 over the relative names and contents of the folder's video files."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS):
            digest.update(str(path.relative_to(self.path)).encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()[:16]
