"""Reading and writing videos: H.264 mp4 (PyAV), webm and gif (PyAV), and .npy / .npz uint8 arrays."""
from __future__ import annotations

import os
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

VIDEO_EXTENSIONS = (".mp4", ".webm", ".gif", ".npz", ".npy")


class VideoFormatError(ValueError):
    """A video file that cannot be used; the message names the file and the fix."""


X264_PARAMS = "asm=0"
"""libx264's assembly paths do not give the same bytes for the same frames on the suites' 64x64 clips (its
macroblock tree read differently from one encode to the next: 3 distinct files in 40 encodes of one clip, and
with them different decoded pixels, so the meta-evaluation's h264 corruption scored a clip differently run to
run). Its C paths do (1 file in 40, on one thread or several); a 32-frame 64x64 clip takes 8 ms instead of 4."""
ENCODE_THREADS = 1
"""One encoder thread: the executor already runs one worker per core."""


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
            stream.options = {"crf": str(crf), "preset": "veryfast", "x264-params": X264_PARAMS}
            stream.codec_context.thread_count = ENCODE_THREADS
            to_yuv = VideoReformatter()  # one single-threaded converter: PyAV's threaded default is not deterministic
            for image in frames:
                frame = to_yuv.reformat(av.VideoFrame.from_ndarray(image, format="rgb24"), format=pixel_format, threads=1)
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return path


def one_line(text: object) -> str:
    """Collapse an error text to one line (FFmpeg and numpy messages may span several)."""
    return " ".join(str(text).split())


def read_video(path: str | os.PathLike, *, max_bytes: int | None = None, max_frames: int | None = None,
               resolution: tuple[int, int] | None = None) -> tuple[np.ndarray, float | None]:
    """Decode a video file to uint8 (T, H, W, 3) RGB and its fps (None for arrays).

    Arrays (.npy, or .npz holding one array or one named `video`) load without pickle; grey (T, H, W) or
    (T, H, W, 1) frames become RGB and fully opaque RGBA drops its alpha; any other dtype or layout is refused.
    The limits, when given, are checked before the frames are read: max_bytes on the file (and on an .npz
    member unpacked), resolution (H, W) on the stream or array header, max_frames while decoding.
    Every problem raises VideoFormatError with one line naming the file and the fix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_EXTENSIONS:
        raise VideoFormatError(f"{path}: unsupported extension {suffix!r}; use one of {', '.join(VIDEO_EXTENSIONS)}")
    check_size(path, max_bytes)
    if suffix in (".npy", ".npz"):
        return _read_array(path, max_bytes), None
    return _decode(path, max_frames, resolution)


def check_size(path: Path, max_bytes: int | None) -> None:
    """Refuse an empty file, and one over max_bytes, from its size alone."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise VideoFormatError(f"{path}: cannot read ({one_line(error.strerror or error)}); check the file") from error
    if size == 0:
        raise VideoFormatError(f"{path}: empty file (0 bytes); write the video again")
    if max_bytes is not None and size > max_bytes:
        raise VideoFormatError(f"{path}: {size} bytes, over the limit of {max_bytes} bytes; shrink the video or "
                               "raise generator.max_video_bytes")


DECODE_THREADS = 1
"""Threads FFmpeg may use to decode one video and to convert its frames to RGB. One: a worker process is one
core's share of the machine (the executor runs one worker per core), and for the suites' small frames threads
cost more than they save: PyAV's default starts a new swscale thread pool for every frame converted, which
made decoding a 64x64x32 clip take 10 times longer than decoding it on one thread (benchmarks/metric_speed.py)."""


def _decode(path: Path, max_frames: int | None, resolution: tuple[int, int] | None) -> tuple[np.ndarray, float | None]:
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoFormatError(f"{path}: no video stream; write the frames as H.264 mp4")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = DECODE_THREADS
            size = (stream.codec_context.height, stream.codec_context.width)
            if resolution is not None and all(size) and size != tuple(resolution):
                raise VideoFormatError(f"{path}: frames are {size[0]}x{size[1]} (HxW), expected "
                                       f"{resolution[0]}x{resolution[1]}; resize to the suite's resolution")
            rate = stream.average_rate or stream.base_rate
            to_rgb = VideoReformatter()  # one conversion context for every frame, not one per frame
            for frame in container.decode(stream):
                if max_frames is not None and len(frames) == max_frames:
                    raise VideoFormatError(f"{path}: more than {max_frames} frames; write at most {max_frames}")
                frames.append(to_rgb.reformat(frame, format="rgb24", threads=DECODE_THREADS).to_ndarray())
        if not frames:
            raise VideoFormatError(f"{path}: no frames decoded; re-encode it as H.264 mp4")
        return np.stack(frames), float(rate) if rate else None
    except VideoFormatError:
        raise
    except Exception as error:  # noqa: BLE001 - a hostile or broken file: FFmpeg, numpy or OS errors alike
        where = f" after frame {len(frames)}, truncated or corrupt" if frames else ""
        raise VideoFormatError(f"{path}: cannot decode{where} ({type(error).__name__}: {one_line(error)}); "
                               "re-encode it as H.264 mp4") from error


