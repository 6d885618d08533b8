"""The folder generator: a team's own videos, one file per clip id.

Layout: DIR/<family>/<split>/<seed:05d>.<ext> (what `physcheck export` lays out), or the flat
name DIR/<family>__<split>__<seed:05d>.<ext>. ext is one of mp4, webm, gif, npz, npy.

Shape policy (no silent resizing): the frames must have the suite's resolution exactly; a video
holds either all n_frames frames (context first) or only the n_frames - k generated ones, where k
is the number of context frames the request gives (n_context in v2v, 1 in i2v, 0 in t2v), in which
case those given frames are put in front.

Conditioning: a folder is what it is. When DIR/manifest.json records a `conditioning` mode (what
`physcheck export` writes, so answers generated into the export folder carry it), the folder serves
that mode only; otherwise any mode.

fps policy: frame i of the file is frame i of the clip, whatever the file's fps says (container rates
are often approximate: a GIF stores delays in 1/100 s). A different fps is accepted, logged as a
warning, and the clip keeps the suite's fps; the frame count is what is checked.

Safety (docs/reliability.md): a file is read only if it lies inside DIR once every symlink is resolved,
is a regular file, and is no larger than max_video_bytes; arrays load without pickle. Files that match
no clip are never read.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np

from .base import CONDITIONING_MODES, GENERATORS, GenerationRequest, Generator, Video, conditioning_mode
from .video_io import VIDEO_EXTENSIONS, VideoFormatError, read_video

log = logging.getLogger(__name__)

MAX_VIDEO_BYTES = 256 * 2**20
"""Default generator.max_video_bytes: 256 MiB, far above a suite clip (64x64x32 RGB is 393 KB raw)."""
FPS_TOLERANCE = 0.05
"""Relative fps difference logged as a mismatch (a GIF stores 8 fps as a 12 or 13 centisecond delay: 8.3 or 7.7 fps)."""


class MissingVideoError(FileNotFoundError):
    """The folder holds no video for a clip."""


def candidate_paths(folder: Path, clip_id: str) -> list[Path]:
    flat = clip_id.replace("/", "__")
    return [folder / f"{clip_id}{ext}" for ext in VIDEO_EXTENSIONS] + [folder / f"{flat}{ext}" for ext in VIDEO_EXTENSIONS]


def inside(folder: Path, path: Path) -> Path:
    """path with every symlink resolved, refused unless it stays inside folder (no `..`, no link out)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as error:  # a symlink loop
        raise VideoFormatError(f"{path}: cannot resolve ({error}); replace the link with the video file") from error
    if not resolved.is_relative_to(folder.resolve()):
        raise VideoFormatError(f"{path}: resolves to {resolved}, outside {folder}; copy the video into the folder "
                               "(links out of it are not followed)")
    return resolved


def find_video(folder: Path, clip_id: str) -> Path:
    """The clip's file (a regular file inside folder), or MissingVideoError with a hint at a near miss."""
    if ".." in Path(clip_id).parts or Path(clip_id).is_absolute():
        raise VideoFormatError(f"clip id {clip_id!r} leaves the folder; clip ids are <family>/<split>/<seed>")
    for path in candidate_paths(folder, clip_id):
        if path.is_symlink() or path.exists():
            resolved = inside(folder, path)
            if not resolved.exists():
                raise VideoFormatError(f"{path}: a link to {resolved}, which does not exist; put the video there")
            if not resolved.is_file():
                raise VideoFormatError(f"{path}: not a regular file; put the video file itself there")
            return path
    raise MissingVideoError(
        f"{folder}: no video for {clip_id}; expected {folder / clip_id}.mp4 (or .webm, .gif, .npz, .npy)"
        + near_miss_hint(folder, clip_id)
    )


