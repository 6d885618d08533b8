"""Physics-IQ-compatible motion-mask metrics (Motamed et al. 2025, "Do generative video models
understand physical principles?", and google-deepmind/physics-IQ-benchmark), own implementation.

Motion masks come from a running-average background model (Physics-IQ's recipe, see
`motion_masks`); the frames after the context (at most the first PIQ_WINDOW_S seconds) are compared
with the truth's masks: spatial IoU (where), spatiotemporal IoU (where and when), weighted spatial
IoU (where and how much) and MSE. `raw` is always the Physics-IQ number as their scorer defines it.

Where we differ (documented in docs/metrics.md):
- Resolution: masks are scored at the clip's own resolution (no quarter-size resize; 16 px would
  make a ball one cell), and videos below SMALL_VIDEO_PX use 3 px kernels instead of 5 px.
- The context is given to the background model (masks run over the whole clip, frames before the
  context's end are not scored), so the first generated frame already has a mask.
- Garbage: Physics-IQ's IoUs reward motion everywhere (noise, a cut to black) with the truth's
  share of moving pixels, more than a frozen video's 0. `value` drops cut frames (the still scene
  changes at once) and the ghost masks they leave, and multiplies by `motion_gate`, which goes to 0
  when the video moves over a large share of the truth's still pixels; `implausible_motion` flags both.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from simulators import Clip, ScenarioSpec
from simulators.variance import physical_variance_video

from .base import FailureEvent, MetricOutput, register_metric
from .common import frames_or_reason
from .memo import memo
from .observation import Observation

MOTION_THRESHOLD_GREY = 10
"""A pixel moves when its blurred grey level differs from the background model by more than this (Physics-IQ)."""
BACKGROUND_ALPHA = 0.3
"""Weight of the new frame in the running-average background, updated before differencing (Physics-IQ)."""
PIQ_KERNEL_PX = 5
"""Physics-IQ's Gaussian-blur and opening/closing kernel, on videos of 256 px and more."""
SMALL_KERNEL_PX = 3
"""Kernel used below SMALL_VIDEO_PX: 5 px opening at 64 px erases thin moving parts (a turning head's
outline, domino edges), which 5 px at Physics-IQ's resolutions does not."""
SMALL_VIDEO_PX = 128
"""Videos whose smaller side is below this many pixels use SMALL_KERNEL_PX."""
PIQ_WINDOW_S = 5.0
"""Physics-IQ compares the first 5 s after the conditioning; shorter clips use every frame after the context."""
SPURIOUS_FREE = 0.25
"""Share of the truth's still pixels the video may move in (over the scored window) at no cost."""
SPURIOUS_LIMIT = 0.5
"""At this share of the truth's still pixels moving the video's motion is implausible: the gate is 0."""
CUT_GREY = 3.0
"""A still pixel changes in a frame when its blurred grey level moves by more than this from the frame
before (harmless pixel noise of sigma 8 moves a third of the pixels this far after the blur, a cut most)."""
CUT_SHARE = 0.5
"""A scored frame is a cut (a jump to another image, a flash, a frame of noise) when more than this share
of the truth's still pixels change: a moving object, even a large one that jumps, changes a region only."""
GHOST_FRAMES = 10
"""Frames a cut haunts the background model: 255 * 0.7^10 = 7 < MOTION_THRESHOLD_GREY."""
MSE_CAP = 0.05
"""piq_mse value = 1 - min(1, mse / MSE_CAP): 0.05 is an RMS error of 57 grey levels, a frame that has
lost all content (Physics-IQ: best model 0.010, physical variance 0.002)."""
EPSILON = 1e-8
"""Physics-IQ's guard in the verified score's ratios."""


@dataclass(frozen=True)
class MaskScores:
    """Physics-IQ's four numbers between two videos, and our gated IoUs.

    spatial, spatiotemporal, weighted: Physics-IQ's IoUs in [0, 1]; mse: per-pixel squared error of
    frames in [0, 1]. gated_*: the same IoUs with cut frames and their ghosts dropped (see
    `mask_scores`) times `gate`; gated_mse counts those frames at least MSE_CAP. plausible_share: share of scored frames that are neither a cut nor a
    cut's ghost; first_cut: the first cut frame (-1 when none). spurious: share of the reference's still
    pixels (never moving in the scored window) that move in the other video's plausible frames;
    gate: motion_gate(spurious); worst_frame: the frame with the most spurious pixels.
    """

    spatial: float
    spatiotemporal: float
    weighted: float
    mse: float
    gated_spatial: float
    gated_spatiotemporal: float
    gated_weighted: float
    gated_mse: float
    plausible_share: float
    first_cut: int
    spurious: float
    gate: float
    worst_frame: int


