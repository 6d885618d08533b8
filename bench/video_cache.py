"""Generated videos cached by content hash: a second run of the same configuration generates nothing.

Layout: `<cache dir>/videos/<key[:2]>/<key>.npz`, next to the ground-truth cache (`PHYSCHECK_CACHE`,
or the platform's user cache folder). An entry holds the frames exactly as the generator returned
them (uint8 (T, H, W, 3), lossless: a run scores those frames, never the mp4 it writes), the fps and
the SHA-256 of the frames; a read checks all three and an entry that fails is regenerated and
replaced, never trusted. Entries are written atomically (temporary file, fsync, rename), so runs
sharing the cache never see half an entry: two that generate the same batch write identical files.

The key of a video hashes everything its bits depend on: the generator's `cache_identity()` (its
weights and options; a generator returning None is never cached), torch's thread count, every
request of its batch and its place in that batch (a model's output can change in the last bit with
the batch it was sampled in, and batches are fixed by suite order: bench/executor.py). A batch is
taken from the cache only when every one of its videos is there, else generated whole, so a cached
run is identical to the bit to one that generated everything.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from generators import GenerationRequest, Video

from .results import write_atomic

log = logging.getLogger(__name__)


def request_digest(request: GenerationRequest) -> str:
    """SHA-256 of everything a request hands a generator: ids, prompt, context pixels, sizes, seed, mode."""
    digest = hashlib.sha256()
    fields = (request.clip_id, request.prompt, request.n_frames, request.fps, tuple(request.resolution), request.seed,
              request.conditioning, request.context.shape)
    digest.update(repr(fields).encode())
    digest.update(np.ascontiguousarray(request.context).tobytes())
    return digest.hexdigest()


def batch_keys(identity: str, torch_threads: int, requests: Sequence[GenerationRequest]) -> list[str]:
    """One cache key per request of a batch (see the module docstring for what enters it)."""
    batch = hashlib.sha256(repr((identity, torch_threads, [request_digest(r) for r in requests])).encode()).hexdigest()
    return [hashlib.sha256(f"{batch}/{position}".encode()).hexdigest() for position in range(len(requests))]


def frames_digest(frames: np.ndarray) -> str:
    digest = hashlib.sha256(repr((frames.dtype.str, frames.shape)).encode())
    digest.update(np.ascontiguousarray(frames).tobytes())
    return digest.hexdigest()


class VideoCache:
    """Videos by key under `<root>/videos`; get_batch returns all of a batch or nothing."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root) / "videos"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> Video | None:
        """The cached video of `key`, or None when it is absent or its entry fails a check (then it is deleted)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as entry:
                frames, fps, recorded = entry["frames"], float(entry["fps"]), str(entry["sha256"])
            if frames_digest(frames) != recorded:
                raise ValueError("the frames do not match their SHA-256")
            return Video(frames, fps)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            log.warning("generated-video cache: %s is corrupt (%s); generating it again", path, error)
            path.unlink(missing_ok=True)
            return None

    def get_batch(self, keys: Sequence[str]) -> list[Video] | None:
        videos = []
        for key in keys:
            video = self.get(key)
            if video is None:
                return None
            videos.append(video)
        return videos

    def put(self, key: str, video: Video) -> None:
        """Store one video atomically; a failure to write (a full disk) costs the cache, never the run."""
        path = self.path(key)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, frames=video.frames, fps=np.float64(video.fps),
                            sha256=np.array(frames_digest(video.frames)))
        try:
            write_atomic(path, buffer.getvalue())
        except OSError as error:
            log.warning("generated-video cache: cannot write %s (%s)", path, error)

    def put_batch(self, keys: Sequence[str], videos: Sequence[Video]) -> None:
        for key, video in zip(keys, videos):
            self.put(key, video)