def near_miss_hint(folder: Path, clip_id: str) -> str:
    """'; found X, rename it to Y' for a file that is probably the clip's under another name or one level down."""
    parts = clip_id.split("/")
    if len(parts) != 3 or not parts[2].isdigit():
        return ""
    family, split, seed = parts
    places = [(folder / family / split, re.compile(r"0*(\d+)"), ""),
              (folder, re.compile(rf"{re.escape(family)}__{re.escape(split)}__0*(\d+)", re.I), f"{family}__{split}__")]
    for directory, pattern, prefix in places:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            match = pattern.fullmatch(path.stem)
            if match and int(match.group(1)) == int(seed) and path.suffix.lower() in VIDEO_EXTENSIONS:
                return f"; found {path.name}, rename it to {prefix}{seed}{path.suffix.lower()}"
    nested = sorted(p for p in folder.glob(f"*/{clip_id}.*") if p.suffix.lower() in VIDEO_EXTENSIONS)
    if nested:
        return f"; found {nested[0]}, one folder down: set generator.path={nested[0].parents[2]}"
    return ""


def recorded_conditioning(folder: Path) -> str | None:
    """The `conditioning` mode recorded in folder/manifest.json, or None when there is no manifest or no key."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: unreadable ({error}); fix or remove it (it only records the conditioning mode "
                         "for the folder generator)") from None
    mode = manifest.get("conditioning") if isinstance(manifest, dict) else None
    if mode is None:
        return None
    return conditioning_mode(str(mode), key=f"{path}: conditioning").name


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
    if request.n_context == 0:
        raise VideoFormatError(f"{path}: {frames.shape[0]} frames, expected {request.n_frames} "
                               f"({request.conditioning}: every frame is generated)")
    raise VideoFormatError(
        f"{path}: {frames.shape[0]} frames, expected {request.n_frames} (context included) "
        f"or {generated} (generated only)"
    )


@GENERATORS.register("folder")
class Folder(Generator):
    """Reads pre-generated videos from `path`; files over max_video_bytes are refused unread."""

    supported_conditioning = CONDITIONING_MODES

    def __init__(self, path: str, max_video_bytes: int = MAX_VIDEO_BYTES, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: not a folder; set generator.path to your videos' folder")
        if not isinstance(max_video_bytes, int) or isinstance(max_video_bytes, bool) or max_video_bytes < 1:
            raise ValueError(f"generator.max_video_bytes must be a positive number of bytes, got {max_video_bytes!r}")
        self.max_video_bytes = max_video_bytes
        self.recorded_conditioning = recorded_conditioning(self.path)

    def conditioning_modes(self) -> tuple[str, ...]:
        """The mode recorded in the folder's manifest.json, else any."""
        return (self.recorded_conditioning,) if self.recorded_conditioning else self.supported_conditioning

    def conditioning_source(self) -> str:
        return f"recorded in {self.path / 'manifest.json'}" if self.recorded_conditioning else ""

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        return [self.load(request) for request in requests]

    def load(self, request: GenerationRequest) -> Video:
        path = find_video(self.path, request.clip_id)
        frames, fps = read_video(inside(self.path, path), max_bytes=self.max_video_bytes,
                                 max_frames=request.n_frames, resolution=request.resolution)
        if fps and abs(fps - request.fps) > FPS_TOLERANCE * request.fps:
            log.warning("%s: %.3g fps, the suite's is %g; frames are taken one for one (the frame count is what "
                        "counts)", path, fps, request.fps)
        return Video(fit_request(frames, request, path), request.fps)

    def checksum(self) -> str:
        """SHA-256 over the relative names and contents of the folder's video files (regular files inside the
        folder within max_video_bytes; any other entry counts by its name and the reason it is refused)."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS):
            digest.update(str(path.relative_to(self.path)).encode())
            digest.update(self.file_digest(path))
        return digest.hexdigest()[:16]

    def file_digest(self, path: Path) -> bytes:
        try:
            resolved = inside(self.path, path)
            if not resolved.is_file():
                return b"not a regular file"
            if resolved.stat().st_size > self.max_video_bytes:
                return f"over the limit: {resolved.stat().st_size} bytes".encode()
            with resolved.open("rb") as handle:
                return hashlib.file_digest(handle, "sha256").digest()
        except (VideoFormatError, OSError) as error:
            return type(error).__name__.encode()