def kernel_px(resolution: tuple[int, int]) -> int:
    return SMALL_KERNEL_PX if min(resolution) < SMALL_VIDEO_PX else PIQ_KERNEL_PX


def blurred_grey(video: np.ndarray, kernel: int) -> np.ndarray:
    """uint8 (T, H, W): each RGB frame to grey, then a kernel x kernel Gaussian blur (sigma from the size)."""
    return np.stack([cv2.GaussianBlur(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY), (kernel, kernel), 0)
                     for frame in video])


def motion_masks(grey: np.ndarray, kernel: int) -> np.ndarray:
    """(T, H, W) bool motion masks of blurred grey frames (T, H, W) uint8, Physics-IQ's recipe.

    The background starts as frame 0 (whose mask is empty) and before each later frame f becomes
    round(0.7 B + 0.3 f); the mask is |f - B| > 10 after an opening and then a closing with a
    kernel x kernel square.
    """
    square = np.ones((kernel, kernel), np.uint8)
    masks = np.zeros(grey.shape, bool)
    background = grey[0]
    for t in range(1, len(grey)):
        background = cv2.addWeighted(background, 1.0 - BACKGROUND_ALPHA, grey[t], BACKGROUND_ALPHA, 0.0)
        moving = (cv2.absdiff(grey[t], background) > MOTION_THRESHOLD_GREY).astype(np.uint8)
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, square)
        masks[t] = cv2.morphologyEx(moving, cv2.MORPH_CLOSE, square).astype(bool)
    return masks


def scored_window(spec: ScenarioSpec) -> slice:
    """The frames compared: after the context, at most PIQ_WINDOW_S seconds of them."""
    return slice(spec.n_context, min(spec.n_frames, spec.n_context + int(round(PIQ_WINDOW_S * spec.fps))))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """|a & b| / |a | b| of two bool arrays; 1.0 when both are empty."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def per_frame_iou(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(T,) IoU of (T, H, W) masks frame by frame, 1.0 for a frame where both are empty."""
    union = (reference | other).sum(axis=(1, 2))
    inter = (reference & other).sum(axis=(1, 2))
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


def spatial_iou(reference: np.ndarray, other: np.ndarray) -> float:
    """IoU of the (T, H, W) masks collapsed over time (OR)."""
    return iou(reference.any(axis=0), other.any(axis=0))


def spatiotemporal_iou(reference: np.ndarray, other: np.ndarray) -> float:
    """Per-frame IoU of (T, H, W) masks, averaged over frames."""
    return float(per_frame_iou(reference, other).mean())


def weighted_spatial_iou(reference: np.ndarray, other: np.ndarray) -> float:
    """sum min(W_ref, W_other) / sum max(...), W = share of frames each pixel moves in; 1.0 when both are 0."""
    w_ref, w_other = reference.mean(axis=0), other.mean(axis=0)
    total = np.maximum(w_ref, w_other).sum()
    return 1.0 if total == 0 else float(np.minimum(w_ref, w_other).sum() / total)


