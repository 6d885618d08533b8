"""Corruptions of a ground-truth video with a known label: the failures the metrics must catch."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from simulators import Clip, Registry


def paint_out(video: np.ndarray, seg: np.ndarray, object_id: int, from_frame: int) -> np.ndarray:
    """The object `object_id` vanishes from `from_frame` on: its pixels (grown by 1 px) take the
    median colour of a ring of surrounding pixels. video uint8 (T, H, W, 3), seg int (T, H, W)."""
    out = video.copy()
    small = np.ones((3, 3), np.uint8)
    for t in range(from_frame, video.shape[0]):
        mask = (seg[t] == object_id).astype(np.uint8)
        if not mask.any():
            continue
        grown = cv2.dilate(mask, small).astype(bool)
        ring = cv2.dilate(mask, np.ones((9, 9), np.uint8)).astype(bool) & ~grown
        out[t][grown] = np.median(video[t][ring], axis=0).astype(np.uint8) if ring.any() else 128
    return out


def paint_in(video: np.ndarray, from_frame: int, rgb: tuple[int, int, int], centre: tuple[float, float],
             radius: float) -> np.ndarray:
    """A disc of colour `rgb` appears at pixel `centre` (u, v) from `from_frame` on: the pixels whose centres lie
    within `radius` px of it, as a renderer without anti-aliasing draws a sphere, so a sub-pixel centre or radius
    moves or sizes the disc by less than a pixel (a disc drawn at the rounded centre jumped by up to half a pixel
    a frame, which bent a 4-frame parabola of gravity_scale by up to 2 px/frame^2, where gravity is about 2.5)."""
    out = video.copy()
    rows, columns = np.mgrid[0:video.shape[1], 0:video.shape[2]]
    disc = (columns - centre[0]) ** 2 + (rows - centre[1]) ** 2 <= radius**2
    out[from_frame:, disc] = np.asarray(rgb, np.uint8)
    return out


# --------------------------------------------------------------------------- labelled corruptions
@dataclass(frozen=True)
class Corruption:
    """A transformation of a ground-truth clip with a known label.

    fn(clip, severity in (0, 1]) -> uint8 (T, H, W, 3); the context frames are never touched.
    harmful: a physics failure the metrics must catch; expected_tag: the failure tag it should
    raise ('' for harmless ones, which must raise none); also_expected: further tags it should
    raise (a reversed clip diverges from the truth and is also time reversed).
    """

    name: str
    fn: Callable[[Clip, float], np.ndarray]
    harmful: bool
    expected_tag: str
    description: str
    also_expected: tuple[str, ...] = ()

    @property
    def expected_tags(self) -> tuple[str, ...]:
        return (self.expected_tag, *self.also_expected) if self.expected_tag else self.also_expected


CORRUPTIONS: Registry[Corruption] = Registry("corruption")


def corruption(name: str, *, harmful: bool, expected_tag: str = "", also_expected: tuple[str, ...] = ()):
    def decorate(fn):
        CORRUPTIONS.add(name, Corruption(name, fn, harmful, expected_tag, (fn.__doc__ or "").strip().splitlines()[0],
                                         tuple(also_expected)))
        return fn

    return decorate


def onset(clip: Clip, severity: float) -> int:
    """First corrupted frame: severity 1 corrupts every frame after the context, 0.25 the last quarter."""
    n_context, n_frames = clip.spec.n_context, clip.spec.n_frames
    return int(n_frames - max(1, round(severity * (n_frames - n_context))))


def most_visible_object(clip: Clip, start: int) -> int:
    """Index (in tracked_objects) of the object visible in the most frames from `start` on."""
    visible = clip.track_matrix("visible_frac")[start:] >= 0.5
    return int(np.argmax(visible.sum(axis=0)))


@corruption("vanish", harmful=True, expected_tag="object_vanished", also_expected=("count_changed",))
def vanish(clip: Clip, severity: float) -> np.ndarray:
    """The most visible object is painted out from the onset frame on."""
    start = onset(clip, severity)
    target = clip.tracked_objects[most_visible_object(clip, start)]
    return paint_out(clip.video, clip.seg, target.id, start)


@corruption("appear", harmful=True, expected_tag="object_appeared", also_expected=("count_changed",))
def appear(clip: Clip, severity: float) -> np.ndarray:
    """A disc of a colour no object has, the size of an object, appears in an empty corner."""
    start = onset(clip, severity)
    used = {obj.rgb for obj in clip.tracked_objects}
    rgb = next((colour for colour in _palette() if colour not in used), (255, 0, 255))
    radius = max(3.0, float(np.sqrt(np.nanmedian(clip.track_matrix("silhouette_px")) / np.pi)))
    height, width = clip.spec.resolution
    corners = [(radius + 2, radius + 2), (width - radius - 3, radius + 2)]
    occupancy = [(clip.seg[start:, :int(2 * radius + 4), int(max(0, u - radius - 2)):int(u + radius + 3)] >= 0).sum()
                 for u, _ in corners]
    return paint_in(clip.video, start, rgb, corners[int(np.argmin(occupancy))], radius)


@corruption("teleport", harmful=True, expected_tag="trajectory_diverged")
def teleport(clip: Clip, severity: float) -> np.ndarray:
    """The most visible object jumps sideways by 0.1 + 0.2 * severity of the image width at mid-clip."""
    start = (clip.spec.n_context + clip.spec.n_frames) // 2
    k = most_visible_object(clip, start)
    target = clip.tracked_objects[k]
    out = paint_out(clip.video, clip.seg, target.id, start)
    width = clip.spec.resolution[1]
    u = clip.track_matrix("seg_u")[start:, k]
    direction = -1 if np.nanmean(u) > width / 2 else 1
    shift = int(round(direction * (0.1 + 0.2 * severity) * width))
    return paste_shifted(out, clip, target.id, start, shift)


def paste_shifted(out: np.ndarray, clip: Clip, object_id: int, from_frame: int, shift: int) -> np.ndarray:
    """Paste the object's true pixels `shift` px to the right (left if negative) into `out` from `from_frame` on."""
    width = clip.spec.resolution[1]
    for t in range(from_frame, clip.spec.n_frames):
        ys, xs = np.nonzero(clip.seg[t] == object_id)
        keep = (xs + shift >= 0) & (xs + shift < width)
        out[t, ys[keep], xs[keep] + shift] = clip.video[t, ys[keep], xs[keep]]
    return out


