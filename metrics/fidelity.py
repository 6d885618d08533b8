"""Pixel fidelity against the ground truth: PSNR, SSIM and background flicker.

These measure image quality, not physics: they are reported beside the physics scores and never
mixed into them. All three compare the frames after the context (common.evaluated_frames) with
clip.video, so they need a video that starts from the true context (needs_alignment). They raise
no failure tags: blur, noise and compression lower them by design.
"""
from __future__ import annotations

import cv2
import numpy as np

from simulators import Clip

from .base import MetricOutput, register_metric
from .common import evaluated_frames, frames_or_reason
from .observation import Observation

PSNR_CAP_DB = 50.0
"""Per-frame PSNR is capped here (identical frames give infinity); value = mean capped PSNR / cap.
50 dB is an RMS error of 0.8 grey levels, below what 8-bit video shows."""
SSIM_WINDOW_PX = 11
"""Gaussian window of SSIM (Wang et al. 2004): 11 x 11, sigma SSIM_SIGMA_PX."""
SSIM_SIGMA_PX = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
"""Wang et al. 2004 stabilising constants: C1 = (K1 L)^2, C2 = (K2 L)^2 with L = 255."""
STILL_TOLERANCE_GREY = 2
"""A background pixel is still between two frames when no channel of the truth changes by more than this."""
FLICKER_CAP_GREY = 6.0
"""flicker value = 1 - min(1, excess / cap): a mean frame-to-frame change of 6 grey levels more than the
truth's over a still background is plain flicker (3 to 4 times the visible step on mid greys)."""


def psnr_db(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(T,) PSNR in dB of uint8 (T, H, W, 3) frames against the reference, capped at PSNR_CAP_DB."""
    difference = absolute_difference(reference.reshape(len(reference), -1), other.reshape(len(other), -1)).astype(np.int64)
    # Integer sums of squares: exactly the float64 sums np.mean adds up (every partial sum is an integer below 2^53).
    mse = np.einsum("ij,ij->i", difference, difference) / difference.shape[1]
    with np.errstate(divide="ignore"):
        psnr = 10.0 * np.log10(255.0 ** 2 / mse)
    return np.minimum(psnr, PSNR_CAP_DB)


def ssim(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(T,) mean SSIM (Wang et al. 2004, Gaussian-weighted, per RGB channel) of uint8 (T, H, W, 3) frames.

    Means, variances and covariance use an 11 x 11 Gaussian window (sigma 1.5); the SSIM map is
    averaged over the pixels whose window lies inside the image, as scikit-image does.
    """
    c1, c2 = (SSIM_K1 * 255.0) ** 2, (SSIM_K2 * 255.0) ** 2
    size, margin = (SSIM_WINDOW_PX, SSIM_WINDOW_PX), SSIM_WINDOW_PX // 2
    scores = np.empty(len(reference))
    for t, (x, y) in enumerate(zip(reference.astype(np.float64), other.astype(np.float64))):
        def window(image: np.ndarray) -> np.ndarray:
            return cv2.GaussianBlur(image, size, SSIM_SIGMA_PX, borderType=cv2.BORDER_REFLECT)

        mu_x, mu_y = window(x), window(y)
        var_x = window(x * x) - mu_x * mu_x
        var_y = window(y * y) - mu_y * mu_y
        cov = window(x * y) - mu_x * mu_y
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
        interior = ssim_map[margin:-margin, margin:-margin] if min(x.shape[:2]) > 2 * margin else ssim_map
        scores[t] = interior.mean()
    return scores


@register_metric("psnr", principle="fidelity", unit="dB", needs_alignment=True)
def psnr(clip: Clip, observation: Observation) -> MetricOutput:
    """Peak signal-to-noise ratio against the truth after the context (dB, capped at 50), value = dB / 50."""
    frames, reason = frames_or_reason(clip, observation)
    if frames is None:
        return MetricOutput(np.nan, np.nan, reason=reason)
    scored = evaluated_frames(clip)
    mean_db = float(psnr_db(clip.video[scored], frames[scored]).mean())
    return MetricOutput(mean_db / PSNR_CAP_DB, mean_db)


@register_metric("ssim", principle="fidelity", unit="SSIM", needs_alignment=True)
def structural_similarity(clip: Clip, observation: Observation) -> MetricOutput:
    """Structural similarity (Wang et al. 2004) with the truth after the context, averaged over frames."""
    frames, reason = frames_or_reason(clip, observation)
    if frames is None:
        return MetricOutput(np.nan, np.nan, reason=reason)
    scored = evaluated_frames(clip)
    mean_ssim = float(ssim(clip.video[scored], frames[scored]).mean())
    return MetricOutput(float(np.clip(mean_ssim, 0.0, 1.0)), mean_ssim)


def still_background(clip: Clip) -> np.ndarray:
    """(T - 1, H, W) bool: pixel is background (seg -1) in frames t and t + 1 and the truth does not change there."""
    changes = frame_changes(clip.video)
    change = np.maximum(np.maximum(changes[..., 0], changes[..., 1]), changes[..., 2])  # .max(axis=-1), faster
    return (clip.seg[1:] < 0) & (clip.seg[:-1] < 0) & (change <= STILL_TOLERANCE_GREY)


def frame_changes(video: np.ndarray) -> np.ndarray:
    """uint8 (T - 1, ...) |frame t + 1 - frame t| of a uint8 (T, ...) video, per pixel and channel."""
    n_pairs, pixels = len(video) - 1, int(np.prod(video.shape[1:]))
    return absolute_difference(video[1:].reshape(n_pairs, pixels), video[:-1].reshape(n_pairs, pixels)).reshape(
        n_pairs, *video.shape[1:])


def absolute_difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """uint8 |first - second| of two uint8 arrays of one shape (exact: OpenCV's absdiff, numpy for empty ones)."""
    if first.size == 0:
        return np.abs(first.astype(np.int16) - second.astype(np.int16)).astype(np.uint8)
    return cv2.absdiff(first, second)


@register_metric("flicker", principle="fidelity", unit="grey levels", needs_alignment=True)
def flicker(clip: Clip, observation: Observation) -> MetricOutput:
    """Frame-to-frame change over the truth's still background beyond the truth's own (grey levels, mean)."""
    frames, reason = frames_or_reason(clip, observation)
    if frames is None:
        return MetricOutput(np.nan, np.nan, reason=reason)
    pairs = evaluated_frames(clip)[1:]  # pair (t - 1, t) for every scored frame t, the seam with the context included
    still = still_background(clip) & pairs[:, None, None]
    if not still.any():
        return MetricOutput(np.nan, np.nan, reason="no background pixel stays still after the context in the ground truth")

    still_pixels = np.flatnonzero(still)  # over (T - 1) x H x W, C order

    def mean_change(video: np.ndarray) -> float:
        """Mean over the still pixels of the channels' mean |change|: what
        np.abs(video[1:] - video[:-1]).mean(axis=-1)[still].mean() gives in int16 (the mean of 3 integers is their
        exact sum divided by 3), without its slow reductions over the short channel axis and 4-D masking."""
        changes = frame_changes(video)
        channel_sum = changes[..., 0].astype(np.int32) + changes[..., 1] + changes[..., 2]
        return float((channel_sum.reshape(-1)[still_pixels] / 3).mean())

    excess = max(0.0, mean_change(frames) - mean_change(clip.video))
    return MetricOutput(1.0 - min(1.0, excess / FLICKER_CAP_GREY), excess)
