"""Direction of time: things in the video move the way they truly move, and time runs forwards.

`direction` compares, per region and frame, the observed motion with the true motion: tracked
objects through dense optical flow (OpenCV DIS) over their colour-keyed pixels, the treadmill's
belt through an exhaustive horizontal shift search of its band (it moves about a third of the
frame per frame at 64 px, beyond what optical flow can follow). `time_direction` asks whether the
frames after the context fit the true future played forwards or played backwards.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial.distance import cdist

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import VISIBLE_FRAC, runs
from .observation import Observation, hue_deg, hue_key

# ----------------------------------------------------------------------------------------- direction
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST
"""DIS preset for the objects' flow: at 64 px its mean over an object's pixels points within 60 degrees
of the true centroid motion in 97-98% of the truth's (object, frame) pairs moving 1-6 px/frame (the
others, fast rotations and impacts, are not scored: see object_motion)."""
MIN_TRUE_MOTION_PX = 0.75
"""A (region, frame) pair is scored when the truth moves the region by at least this many px between frames
(below it the flow's direction is noise: 10% of the truth's pairs at 0.5-0.75 px point backwards)."""
FLOW_MAX_MOTION_SHARE = 0.1
"""Optical flow follows an object's motion only up to about this share of the image width per frame
(6.4 px at 64 px: at 6-8 px/frame DIS agrees with the truth's motion in 60% of pairs, at 8-10 px in 35%);
faster object motion is not scored."""
FLOW_MATCH_LEVELS = 20.0
"""An object's flow counts only where it explains the frames: frame t + 1 warped back by the flow matches
frame t within this mean absolute grey-level error over the object's pixels (flow over noise does not)."""
FLOW_TRACK_TOLERANCE_PX = 2.0
"""... and only where it agrees with the colour tracker (observe()): the object is detected in both frames
and its centroid moves within max(this many px, half the flow's speed) of the mean flow, so a chance
detection in a noise frame next to a real one cannot pass for motion."""
TRACK_OVERLAP = 0.6
"""Where the flow fails (small or fast objects after lossy coding), the colour tracker's centroid displacement
stands for the object's motion if the object's keyed pixels, moved by it, land on the object's keyed pixels
of the next frame for at least this share (a chance detection in noise does not)."""
MAX_VISIBLE_FRAC_CHANGE = 0.15
"""An object's true motion (its visible centroid's displacement) is trusted only when its visible share
changes by at most this between the two frames (occlusion would move the centroid)."""
COS_AGREE = 0.5
"""Agreement: the observed mean motion points within 60 degrees of the true motion ..."""
MIN_SPEED_SHARE = 0.25
"""... and moves along it by at least this share of the true speed: no motion is no agreement."""
REVERSED_FRAMES = 3
"""reversed_motion fires when a region moves against the truth (cosine <= -COS_AGREE, speed against it
>= MIN_SPEED_SHARE of the true speed) in this many consecutive scored frame pairs (pairs that are not
scored, the truth moving too little or too fast there, neither count nor break the run)."""
BELT_MAX_SHIFT_SHARE = 0.5
"""The belt's shift between frames is searched within +- this share of the image width."""
BELT_MATCH_LEVELS = 12.0
"""A belt shift is observed only when the shifted band matches the next frame's within this mean absolute
grey-level error (noise matches nothing) ..."""
BELT_MATCH_GAIN = 0.5
"""... and at most this share of the error of not moving at all (a still or blank band has no shift)."""
MIN_BELT_OVERLAP_PX = 64
"""Shifts that leave fewer belt pixels overlapping between the two frames are not considered."""


def track_arrays(clip: Clip, columns: list[str]) -> dict[str, np.ndarray]:
    """{column: (T, K) float array} over the K tracked objects (common.track, as float)."""
    return {column: np.asarray(clip.track_matrix(column), dtype=float) for column in columns}


def _grey(frames: np.ndarray) -> np.ndarray:
    """uint8 (T, H, W) luma of uint8 (T, H, W, 3) RGB frames."""
    n_frames, height, width, _ = frames.shape
    flat = cv2.cvtColor(np.ascontiguousarray(frames).reshape(n_frames * height, width, 3), cv2.COLOR_RGB2GRAY)
    return flat.reshape(n_frames, height, width)


def _object_key(hsv: np.ndarray, box: np.ndarray, rgb: tuple[int, int, int], observation: Observation) -> np.ndarray:
    """(H, W) bool: the pixels of one uint8 (H, W, 3) HSV (full-range hue) frame inside the inclusive box
    (x0, y0, x1, y1) whose colour passes the observation's key for an object of colour rgb (hue within
    tolerance, saturation and value above the floors)."""
    config = observation.config
    x0, y0, x1, y1 = (int(value) for value in box)
    patch = hsv[y0:y1 + 1, x0:x1 + 1]
    keyed = (hue_key(hue_deg(rgb), config.hue_tolerance_deg)[patch[..., 0]]
             & (patch[..., 1] > config.min_saturation) & (patch[..., 2] > config.min_value))
    key = np.zeros(hsv.shape[:2], bool)
    key[y0:y1 + 1, x0:x1 + 1] = keyed
    return key


def mean_flows(frames: np.ndarray, regions: dict[int, dict[int, np.ndarray]]) -> dict[tuple[int, int], np.ndarray]:
    """{(t, k): mean DIS flow (px, (u, v)) from frame t to t + 1 over the (H, W) bool mask regions[t][k]}
    for uint8 (T, H, W, 3) RGB frames; a region is left out where the flow does not explain the frames
    there (frame t + 1 warped back by the flow differs from frame t by more than FLOW_MATCH_LEVELS)."""
    grey = _grey(frames)
    height, width = grey.shape[1:]
    flow_method = cv2.DISOpticalFlow_create(FLOW_PRESET)
    grid = np.stack(np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)), axis=-1)
    means = {}
    for t, masks in regions.items():
        if not masks:
            continue
        flow = flow_method.calc(grey[t], grey[t + 1], None)
        warped = cv2.remap(grey[t + 1], grid + flow, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        residual = np.abs(warped.astype(np.float32) - grey[t])
        for k, mask in masks.items():
            if residual[mask].mean() <= FLOW_MATCH_LEVELS:
                means[t, k] = flow[mask].mean(axis=0)
    return means


def _as_array(means: dict[tuple[int, int], np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    array = np.full((*shape, 2), np.nan)
    for (t, k), mean in means.items():
        array[t, k] = mean
    return array


def _consistent(flow: np.ndarray, tracked: np.ndarray) -> np.ndarray:
    """(...) bool: mean flows (..., 2) within max(FLOW_TRACK_TOLERANCE_PX, half their speed) of the tracked
    centroid displacements (..., 2); False where either is NaN."""
    gap = np.hypot(flow[..., 0] - tracked[..., 0], flow[..., 1] - tracked[..., 1])
    with np.errstate(invalid="ignore"):
        return gap <= np.maximum(FLOW_TRACK_TOLERANCE_PX, 0.5 * np.hypot(flow[..., 0], flow[..., 1]))


def _key_overlap(key: np.ndarray, next_key: np.ndarray, shift: np.ndarray) -> float:
    """Share of the pixels of the (H, W) bool key that land on next_key when moved by shift (u, v) px."""
    rows, cols = np.nonzero(key)
    rows, cols = np.rint(rows + shift[1]).astype(int), np.rint(cols + shift[0]).astype(int)
    inside = (rows >= 0) & (rows < key.shape[0]) & (cols >= 0) & (cols < key.shape[1])
    return float(next_key[rows[inside], cols[inside]].sum() / max(rows.size, 1))


def object_motion(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray]:
    """True and observed displacement (px per frame, (u, v)) of each tracked object between frames t and
    t + 1: two (T - 1, K, 2) arrays.

    True: the displacement of the object's visible centroid in the truth; NaN where not scored: before the
    context ends, object not clearly visible in both frames or its visible share changing, motion under
    MIN_TRUE_MOTION_PX or over FLOW_MAX_MOTION_SHARE of the width, or motion the flow cannot measure in
    the truth itself (its mean flow over the object's true pixels does not agree with the true motion:
    fast rotation, impacts; so the ground truth scores 1 by construction and a video is judged only where
    the instrument works). Observed: the mean flow over the object's keyed pixels in the video at t where
    it explains the frames and agrees with the colour tracker, else the tracker's displacement where it
    holds up (TRACK_OVERLAP); NaN where the video does not show the object in both frames."""
    n_frames, width = clip.spec.n_frames, clip.spec.resolution[1]
    tracks = track_arrays(clip, ["seg_u", "seg_v", "visible_frac", "visible_px"])
    true = np.stack([np.diff(tracks["seg_u"], axis=0), np.diff(tracks["seg_v"], axis=0)], axis=-1)
    visible = (tracks["visible_frac"] >= VISIBLE_FRAC) & (tracks["visible_px"] >= 1.5 * observation.min_area[None, :])
    steady = np.abs(np.diff(tracks["visible_frac"], axis=0)) <= MAX_VISIBLE_FRAC_CHANGE
    after_context = np.arange(1, n_frames) >= clip.spec.n_context
    speed = np.hypot(true[..., 0], true[..., 1])
    belt = np.array([obj.name in clip.events.get("belt_markers", ()) for obj in clip.tracked_objects])
    scored = (visible[:-1] & visible[1:] & steady & after_context[:, None] & ~belt[None, :]
              & (speed >= MIN_TRUE_MOTION_PX) & (speed <= FLOW_MAX_MOTION_SHARE * width))
    ids = [obj.id for obj in clip.tracked_objects]
    truth_regions = {int(t): {int(k): clip.seg[t] == ids[k] for k in np.flatnonzero(scored[t])}
                     for t in np.flatnonzero(scored.any(axis=1))}
    truth_flow = _as_array(mean_flows(clip.video, truth_regions), scored.shape)
    scored &= agreement(np.where(scored[..., None], true, np.nan), truth_flow)[1] & _consistent(truth_flow, true)
    true = np.where(scored[..., None], true, np.nan)

    shown = scored & observation.detected[:-1] & observation.detected[1:]
    regions = {}
    for t in np.flatnonzero(shown.any(axis=1)):
        hsv = cv2.cvtColor(np.ascontiguousarray(observation.frames[t]), cv2.COLOR_RGB2HSV_FULL)
        keys = {int(k): _object_key(hsv, observation.bbox[t, k], clip.tracked_objects[k].rgb, observation)
                for k in np.flatnonzero(shown[t])}
        regions[int(t)] = {k: key for k, key in keys.items() if key.any()}
    observed = _as_array(mean_flows(observation.frames, regions), scored.shape)
    tracked = np.stack([np.diff(observation.u, axis=0), np.diff(observation.v, axis=0)], axis=-1)
    observed = np.where(_consistent(observed, tracked)[..., None], observed, np.nan)
    for t, k in zip(*np.nonzero(shown & np.isnan(observed[..., 0]))):  # flow failed: the tracker, if it holds up
        if k not in regions.get(int(t), {}):
            continue
        hsv = cv2.cvtColor(np.ascontiguousarray(observation.frames[t + 1]), cv2.COLOR_RGB2HSV_FULL)
        next_key = _object_key(hsv, observation.bbox[t + 1, k], clip.tracked_objects[k].rgb, observation)
        if _key_overlap(regions[int(t)][int(k)], next_key, tracked[t, k]) >= TRACK_OVERLAP:
            observed[t, k] = tracked[t, k]
    return true, observed


def band_shifts(frames: np.ndarray, band_rows: slice, valid: np.ndarray) -> np.ndarray:
    """(T - 1, 2) displacement (px, (u, v)) of a horizontally moving band between frames t and t + 1 of
    uint8 (T, H, W, 3) frames: the horizontal shift s minimising the mean absolute grey-level error between
    the band at t moved by s and the band at t + 1 over the pixels valid (T, R, W) in both, searched over
    +- BELT_MAX_SHIFT_SHARE of the width; NaN where no shift matches (BELT_MATCH_LEVELS, BELT_MATCH_GAIN)."""
    grey = _grey(frames)[:, band_rows].astype(np.float32)
    n_pairs, width = grey.shape[0] - 1, grey.shape[2]
    max_shift = int(BELT_MAX_SHIFT_SHARE * width)
    shifts = np.arange(-max_shift, max_shift + 1)
    errors = np.full((n_pairs, shifts.size), np.inf)
    before, after, valid_before, valid_after = grey[:-1], grey[1:], valid[:-1], valid[1:]
    for i, shift in enumerate(shifts):  # band at t moved right by `shift` against the band at t + 1
        source = slice(max(0, -shift), width - max(0, shift))
        target = slice(max(0, shift), width + min(0, shift))
        weight = valid_before[:, :, source] * valid_after[:, :, target]
        count = weight.sum(axis=(1, 2))
        error = (np.abs(before[:, :, source] - after[:, :, target]) * weight).sum(axis=(1, 2))
        errors[:, i] = np.where(count >= MIN_BELT_OVERLAP_PX, error / np.maximum(count, 1.0), np.inf)
    best = np.argmin(errors, axis=1)
    best_error = errors[np.arange(n_pairs), best]
    matched = (best_error <= BELT_MATCH_LEVELS) & (best_error < BELT_MATCH_GAIN * errors[:, max_shift])
    observed = np.full((n_pairs, 2), np.nan)
    observed[matched, 0] = shifts[best[matched]]
    observed[matched, 1] = 0.0
    return observed


def belt_motion(clip: Clip, observation: Observation) -> tuple[np.ndarray, np.ndarray] | None:
    """For a clip with a treadmill belt (events 'belt_markers'): the true and observed displacement of the
    belt (px per frame, (u, v)) between frames t and t + 1, two (T - 1, 2) arrays; None for other clips.

    The belt band is every pixel a marker slat covers in some frame of the truth; at frame t its valid
    pixels are those of the band showing belt (a marker or background, not the runner) in the truth.
    True: the median frame-to-frame motion of the marker slats' centres; NaN before the context ends and
    where the band shift (band_shifts) of the truth itself does not agree with it. Observed: the band
    shift of the video (flow cannot follow a belt that moves a third of the frame per frame)."""
    marker_names = clip.events.get("belt_markers")
    marker_ids = [obj.id for obj in clip.objects if marker_names and obj.name in marker_names]
    columns = [k for k, obj in enumerate(clip.tracked_objects) if marker_names and obj.name in marker_names]
    if not marker_ids or not columns:
        return None
    n_frames = clip.spec.n_frames
    is_marker = np.isin(clip.seg, marker_ids)
    band = is_marker.any(axis=0)
    rows = np.flatnonzero(band.any(axis=1))
    band_rows = slice(int(rows[0]), int(rows[-1]) + 1)
    valid = (band & (is_marker | (clip.seg < 0)))[:, band_rows].astype(np.float32)  # (T, R, W)

    tracks = track_arrays(clip, ["u", "v"])
    after_context = np.arange(1, n_frames) >= clip.spec.n_context
    step = [np.nanmedian(np.diff(tracks[axis][:, columns], axis=0)[after_context]) for axis in ("u", "v")]
    true = np.where(after_context[:, None], np.asarray(step)[None, :], np.nan)
    measurable = agreement(true, band_shifts(clip.video, band_rows, valid))[1]
    true[~measurable] = np.nan
    return true, band_shifts(observation.frames, band_rows, valid)


def agreement(true: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scored, agrees, reversed) bool arrays over the leading axes of (..., 2) true and observed
    displacements. scored: the true motion is defined; agrees: the observed motion points within
    acos(COS_AGREE) of it and covers MIN_SPEED_SHARE of its speed along it; reversed: the same against it.
    An unobserved (NaN) or still region neither agrees nor is reversed."""
    scored = ~np.isnan(true).any(axis=-1)
    speed = np.hypot(true[..., 0], true[..., 1])
    along = np.nan_to_num((observed * true).sum(axis=-1) / np.where(scored, speed, 1.0))
    observed_speed = np.nan_to_num(np.hypot(observed[..., 0], observed[..., 1]))
    cosine = along / np.maximum(observed_speed, 1e-9)
    agrees = scored & (cosine >= COS_AGREE) & (along >= MIN_SPEED_SHARE * speed)
    reversed_ = scored & (cosine <= -COS_AGREE) & (-along >= MIN_SPEED_SHARE * speed)
    return scored, agrees, reversed_


@register_metric("direction", principle="direction of time", unit="share of moving (region, frame) pairs moving against the truth",
                 needs_alignment=True, tags=("reversed_motion",))
def motion_direction(clip: Clip, observation: Observation) -> MetricOutput:
    """Share of (region, frame) pairs with clear true motion whose observed motion goes the same way."""
    if observation.frames is None:
        return MetricOutput(np.nan, np.nan, reason="the observation kept no frames to measure motion in")
    true, observed = object_motion(clip, observation)
    names = list(observation.object_names)
    belt = belt_motion(clip, observation)
    if belt is not None:
        true = np.concatenate([true, belt[0][:, None]], axis=1)
        observed = np.concatenate([observed, belt[1][:, None]], axis=1)
        names.append("belt")
    scored, agrees, reversed_ = agreement(true, observed)
    if not scored.any():
        return MetricOutput(np.nan, np.nan, reason="nothing moves clearly after the context in the ground truth")
    value = float(agrees.sum() / scored.sum())
    raw = float(reversed_.sum() / scored.sum())

    events = []
    for r, name in enumerate(names):
        pairs = np.flatnonzero(scored[:, r])
        long_runs = [(start, end) for start, end in runs(reversed_[pairs, r]) if end - start >= REVERSED_FRAMES]
        if long_runs:
            first, last = pairs[long_runs[0][0]], pairs[long_runs[0][1] - 1]
            speed = float(np.mean(np.hypot(*true[pairs[long_runs[0][0]:long_runs[0][1]], r].T)))
            events.append(FailureEvent(
                clip.clip_id, "reversed_motion", int(first) + 1, name,
                float(reversed_[:, r].sum() / scored[:, r].sum()),
                f"{name} moves against its true motion ({speed:.1f} px/frame) from frame {first + 1} "
                f"to frame {last + 1} ({long_runs[0][1] - long_runs[0][0]} scored frames)",
            ))
    return MetricOutput(value, raw, events)


# ------------------------------------------------------------------------------------ time_direction
CHANGE_LEVELS = 16
"""The motion mask: pixels whose value changes by more than this many grey levels (any channel) over the
truth's frames from the last context frame on. Only they say which way time runs."""
MIN_SEGMENT_FRAMES = 4
"""Reversals are looked for in tail segments [s, T) of at least this many frames."""
MIN_ASYMMETRY_LEVELS = 8.0
"""A segment is judged only when the truth played backwards differs from the truth played forwards by
at least this mean absolute error (grey levels over the motion mask); below it the motion is (nearly)
symmetric in time (a swing around its turning point, a ball at rest) and the segment abstains."""
EXPLAINED_SHARE = 1.0
"""A segment gives evidence only when the video is within this share of the asymmetry of the better of
the two hypotheses; a video that fits neither (noise, blank, another scene) says nothing about time."""
DECISIVE_SHARE = 0.5
"""A segment's evidence is (backward error - forward error) / (this share of the asymmetry), clipped to
[-1, 1]: one hypothesis fitting better by half the asymmetry is decisive, so codec noise and blur (which
cost both hypotheses about alike) leave a clearly forward clip at 1. time_reversed fires on a segment whose
evidence is -1 (backward fits better by at least this share of the asymmetry)."""


def _mean_abs_error(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(N, M) mean absolute difference between the rows of (N, P) and (M, P) arrays."""
    return cdist(first, second, "cityblock") / max(first.shape[1], 1)


def reversal_evidence(clip: Clip, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per tail segment [s, T) of the frames after the context: (starts s, evidence in [-1, 1] that the
    video's segment plays the truth forwards (+1) or backwards (-1), the truth's asymmetry in grey levels),
    over the segments whose asymmetry reaches MIN_ASYMMETRY_LEVELS; None when the truth has no motion mask.

    With F(t, t') the mean absolute error between video frame t and truth frame t' over the motion mask,
    mirror(t) = s + T - 1 - t: forward f = mean_t F(t, t), backward b = mean_t F(t, mirror(t)), asymmetry
    a = mean_t |truth_t - truth_mirror(t)|; evidence = clip((b - f) / (DECISIVE_SHARE * a), -1, 1), or 0
    where the video is further than EXPLAINED_SHARE * a from both hypotheses."""
    n_context, n_frames = clip.spec.n_context, clip.spec.n_frames
    truth = clip.video[n_context - 1:].astype(np.int16)
    moving = (truth.max(axis=0) - truth.min(axis=0)).max(axis=-1) > CHANGE_LEVELS
    if not moving.any():
        return None
    n_future = n_frames - n_context
    true_future = clip.video[n_context:][:, moving].reshape(n_future, -1).astype(np.float32)
    observed_future = frames[n_context:][:, moving].reshape(n_future, -1).astype(np.float32)
    video_to_truth = _mean_abs_error(observed_future, true_future)  # [t, t'] frame t of the video, t' of the truth
    truth_to_truth = _mean_abs_error(true_future, true_future)
    starts, evidence, asymmetries = [], [], []
    for start in range(0, n_future - MIN_SEGMENT_FRAMES + 1):
        segment = np.arange(start, n_future)
        mirrored = start + n_future - 1 - segment
        asymmetry = float(truth_to_truth[segment, mirrored].mean())
        if asymmetry < MIN_ASYMMETRY_LEVELS:
            continue
        forward = float(video_to_truth[segment, segment].mean())
        backward = float(video_to_truth[segment, mirrored].mean())
        explained = min(forward, backward) <= EXPLAINED_SHARE * asymmetry
        decisive = DECISIVE_SHARE * asymmetry
        evidence.append(float(np.clip((backward - forward) / decisive, -1.0, 1.0)) if explained else 0.0)
        asymmetries.append(asymmetry)
        starts.append(start + n_context)
    return np.asarray(starts, int), np.asarray(evidence), np.asarray(asymmetries)


@register_metric("time_direction", principle="direction of time", unit="evidence in [-1, 1] (+1 forwards)",
                 needs_alignment=True, tags=("time_reversed",))
def time_direction(clip: Clip, observation: Observation) -> MetricOutput:
    """Whether the video's future fits the true future played forwards (1) or backwards (0); 0.5 undecided.

    value = (1 + E) / 2 with E the asymmetry-weighted mean of the segments' evidence (reversal_evidence);
    NaN when no segment's asymmetry reaches MIN_ASYMMETRY_LEVELS (the truth looks the same backwards)."""
    if observation.frames is None:
        return MetricOutput(np.nan, np.nan, reason="the observation kept no frames to compare")
    found = reversal_evidence(clip, observation.frames)
    if found is None or found[0].size == 0:
        return MetricOutput(np.nan, np.nan, reason="the true future looks the same played backwards "
                                                   "(symmetric motion or none)")
    starts, evidence, asymmetries = found
    overall = float(np.sum(evidence * asymmetries) / np.sum(asymmetries))
    worst = int(np.argmin(evidence))
    events = []
    if evidence[worst] <= -1.0:
        events.append(FailureEvent(
            clip.clip_id, "time_reversed", int(starts[worst]), "", float(np.mean(evidence <= -1.0)),
            f"from frame {starts[worst]} the video fits the true future played backwards better than forwards "
            f"(by at least {DECISIVE_SHARE:.0%} of the {asymmetries[worst]:.0f}-grey-level difference between the two)",
        ))
    return MetricOutput(0.5 * (1.0 + overall), overall, events)
