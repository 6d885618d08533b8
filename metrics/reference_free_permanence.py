"""Reference-free object permanence: judged from the observed video alone.

An object may leave the view only across the image edge or behind an occluder, and enter it only the
same ways. With no ground truth to say where the occluders are, the video's own evidence stands for
them: an object going behind something shrinks first (it is seen partly, below WHOLE_SHARE of its
typical area) or touches another observed object (the occluder, e.g. the chair's seat hiding a leg);
an object leaving the frame touches the border or is about to cross it. An object last seen whole, in
the open and away from the edge, that is gone in the next frame has vanished; one that shows up whole,
in the open and away from the edge has appeared from nowhere; so does any saturated blob of no
prompted colour that was not in the opening frames and does not come in over the edge. The number of
objects is conserved when neither happens.
"""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, runs
from .observation import Observation
from .reference_free_common import EDGE_MARGIN_PX, PASSIVE_ROLES, REST_PX, box_cover, near_object, seen_whole

OCCLUDER_COVER = 0.5
"""Another observed object may hide the object when its box covers at least this share of the object's box
(touching is not enough: a tower block is not hidden by the block it stands on)."""
MIN_LOST_FRAMES = 2
"""An object counts as vanished when it is gone for at least this many frames in a row: a one-frame drop-out
(a treadmill thigh swinging through the key's area floor, a thin part under lossy coding) is the colour
key's noise, not a vanishing."""
SHRINK_SHARE = 0.8
"""An object last seen with less than this share of its area one frame before is going behind something (a
ball half behind a wall can still key 70% of its typical area: observed areas are never exact)."""
OCCLUDER_LEVELS = 24
"""A pixel differs from the still background (the video's per-pixel median over time) when a channel is off
by more than this many levels."""
BLOB_GAP_PX = 2.0
"""A new blob within this many px of a prompted object's box may come out from behind it, or be colour bled
from it by lossy coding (H.264 at crf 28 makes short-lived saturated fringes beside the treadmill's legs)."""
HIDDEN_FOR_GOOD_FRAMES = 12
"""A moving ball that goes out of sight behind something and stays unseen for this many frames (1.5 s at 8 fps),
to the end of the clip, has not come out: it vanished behind the occluder. Passive balls keep rolling behind a
wall and come out the other side; in clean clips of the suite the longest such hiding that lasted to the end
was 9 frames (a ball behind a walking person in crowd), on 260 eval and train clips."""
HIDDEN_MOVING_PX = 0.5
"""... a ball counts as moving when the median of its last 4 observed steps before it went out of sight (within
10 frames) is at least this long (px per frame); a ball that has stopped behind something may stay there."""
BLOB_MATCH_PX = 8.0
"""A blob continues one of the frame before when their centroids are within this many px and their hues
within the colour key's tolerance."""


def _crossing_edge(observation: Observation, t: int, k: int, other_t: int, resolution: tuple[int, int]) -> bool:
    """Object k's box at t, moved on by one of its last two steps (towards other_t: t + 1 when it leaves,
    t - 1 when it enters), reaches the image border: it is crossing it (two steps, so a stutter that repeats
    a frame does not hide a fast object's motion)."""
    height, width = resolution
    direction = other_t - t
    x0, y0, x1, y1 = observation.bbox[t, k]
    for lag in (1, 2):
        near, far = t - direction * (lag - 1), t - direction * lag
        if not (0 <= far < observation.n_frames and observation.detected[far, k] and observation.detected[near, k]):
            continue
        du, dv = observation.u[near, k] - observation.u[far, k], observation.v[near, k] - observation.v[far, k]
        if (x0 + du <= EDGE_MARGIN_PX or y0 + dv <= EDGE_MARGIN_PX or x1 + du >= width - 1 - EDGE_MARGIN_PX
                or y1 + dv >= height - 1 - EDGE_MARGIN_PX):
            return True
    return False


def still_background(observation: Observation) -> np.ndarray | None:
    """(H, W, 3) float: the per-pixel median of the video over the frames where no prompted object's box covers
    the pixel (NaN where one always does: a still object is no background); None without frames."""
    if observation.frames is None:
        return None
    n_frames, height, width, _ = observation.frames.shape
    free = np.ones((n_frames, height, width), bool)
    for t, k in zip(*np.nonzero(observation.detected)):
        x0, y0, x1, y1 = observation.bbox[t, k]
        free[t, y0:y1 + 1, x0:x1 + 1] = False
    return masked_median(observation.frames, free)