def per_frame_mse(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(T,) mean squared difference of uint8 (T, H, W, 3) RGB frames scaled to [0, 1]."""
    diff = (reference.astype(np.float32) - other.astype(np.float32)) / 255.0
    return np.mean(diff * diff, axis=(1, 2, 3), dtype=np.float64)


def mean_squared_error(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean over frames of the per-frame mean squared difference of uint8 RGB frames scaled to [0, 1]."""
    return float(per_frame_mse(reference, other).mean())


def motion_gate(spurious: float) -> float:
    """1 up to SPURIOUS_FREE of the still pixels moving, falling linearly to 0 at SPURIOUS_LIMIT."""
    return float(np.clip((SPURIOUS_LIMIT - spurious) / (SPURIOUS_LIMIT - SPURIOUS_FREE), 0.0, 1.0))


def cut_frames(grey: np.ndarray, still: np.ndarray, window: slice) -> np.ndarray:
    """(W,) bool over the scored window: more than CUT_SHARE of the reference's still pixels (H, W) change
    by more than CUT_GREY blurred grey levels from the frame before (a cut, a flash, a frame of noise)."""
    if not still.any():
        return np.zeros(window.stop - window.start, bool)
    frames = grey[window.start - 1:window.stop].astype(np.int16)
    changed = np.abs(frames[1:] - frames[:-1])[:, still] > CUT_GREY
    return changed.mean(axis=1) > CUT_SHARE


def with_ghosts(cuts: np.ndarray) -> np.ndarray:
    """(W,) bool: each cut frame and the GHOST_FRAMES - 1 frames after it (the background model still
    holds the scene before the cut there, so their masks show the cut, not motion)."""
    implausible = np.zeros_like(cuts)
    for start in np.flatnonzero(cuts):
        implausible[start:start + GHOST_FRAMES] = True
    return implausible


def mask_scores(reference: np.ndarray, other: np.ndarray, spec: ScenarioSpec) -> MaskScores:
    """Physics-IQ's numbers of `other` against `reference`, uint8 (T, H, W, 3) videos of `spec`'s shape.

    Gated IoUs: the other video's cut frames and their ghosts (`cut_frames`, `with_ghosts`) are
    implausible: their masks are dropped (empty in the time-collapsed masks, IoU 0 in the per-frame
    mean), the time-collapsed IoUs are multiplied by the share of plausible frames, and all three by
    motion_gate(spurious motion of the plausible frames). gated_mse: implausible frames cost at least MSE_CAP.
    """
    window = scored_window(spec)
    kernel = kernel_px(spec.resolution)
    ref_masks = motion_masks(blurred_grey(reference, kernel), kernel)[window]
    other_grey = blurred_grey(other, kernel)
    other_masks = motion_masks(other_grey, kernel)[window]
    still = ~ref_masks.any(axis=0)
    cuts = cut_frames(other_grey, still, window)
    plausible = ~with_ghosts(cuts)
    kept = other_masks & plausible[:, None, None]
    spurious_px = (kept & still).sum(axis=(1, 2))
    spurious = float(np.count_nonzero(kept.any(axis=0) & still) / max(1, np.count_nonzero(still)))
    gate, share = motion_gate(spurious), float(plausible.mean())
    mse = per_frame_mse(reference[window], other[window])
    return MaskScores(
        spatial=spatial_iou(ref_masks, other_masks), spatiotemporal=spatiotemporal_iou(ref_masks, other_masks),
        weighted=weighted_spatial_iou(ref_masks, other_masks),
        mse=float(mse.mean()), gated_mse=float(np.where(plausible, mse, np.maximum(mse, MSE_CAP)).mean()),
        gated_spatial=gate * share * spatial_iou(ref_masks, kept),
        gated_spatiotemporal=gate * float(np.where(plausible, per_frame_iou(ref_masks, other_masks), 0.0).mean()),
        gated_weighted=gate * share * weighted_spatial_iou(ref_masks, kept),
        plausible_share=share, first_cut=window.start + int(np.argmax(cuts)) if cuts.any() else -1,
        spurious=spurious, gate=gate, worst_frame=window.start + int(np.argmax(spurious_px)),
    )


def observation_mask_scores(clip: Clip, observation: Observation) -> MaskScores:
    """mask_scores(clip.video, observation.frames, clip.spec), computed once per (clip, observed video): the
    five mask metrics of one video share it (memo.memo keeps it on the observation)."""
    return memo(observation, "mask_scores", (clip.video, clip.spec, observation.frames),
                lambda: mask_scores(clip.video, observation.frames, clip.spec))


def _implausible_motion_events(clip: Clip, scores: MaskScores) -> list[FailureEvent]:
    """implausible_motion at the first cut, or at the frame with the most spurious motion."""
    if scores.first_cut < 0 and scores.spurious <= SPURIOUS_FREE:
        return []
    severity = 1.0 - scores.gate * scores.plausible_share
    if scores.first_cut >= 0:
        message = (f"the still scene changes at once at frame {scores.first_cut} (a cut, a flash or noise): "
                   f"{1 - scores.plausible_share:.0%} of the scored frames show no object motion")
        return [FailureEvent(clip.clip_id, "implausible_motion", scores.first_cut, "", severity, message)]
    return [FailureEvent(
        clip.clip_id, "implausible_motion", scores.worst_frame, "", severity,
        f"the video moves over {scores.spurious:.0%} of the pixels that stay still in the ground truth "
        f"(most at frame {scores.worst_frame}): noise or flicker, not object motion",
    )]


def _mask_metric(clip: Clip, observation: Observation, number: str, with_events: bool = False) -> MetricOutput:
    """value: our gated IoU `gated_<number>`; raw: Physics-IQ's `<number>`."""
    frames, reason = frames_or_reason(clip, observation)
    if frames is None:
        return MetricOutput(np.nan, np.nan, reason=reason)
    scores = observation_mask_scores(clip, observation)
    events = _implausible_motion_events(clip, scores) if with_events else []
    return MetricOutput(float(getattr(scores, f"gated_{number}")), float(getattr(scores, number)), events)


@register_metric("piq_spatial_iou", principle="physics-iq", unit="IoU (Physics-IQ spatial)", needs_alignment=True,
                 tags=("implausible_motion",))
def piq_spatial_iou(clip: Clip, observation: Observation) -> MetricOutput:
    """Where motion happens: IoU of the time-collapsed motion masks (gated); raises implausible_motion."""
    return _mask_metric(clip, observation, "spatial", with_events=True)


@register_metric("piq_spatiotemporal_iou", principle="physics-iq", unit="IoU (Physics-IQ spatiotemporal)",
                 needs_alignment=True)
def piq_spatiotemporal_iou(clip: Clip, observation: Observation) -> MetricOutput:
    """Where and when motion happens: per-frame IoU of the motion masks, averaged (gated)."""
    return _mask_metric(clip, observation, "spatiotemporal")


@register_metric("piq_weighted_iou", principle="physics-iq", unit="IoU (Physics-IQ weighted spatial)",
                 needs_alignment=True)
def piq_weighted_iou(clip: Clip, observation: Observation) -> MetricOutput:
    """Where and how much motion happens: IoU of the motion-frequency maps (gated)."""
    return _mask_metric(clip, observation, "weighted")


@register_metric("piq_mse", principle="physics-iq", unit="MSE (frames in [0, 1])", needs_alignment=True)
def piq_mse(clip: Clip, observation: Observation) -> MetricOutput:
    """Per-pixel mean squared error after the context (cut frames cost at least MSE_CAP), value 1 - min(1, mse / MSE_CAP)."""
    frames, reason = frames_or_reason(clip, observation)
    if frames is None:
        return MetricOutput(np.nan, np.nan, reason=reason)
    scores = observation_mask_scores(clip, observation)
    return MetricOutput(1.0 - min(1.0, scores.gated_mse / MSE_CAP), scores.mse)


# --------------------------------------------------------------------------- physical variance (the ceiling)
_CEILINGS: dict[str, MaskScores] = {}
_CEILING_CACHE_SIZE = 256


def physical_variance_scores(clip: Clip) -> MaskScores:
    """Physics-IQ's numbers of the physical-variance take against the truth (cached per spec_hash)."""
    key = clip.spec.spec_hash
    if key not in _CEILINGS:
        if len(_CEILINGS) >= _CEILING_CACHE_SIZE:
            _CEILINGS.pop(next(iter(_CEILINGS)))
        take = physical_variance_video(clip.spec)
        take[: clip.spec.n_context] = clip.video[: clip.spec.n_context]
        _CEILINGS[key] = mask_scores(clip.video, take, clip.spec)
    return _CEILINGS[key]


def verified_score(scores: MaskScores, ceiling: MaskScores, gated: bool) -> float:
    """Physics-IQ "verified" per-sample score in [0, 1]: the mean of the three IoUs over their ceilings and
    the ceiling's MSE over the video's, each clipped to [0, 1]. gated: use our gated IoUs."""
    prefix = "gated_" if gated else ""
    ratios = [getattr(scores, prefix + "spatial") / (ceiling.spatial + EPSILON),
              getattr(scores, prefix + "spatiotemporal") / (ceiling.spatiotemporal + EPSILON),
              getattr(scores, prefix + "weighted") / (ceiling.weighted + EPSILON),
              (ceiling.mse + EPSILON) / mse if (mse := getattr(scores, prefix + "mse")) > 0 else 1.0]
    return float(np.mean(np.clip(ratios, 0.0, 1.0)))


@register_metric("physics_iq_score", principle="physics-iq", unit="Physics-IQ verified score (%, no gate)",
                 needs_alignment=True)
def physics_iq_score(clip: Clip, observation: Observation) -> MetricOutput:
    """Physics-IQ's verified per-clip score relative to the physical-variance take (gated IoUs); raw in percent ungated."""
    frames, reason = frames_or_reason(clip, observation)
    if frames is None:
        return MetricOutput(np.nan, np.nan, reason=reason)
    scores = observation_mask_scores(clip, observation)
    ceiling = physical_variance_scores(clip)
    return MetricOutput(verified_score(scores, ceiling, gated=True), 100.0 * verified_score(scores, ceiling, gated=False))


def original_score(means: dict[str, float], ceilings: dict[str, float]) -> float:
    """Physics-IQ's original dataset score in [0, 100] from dataset means of raw numbers (keys spatial,
    spatiotemporal, weighted, mse) of a model and of the physical-variance pair (for the leaderboard)."""
    ratio = np.mean([means[key] / ceilings[key] for key in ("spatial", "spatiotemporal", "weighted")])
    return float(np.clip(100.0 * (ratio - (means["mse"] - ceilings["mse"])), 0.0, 100.0))