@corruption("freeze", harmful=True, expected_tag="trajectory_diverged")
def freeze(clip: Clip, severity: float) -> np.ndarray:
    """Time stops at the onset frame: every later frame repeats it."""
    start = onset(clip, severity)
    out = clip.video.copy()
    out[start:] = clip.video[start - 1]
    return out


@corruption("time_reverse", harmful=True, expected_tag="trajectory_diverged", also_expected=("time_reversed",))
def time_reverse(clip: Clip, severity: float) -> np.ndarray:
    """The frames from the onset on are played backwards."""
    start = onset(clip, severity)
    out = clip.video.copy()
    out[start:] = clip.video[start:][::-1]
    return out


@corruption("time_scale", harmful=True, expected_tag="trajectory_diverged")
def time_scale(clip: Clip, severity: float) -> np.ndarray:
    """The continuation plays 1 + 2 * severity times too fast (as under a stronger gravity), then holds."""
    n_context, n_frames = clip.spec.n_context, clip.spec.n_frames
    speed = 1.0 + 2.0 * severity
    source = n_context - 1 + np.round((np.arange(n_context, n_frames) - n_context + 1) * speed).astype(int)
    out = clip.video.copy()
    out[n_context:] = clip.video[np.minimum(source, n_frames - 1)]
    return out


@corruption("blur", harmful=False)
def blur(clip: Clip, severity: float) -> np.ndarray:
    """Gaussian blur of sigma 0.3 + 0.5 * severity px after the context."""
    return _after_context(clip, lambda frame: cv2.GaussianBlur(frame, (0, 0), 0.3 + 0.5 * severity))


@corruption("noise", harmful=False)
def noise(clip: Clip, severity: float) -> np.ndarray:
    """Gaussian pixel noise of 2 + 6 * severity grey levels after the context (seeded by the clip)."""
    rng = np.random.default_rng(clip.spec.seed)
    return _after_context(clip, lambda frame: np.clip(frame + rng.normal(0, 2 + 6 * severity, frame.shape), 0, 255)
                          .astype(np.uint8))


@corruption("h264", harmful=False)
def h264(clip: Clip, severity: float) -> np.ndarray:
    """An H.264 round trip at crf 18 + 10 * severity (28 at severity 1, the measured reference)."""
    import tempfile

    from .video_io import read_video, write_mp4

    with tempfile.TemporaryDirectory() as folder:
        path = write_mp4(f"{folder}/clip.mp4", clip.video, clip.spec.fps, crf=int(round(18 + 10 * severity)))
        frames, _ = read_video(path)
    out = clip.video.copy()
    out[clip.spec.n_context:] = frames[clip.spec.n_context:]
    return out


@corruption("colour_shift", harmful=False)
def colour_shift(clip: Clip, severity: float) -> np.ndarray:
    """Every colour's hue turns by 6 * severity degrees after the context (a small white-balance error)."""

    def shift(frame: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV_FULL).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + int(round(6 * severity * 256 / 360))) % 256
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)

    return _after_context(clip, shift)


@corruption("duplicate_frame", harmful=False)
def duplicate_frame(clip: Clip, severity: float) -> np.ndarray:
    """One frame after the context shows the previous frame again (a stutter)."""
    frame = onset(clip, severity)
    out = clip.video.copy()
    out[frame] = clip.video[frame - 1]
    return out


def _after_context(clip: Clip, transform: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = clip.video.copy()
    for t in range(clip.spec.n_context, clip.spec.n_frames):
        out[t] = transform(clip.video[t])
    return out


def _palette() -> list[tuple[int, int, int]]:
    from simulators.families.base import PALETTE

    return [rgb for _, rgb in PALETTE]


# Corruptions kept beside the metrics they prove (each module imports the helpers above).
from . import corruptions_direction, corruptions_dynamics, corruptions_shape  # noqa: E402,F401