def masked_median(frames: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 per-pixel median over time of uint8 (T, H, W, 3) frames, over the frames where keep
    (T, H, W) is True (the mean of the two middle values for an even count); NaN where keep is never True.
    What np.nanmedian gives with the other frames set to NaN, to the bit (integers and their halves are exact in
    float32), from one sort of each pixel's uint16 values with the dropped ones set above every uint8 value."""
    n_frames = frames.shape[0]
    values = np.ascontiguousarray(frames.reshape(n_frames, -1).T, dtype=np.uint16)  # (H * W * 3, T)
    kept = np.broadcast_to(keep[..., None], frames.shape).reshape(n_frames, -1).T
    values[~kept] = 256
    values.sort(axis=1)
    counts = kept.sum(axis=1)
    high = counts // 2
    low = np.where(counts % 2 == 1, high, np.maximum(high - 1, 0))
    middle = np.take_along_axis(values, np.stack([low, np.minimum(high, n_frames - 1)], axis=1), axis=1)
    median = (middle[:, 0].astype(np.float32) + middle[:, 1].astype(np.float32)) / np.float32(2.0)
    median[counts == 0] = np.nan
    return median.reshape(frames.shape[1:])


def _covered(observation: Observation, background: np.ndarray | None, t: int, k: int, other_t: int) -> bool:
    """At other_t something other than the still background fills object k's box of frame t: an occluding
    region (an unprompted part such as a grey leg) may hide it there. background: (H, W, 3) the per-pixel
    median of the video over time (what stays still), or None without frames."""
    if background is None or not 0 <= other_t < observation.n_frames:
        return False
    x0, y0, x1, y1 = observation.bbox[t, k]
    patch = observation.frames[other_t, y0:y1 + 1, x0:x1 + 1].astype(np.float32)
    with np.errstate(invalid="ignore"):
        differs = np.abs(patch - background[y0:y1 + 1, x0:x1 + 1]).max(axis=-1) > OCCLUDER_LEVELS
    return bool(differs.mean() >= OCCLUDER_COVER)


def _explained(observation: Observation, whole: np.ndarray, background: np.ndarray | None, t: int, k: int,
               other_t: int, resolution: tuple[int, int]) -> bool:
    """Whether object k, seen at frame t and not at the neighbouring frame other_t (t - 1 for an appearance,
    t + 1 for a vanishing), may have passed the image edge or an occluder: at t it is not seen whole (partly
    hidden already), or has shrunk below SHRINK_SHARE of its area at the frame on the far side (2t - other_t),
    or is crossing the edge, or another object's box covers OCCLUDER_COVER of its box at t or
    at other_t, or at other_t an occluding region (not the still background) covers that much of it."""
    if not whole[t, k] or _crossing_edge(observation, t, k, other_t, resolution):
        return True
    far = 2 * t - other_t
    if 0 <= far < observation.n_frames and observation.detected[far, k] and \
            observation.area[t, k] < SHRINK_SHARE * observation.area[far, k]:
        return True  # shrinking towards other_t: going behind something (or coming out from behind it)
    for frame in (t, other_t):
        for j in np.flatnonzero(observation.detected[frame]):
            if j != k and box_cover(observation.bbox[t, k], observation.bbox[frame, j]) >= OCCLUDER_COVER:
                return True
    return _covered(observation, background, t, k, other_t)


def unexplained_losses(clip: Clip, observation: Observation,
                       background: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) bool: the object is gone after a vanishing no edge or occluder explains (from the first missing
    frame until it is seen again); (T, K) bool: the object is first seen at t > 0, whole, in the open and away
    from the edge. A return after an explained disappearance is a re-emergence from hiding (a fast limb swings
    behind the body and out again within a frame at 8 fps), and a return after an unexplained one is already
    counted, so neither is an appearance."""
    detected = observation.detected
    n_frames, n_objects = detected.shape
    whole = seen_whole(observation, clip.spec.resolution)
    if background is None:
        background = still_background(observation)
    lost = np.zeros(detected.shape, bool)
    appeared = np.zeros(detected.shape, bool)
    for k in range(n_objects):
        seen = np.flatnonzero(detected[:, k])
        if seen.size == 0:
            continue
        for start, end in runs(~detected[:, k]):
            if (end - start >= MIN_LOST_FRAMES and start > seen[0]
                    and not _explained(observation, whole, background, start - 1, k, start, clip.spec.resolution)):
                lost[start:end, k] = True
            elif end < n_frames and start == 0 and not _explained(observation, whole, background, end, k, end - 1,
                                                                   clip.spec.resolution):
                appeared[end, k] = True
    return lost, appeared


def never_reemerged(clip: Clip, observation: Observation) -> np.ndarray:
    """(T, K) bool: a moving passive ball went out of sight (not across the edge) and stays unseen from then to the
    end of the clip, at least HIDDEN_FOR_GOOD_FRAMES frames: True over that run. The edge test is the one of
    unexplained_losses; an occluder explains going out of sight, not staying out of sight for good."""
    detected = observation.detected
    n_frames = detected.shape[0]
    hidden = np.zeros(detected.shape, bool)
    for k, obj in enumerate(clip.tracked_objects):
        seen = np.flatnonzero(detected[:, k])
        if obj.role not in PASSIVE_ROLES or obj.shape != "sphere" or seen.size == 0:
            continue
        start = int(seen[-1]) + 1
        if n_frames - start < HIDDEN_FOR_GOOD_FRAMES or start <= clip.spec.n_context:
            continue
        last = start - 1
        if _crossing_edge(observation, last, k, start, clip.spec.resolution):
            continue
        window = slice(max(last - 10, 0), last + 1)
        steps = np.hypot(np.diff(observation.u[window, k]), np.diff(observation.v[window, k]))
        steps = steps[np.isfinite(steps)][-4:]
        if steps.size >= 2 and np.median(steps) >= HIDDEN_MOVING_PX:
            hidden[start:, k] = True
    return hidden


def _resting(observation: Observation, last: int, k: int) -> bool:
    """Object k was at rest when last seen at frame `last`: from the first to the last of its last 5 observed frames
    (within 10 frames before it) its centroid moved under REST_PX net (a resting centroid jitters under lossy
    coding but does not drift; a ball rolling 0.4 px a frame does); False with fewer than 3 frames to judge by."""
    window = np.arange(max(last - 10, 0), last + 1)
    seen = window[observation.detected[window, k]][-5:]
    if seen.size < 3:
        return False
    drift = np.hypot(observation.u[seen[-1], k] - observation.u[seen[0], k], observation.v[seen[-1], k] - observation.v[seen[0], k])
    return bool(drift < REST_PX)


def _could_hide(observation: Observation, background: np.ndarray | None, box: np.ndarray, reach_px: float,
                t: int, k: int, resolution: tuple[int, int]) -> bool:
    """At frame t, something could hide object k within reach_px of its last box `box`: the reach runs over the
    image edge, or other objects' boxes and pixels unlike the still background (OCCLUDER_LEVELS) fill at least
    OCCLUDER_COVER of the box's area inside it."""
    height, width = resolution
    reach = int(np.ceil(reach_px))
    x0, y0, x1, y1 = int(box[0]) - reach, int(box[1]) - reach, int(box[2]) + reach, int(box[3]) + reach
    if x0 <= EDGE_MARGIN_PX or y0 <= EDGE_MARGIN_PX or x1 >= width - 1 - EDGE_MARGIN_PX or y1 >= height - 1 - EDGE_MARGIN_PX:
        return True
    occluding = np.zeros((y1 - y0 + 1, x1 - x0 + 1), bool)
    for j in np.flatnonzero(observation.detected[t]):
        if j != k:
            bx0, by0, bx1, by1 = observation.bbox[t, j]
            occluding[max(by0 - y0, 0):max(by1 - y0 + 1, 0), max(bx0 - x0, 0):max(bx1 - x0 + 1, 0)] = True
    if background is not None and observation.frames is not None:
        patch = observation.frames[t, y0:y1 + 1, x0:x1 + 1].astype(np.float32)
        with np.errstate(invalid="ignore"):
            occluding |= np.abs(patch - background[y0:y1 + 1, x0:x1 + 1]).max(axis=-1) > OCCLUDER_LEVELS
    box_area = (int(box[2]) - int(box[0]) + 1) * (int(box[3]) - int(box[1]) + 1)
    return bool(occluding.sum() >= OCCLUDER_COVER * box_area)


def hidden_in_the_open(clip: Clip, observation: Observation, background: np.ndarray | None = None) -> np.ndarray:
    """(T, K) bool: an object at rest when last seen (_resting) is still unseen at frames where nothing could hide it
    at the place it was last seen (its last box grown by 1 px: _could_hide), for at least MIN_LOST_FRAMES frames in a
    row: True from the first such frame until it is seen again. An occluder may explain going out of sight, but a
    resting object cannot stay hidden where nothing is in front of it (its occluder has moved on, or there never
    was one). Moving objects are left to never_reemerged: a still occluder (a wall) is part of the still background,
    so only an object that stays where it was can be shown to have nothing in front of it."""
    if background is None:
        background = still_background(observation)
    detected = observation.detected
    out = np.zeros(detected.shape, bool)
    for k in range(detected.shape[1]):
        seen = np.flatnonzero(detected[:, k])
        if seen.size == 0:
            continue
        for start, end in runs(~detected[:, k]):
            last = start - 1
            if start <= seen[0] or end - start < MIN_LOST_FRAMES or not _resting(observation, last, k) \
                    or _crossing_edge(observation, last, k, start, clip.spec.resolution):
                continue
            in_the_open = np.array([not _could_hide(observation, background, observation.bbox[last, k], 1.0, t, k,
                                                    clip.spec.resolution) for t in range(start, end)])
            for first, stop in runs(in_the_open):
                if stop - first >= MIN_LOST_FRAMES:
                    out[start + first:end, k] = True
                    break
    return out


def unexplained_blobs(clip: Clip, observation: Observation) -> np.ndarray:
    """(T,) bool: a saturated blob of no prompted colour shows in frame t that was not there in the opening
    frames (before the context ends) and did not come in over the image edge (a blob continues one of the
    frame before at about the same place and hue and inherits whether it is explained)."""
    blobs = observation.blobs
    out = np.zeros(observation.n_frames, bool)
    if blobs.empty:
        return out
    height, width = clip.spec.resolution
    tolerance = observation.config.hue_tolerance_deg
    previous: list[tuple[float, float, float, bool]] = []  # u, v, hue, explained
    for t in range(observation.n_frames):
        current = []
        for blob in blobs[blobs["t"] == t].itertuples():
            match = [p for p in previous if np.hypot(blob.u - p[0], blob.v - p[1]) <= BLOB_MATCH_PX
                     and min(abs(blob.hue_deg - p[2]), 360 - abs(blob.hue_deg - p[2])) <= tolerance]
            edge = (blob.bbox_x0 <= EDGE_MARGIN_PX or blob.bbox_y0 <= EDGE_MARGIN_PX
                    or blob.bbox_x1 >= width - 1 - EDGE_MARGIN_PX or blob.bbox_y1 >= height - 1 - EDGE_MARGIN_PX)
            beside = near_object(observation, t, (blob.bbox_x0, blob.bbox_y0, blob.bbox_x1, blob.bbox_y1), BLOB_GAP_PX)
            explained = match[0][3] if match else (t < clip.spec.n_context or edge or beside)
            current.append((blob.u, blob.v, blob.hue_deg, explained))
            out[t] |= not explained
        previous = current
    return out


@register_metric("permanence_free", principle="permanence", unit="share of frames with an unexplained vanishing or appearance",
                 needs_alignment=False, tags=("object_vanished", "object_appeared"))
def permanence_free(clip: Clip, observation: Observation) -> MetricOutput:
    """Objects leave and enter only across the edge or behind an observed occluder; nothing else appears."""
    scored = evaluated_frames(clip)
    background = still_background(observation)
    lost, appeared = unexplained_losses(clip, observation, background)
    hidden = never_reemerged(clip, observation) & ~lost
    lost |= hidden
    in_the_open = hidden_in_the_open(clip, observation, background) & ~lost
    lost |= in_the_open
    blob_frames = unexplained_blobs(clip, observation)
    lost &= scored[:, None]
    appeared &= scored[:, None]
    blob_frames &= scored
    present = (observation.detected | lost)[scored]
    if not present.any() and not blob_frames.any():
        if observation.detected.any():  # seen in the context, then nothing at all: every object is gone
            return MetricOutput(0.0, 1.0)
        return MetricOutput(np.nan, np.nan, reason="no prompted object is seen in the video")
    vanish_rate = lost[scored].sum() / max(present.sum(), 1)
    any_appeared = appeared.any(axis=1) | blob_frames
    appear_rate = any_appeared[scored].mean()
    value = float((1.0 - vanish_rate) * (1.0 - appear_rate))
    raw = float((lost.any(axis=1) | any_appeared)[scored].mean())

    n_scored = int(scored.sum())
    events = []
    for k, name in enumerate(observation.object_names):
        for start, end in runs(lost[:, k]):
            detail = (f"{name} goes out of sight at frame {start} while moving, away from the edge, and never comes "
                      f"out again ({end - start} frames to the end)" if hidden[start, k] else
                      f"{name}, at rest when last seen, is still gone at frame {start} though nothing covers the place "
                      f"where it was (gone for {end - start} frames)" if in_the_open[start, k] else
                      f"{name} vanishes at frame {start} in the open, away from the edge and from any other object "
                      f"(last seen whole at frame {start - 1}; gone for {end - start} frames)")
            events.append(FailureEvent(clip.clip_id, "object_vanished", start, name, (end - start) / n_scored, detail))
        for t in np.flatnonzero(appeared[:, k]):
            events.append(FailureEvent(
                clip.clip_id, "object_appeared", int(t), name, 1.0 / n_scored,
                f"{name} shows up whole at frame {t} in the open, away from the edge and from any occluder"))
    for start, end in runs(blob_frames):
        blob = observation.blobs[observation.blobs["t"] == start].iloc[0]
        events.append(FailureEvent(
            clip.clip_id, "object_appeared", start, "", (end - start) / n_scored,
            f"an object of no prompted colour (hue {blob['hue_deg']:.0f} deg, {int(blob['area'])} px at "
            f"u={blob['u']:.0f}, v={blob['v']:.0f}) appears at frame {start} away from the edge for {end - start} frames"))
    return MetricOutput(value, raw, sorted(events, key=lambda event: (event.frame, event.tag, event.object)))