def _read_array(path: Path, max_bytes: int | None) -> np.ndarray:
    try:
        if path.suffix.lower() == ".npz":
            array = _npz_member(path, max_bytes)
        else:  # memory-mapped: the header is checked before the data is read
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        return as_rgb(path, array)
    except VideoFormatError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error) or "Python objects" in str(error):
            raise VideoFormatError(f"{path}: holds Python objects (pickle), which are never loaded; save a uint8 "
                                   "(T, H, W, 3) array with numpy.save") from error
        raise VideoFormatError(f"{path}: not a readable numpy array ({type(error).__name__}: {one_line(error)}); "
                               "save a uint8 (T, H, W, 3) array with numpy.save") from error
    except Exception as error:  # noqa: BLE001 - a hostile or broken file
        raise VideoFormatError(f"{path}: not a readable numpy array ({type(error).__name__}: {one_line(error)}); "
                               "save a uint8 (T, H, W, 3) array with numpy.save") from error


def _npz_member(path: Path, max_bytes: int | None) -> np.ndarray:
    """The video array of an .npz: the one named `video`, or its only array; refused if it unpacks past max_bytes."""
    with zipfile.ZipFile(path) as archive:
        names = [name.removesuffix(".npy") for name in archive.namelist()]
        if "video" in names:
            name = "video"
        elif len(names) == 1:
            name = names[0]
        else:
            raise VideoFormatError(f"{path}: holds arrays {names}; name the video array 'video'")
        unpacked = archive.getinfo(f"{name}.npy").file_size
        if max_bytes is not None and unpacked > max_bytes:
            raise VideoFormatError(f"{path}: array {name!r} unpacks to {unpacked} bytes, over the limit of "
                                   f"{max_bytes} bytes; shrink the video or raise generator.max_video_bytes")
    with np.load(path, allow_pickle=False) as loaded:
        return loaded[name]


def as_rgb(path: Path, array: np.ndarray) -> np.ndarray:
    """uint8 (T, H, W, 3) from an array: grey and fully opaque RGBA are converted, anything ambiguous refused."""
    if array.dtype != np.uint8:
        raise VideoFormatError(f"{path}: {_dtype_problem(array)}; expected uint8 (T, H, W, 3) RGB in 0..255, "
                               f"convert it first ({_dtype_fix(array)})")
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        raise VideoFormatError(f"{path}: array {array.shape} looks like one image; save all frames as (T, H, W, 3)")
    if array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 1):  # grey: the same value in R, G and B
        return np.repeat(np.asarray(array).reshape(*array.shape[:3], 1), 3, axis=-1)
    if array.ndim == 4 and array.shape[-1] == 4:
        if not (array[..., 3] == 255).all():
            raise VideoFormatError(f"{path}: RGBA frames with transparent pixels (alpha < 255); composite them onto "
                                   "their background and save RGB (T, H, W, 3)")
        return np.array(array[..., :3])
    if array.ndim != 4 or array.shape[-1] != 3:
        raise VideoFormatError(f"{path}: array is {array.dtype} {array.shape}; expected uint8 (T, H, W, 3) RGB")
    return np.array(array)


def _dtype_problem(array: np.ndarray) -> str:
    if array.dtype.kind == "f" and array.size and np.isnan(array).any():
        return f"array is {array.dtype} {array.shape} holding NaN"
    return f"array is {array.dtype} {array.shape}"


def _dtype_fix(array: np.ndarray) -> str:
    if array.dtype == np.uint16:
        return "16-bit: (x >> 8).astype(np.uint8)"
    if array.dtype.kind == "f":
        return "floats in 0..1: (np.nan_to_num(x) * 255).round().clip(0, 255).astype(np.uint8)"
    return "x.clip(0, 255).astype(np.uint8) if the values are 0..255"
