"""Reading and writing videos: H.264 mp4 (PyAV), webm and gif (PyAV), and .npy / .npz uint8 arrays."""
from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".webm", ".gif", ".npz", ".npy")


class VideoFormatError(ValueError):
    """A video file that cannot be used; the message names the file and the fix."""


def write_mp4(path: str | os.PathLike, frames: np.ndarray, fps: float, crf: int = 18) -> Path:
    """Encode uint8 (T, H, W, 3) RGB frames as H.264 (yuv420p, browser-playable), atomically.

    Odd widths or heights cannot be 4:2:0 subsampled; such videos are written as yuv444p.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.ascontiguousarray(frames)
    _, height, width, _ = frames.shape
    pixel_format = "yuv420p" if height % 2 == 0 and width % 2 == 0 else "yuv444p"
    handle, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".mp4", dir=path.parent)
    os.close(handle)
    try:
        with av.open(staging, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
            stream.options = {"crf": str(crf), "preset": "veryfast"}
            for image in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            container.mux(stream.encode())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return path


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float | None]:
    """Decode a video file to uint8 (T, H, W, 3) RGB and its fps (None for arrays).

    Arrays (.npy, or .npz holding one array or one named `video`) load without pickle.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_EXTENSIONS:
        raise VideoFormatError(f"{path}: unsupported extension {suffix!r}; use one of {', '.join(VIDEO_EXTENSIONS)}")
    if suffix in (".npy", ".npz"):
        return _read_array(path), None
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoFormatError(f"{path}: no video stream; write the frames as H.264 mp4")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    except av.FFmpegError as error:
        raise VideoFormatError(f"{path}: cannot decode ({error}); re-encode it as H.264 mp4") from error
    if not frames:
        raise VideoFormatError(f"{path}: no frames decoded; re-encode it as H.264 mp4")
    return np.stack(frames), float(rate) if rate else None


def _read_array(path: Path) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                names = loaded.files
                if "video" in names:
                    array = loaded["video"]
                elif len(names) == 1:
                    array = loaded[names[0]]
                else:
                    raise VideoFormatError(f"{path}: holds arrays {names}; name the video array 'video'")
        else:
            array = loaded
    except VideoFormatError:
        raise
    except (OSError, ValueError) as error:
        raise VideoFormatError(f"{path}: not a readable numpy array ({error}); save with numpy.save") from error
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
        raise VideoFormatError(
            f"{path}: array is {array.dtype} {array.shape}; expected uint8 (T, H, W, 3) RGB"
        )
    return array
