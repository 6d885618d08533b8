"""Reference-free direction: motion goes the way the prompt says, and the arrow of time points forwards.

`direction_free`: the treadmill's belt (its marker stripes, tracked by colour) runs opposite to the way the
prompt says the runner faces; in families whose prompt states a one-way horizontal travel ("rolls from left
to right", "thrown from the left", "drives to the right") the travelling object moves that way.
`time_direction_free`: irreversibility in the observed tracks alone. A passive ball or sliding box (no motor,
no will) that comes to rest with no moving body touching it is forwards evidence (friction and bounce losses
stop things); one at rest that starts moving with no moving body touching it is backwards evidence (played
backwards, a ball lying on the floor jumps up by itself).
"""
from __future__ import annotations

import numpy as np

from simulators import Clip

from .base import FailureEvent, MetricOutput, register_metric
from .common import evaluated_frames, runs
from .dynamics import arc_design
from .observation import Observation
from .reference_free_common import PASSIVE_ROLES, REST_PX, box_gap, seen_whole
from .reference_free_dynamics import flight_arcs

MIN_MOTION_PX = 0.75
"""A step (px per frame) shorter than this says nothing about direction (as in `direction`)."""
REVERSED_FRAMES = 3
"""reversed_motion fires after this many moving steps in a row against the stated direction."""


def _facing_belt(clip: Clip) -> tuple[list[int], float] | None:
    """(indices of the belt's marker stripes, the image direction the belt must run: -1 left, +1 right) for a
    treadmill clip; the runner faces events['facing_direction'] (the prompt: "facing right") and the belt runs
    the other way."""
    facing = clip.events.get("facing_direction")
    markers = [k for k, obj in enumerate(clip.tracked_objects) if obj.role == "belt"]
    if facing is None or not markers:
        return None
    return markers, -float(np.sign(facing[0]))


PROMPT_TRAVEL: dict[str, tuple[tuple[str, ...], float]] = {
    "occlusion": (("rolling",), 1.0),  # "A ... ball rolls from left to right"
    "projectile": (("projectile",), 1.0),  # "A ... ball is thrown from the left ... forwards"
    "vehicle": (("vehicle",), 1.0),  # "starts from rest on the left and drives to the right"
}
"""Families whose prompt template states a one-way horizontal travel: (roles of the travelling objects, image
direction: +1 right). The side-view cameras put the world's +x to the image's right."""


def horizontal_steps(observation: Observation, columns: list[int], width: int) -> np.ndarray:
    """(T - 1,) median horizontal step (px) of the given objects between frames t and t + 1, over those detected
    in both; steps longer than half the width (a belt stripe wrapping around) are left out; NaN where none."""
    steps = np.diff(observation.u[:, columns], axis=0)
    both = observation.detected[:-1, columns] & observation.detected[1:, columns]
    with np.errstate(invalid="ignore"):
        steps = np.where(both & (np.abs(steps) <= width / 2), steps, np.nan)
    out = np.full(steps.shape[0], np.nan)
    has = np.isfinite(steps).any(axis=1)
    out[has] = np.nanmedian(steps[has], axis=1)
    return out


@register_metric("direction_free", principle="direction of time", unit="share of moving steps against the prompted direction",
                 needs_alignment=False, tags=("reversed_motion",))
def direction_free(clip: Clip, observation: Observation) -> MetricOutput:
    """Share of moving steps that go the way the prompt says: the belt against the runner's facing, stated travel."""
    width = clip.spec.resolution[1]
    regions: list[tuple[str, np.ndarray, float]] = []
    belt = _facing_belt(clip)
    if belt is not None:
        regions.append(("belt", horizontal_steps(observation, belt[0], width), belt[1]))
    roles, sign = PROMPT_TRAVEL.get(clip.spec.family, ((), 0.0))
    for k, obj in enumerate(clip.tracked_objects):
        if obj.role in roles:
            regions.append((obj.name, horizontal_steps(observation, [k], width), sign))
    if not regions:
        return MetricOutput(np.nan, np.nan, reason=f"the {clip.spec.family} prompt states no direction of motion")
    after = evaluated_frames(clip)[1:]  # the step t -> t + 1 ends at a scored frame
    agree = reverse = moving = 0
    events = []
    for name, steps, expected in regions:
        with np.errstate(invalid="ignore"):
            scored = after & (np.abs(steps) >= MIN_MOTION_PX)
            against = scored & (np.sign(steps) == -expected)
        moving += int(scored.sum())
        agree += int((scored & ~against).sum())
        reverse += int(against.sum())
        pairs = np.flatnonzero(scored)
        long_runs = [(a, b) for a, b in runs(against[pairs]) if b - a >= REVERSED_FRAMES]
        if long_runs:
            first = int(pairs[long_runs[0][0]]) + 1
            way = "right" if expected > 0 else "left"
            events.append(FailureEvent(
                clip.clip_id, "reversed_motion", first, name, float(against.sum() / max(scored.sum(), 1)),
                f"{name} moves against the prompted direction (it must move {way}) from frame {first} for "
                f"{long_runs[0][1] - long_runs[0][0]} moving steps"))
    if moving == 0:
        return MetricOutput(np.nan, np.nan, reason="nothing the prompt gives a direction to moves after the context")
    return MetricOutput(agree / moving, reverse / moving, events)


# ------------------------------------------------------------------------------------ time_direction_free
MOVING_PX = 1.0
"""A step at least this long (px per frame) is motion; one under REST_PX on both axes is rest."""
MOTION_WINDOW = 3
"""A stop counts when the object moved (MOVING_PX) in one of the last this many steps before its rest (a ball's
last hops on the floor are short), and a start when it moves in one of the first this many steps after it."""
REST_STEPS = 2
"""Rest needs this many still steps in a row (one still step is the top of a bounce), with a net drift across
them under REST_PX on both axes: a ball rolling at about 0.5 px per frame (a slow ball of `collision`) has still
steps under H.264's jitter, but drifts (0.75 px over two steps in a core clip that read as a stop and a start)."""
RESTING_SHAPES = ("sphere",)
RESTING_ROLES = ("sliding",)
"""Only a ball, or a box the prompt has sliding (a cube lying on a face: static friction holds it), stays at rest
untouched: a block, a domino or a chair that has landed can topple from rest by itself (an unstable balance; a
clean chair clip tipped over after a two-frame pause), and the outline of a cube does not show it turning."""
JUMP_PX = 3.0
JUMP_FACTOR = 4.0
"""A step longer than JUMP_PX and JUMP_FACTOR times the step before it is a jump (a cut or a splice), not
motion: rest and motion next to it say nothing about the arrow of time (a clip cut from mid-fall to the ball
lying on the floor has not shown the ball stop; the onset of a `time_reverse` corruption is such a cut)."""
CONTACT_GAP_PX = 2.0
"""Another object (not a part of the same body) within this many px of the object's box may push or stop it."""


def _speeds(observation: Observation, k: int) -> np.ndarray:
    """(T - 1,) length of object k's observed step t -> t + 1 (px), NaN where not detected in both frames."""
    du = np.diff(observation.u[:, k])
    dv = np.diff(observation.v[:, k])
    return np.hypot(du, dv)


def _step_around(speed: np.ndarray, t: int) -> float:
    """The longer of an object's steps into and out of frame t (px), 0 where neither is known."""
    steps = [speed[s] for s in (t - 1, t) if 0 <= s < speed.size and np.isfinite(speed[s])]
    return float(max(steps)) if steps else 0.0


def _touched(clip: Clip, observation: Observation, k: int, frames: list[int], moving_steps: list[int]) -> bool:
    """Another tracked object (not of k's body) may touch object k at one of the frames, and moves (a step of at
    least MOVING_PX) in one of the moving_steps (step s: frame s -> s + 1): only a moving object can push another
    into motion or carry its momentum away; one at rest beside k neither starts nor excuses anything. May touch:
    the boxes are within CONTACT_GAP_PX + the two objects' steps around that frame (at 8 fps two balls can meet
    between frames and part again before the next one)."""
    body = clip.tracked_objects[k].body or clip.tracked_objects[k].name
    speed_k = _speeds(observation, k)
    for t in frames:
        if not 0 <= t < observation.n_frames or not observation.detected[t, k]:
            continue
        for j in np.flatnonzero(observation.detected[t]):
            other = clip.tracked_objects[j]
            if j == k or (other.body or other.name) == body:
                continue
            speed_j = _speeds(observation, j)
            reach = CONTACT_GAP_PX + _step_around(speed_k, t) + _step_around(speed_j, t)
            if box_gap(observation.bbox[t, k], observation.bbox[t, j]) > reach:
                continue
            with np.errstate(invalid="ignore"):
                if any(0 <= s < speed_j.size and speed_j[s] >= MOVING_PX for s in moving_steps):
                    return True
    return False


def _at_rest(observation: Observation, k: int, still: np.ndarray, first: int, end: int) -> bool:
    """Object k's steps first .. end - 1 are still, and it lies within REST_PX on both axes at frames first and end."""
    with np.errstate(invalid="ignore"):
        return bool(still[first:end].all()
                    and abs(observation.u[end, k] - observation.u[first, k]) < REST_PX
                    and abs(observation.v[end, k] - observation.v[first, k]) < REST_PX)


def rest_transitions(clip: Clip, observation: Observation) -> list[tuple[int, str, int]]:
    """(frame, object name, +1 comes to rest / -1 starts from rest) for every untouched transition of a passive
    object between motion and rest after the context: REST_STEPS still steps without a net drift after (before)
    a step that is not still, with a moving step among the MOTION_WINDOW steps before (after) it; the object seen
    whole in the steps that count, none of them a jump, and no moving body that may touch it around the
    transition (_touched)."""
    whole = seen_whole(observation, clip.spec.resolution)
    n_context = clip.spec.n_context
    found = []
    for k, obj in enumerate(clip.tracked_objects):
        if obj.role not in PASSIVE_ROLES or (obj.shape not in RESTING_SHAPES and obj.role not in RESTING_ROLES):
            continue
        speed = _speeds(observation, k)
        previous = np.concatenate([[np.nan], speed[:-1]])
        with np.errstate(invalid="ignore"):
            jump = (speed > JUMP_PX) & ~(speed <= JUMP_FACTOR * previous)
        steady = whole[:-1, k] & whole[1:, k] & ~jump
        with np.errstate(invalid="ignore"):
            du, dv = np.abs(np.diff(observation.u[:, k])), np.abs(np.diff(observation.v[:, k]))
            still = steady & (du < REST_PX) & (dv < REST_PX)
            moving = steady & (speed >= MOVING_PX)
        for s in range(n_context - 1, speed.size):  # step s goes from frame s to s + 1
            if still[s] or not steady[s]:
                continue
            before, after = slice(max(s - MOTION_WINDOW + 1, 0), s + 1), slice(s, s + MOTION_WINDOW)
            if (s + REST_STEPS < speed.size and _at_rest(observation, k, still, s + 1, s + 1 + REST_STEPS)
                    and np.nanmax(np.where(moving[before], speed[before], 0.0)) > 0
                    and not _touched(clip, observation, k, [s - 1, s, s + 1, s + 2], [s, s + 1, s + 2])):
                found.append((s + 1, obj.name, 1))
            if (s - REST_STEPS >= n_context - 1 and _at_rest(observation, k, still, s - REST_STEPS, s)
                    and np.nanmax(np.where(moving[after], speed[after], 0.0)) > 0
                    and not _touched(clip, observation, k, [s - 1, s, s + 1, s + 2], [s - 2, s - 1, s])):
                found.append((s, obj.name, -1))
    return found


BOUNCE_GAP_FRAMES = 2
"""Two free-flight arcs of a ball meet at a bounce when the second starts at most this many frames after the first
ends (flight_arcs leaves out the lowest frame, where the ball touches the floor between two frames)."""
RESTITUTION_FORWARD = 0.8
"""A bounce whose measured restitution (outgoing over incoming vertical speed) is under this loses energy: forwards
evidence; over its inverse it gains energy: backwards evidence (played backwards, a bounce of restitution e
reads 1 / e); between, no cue. Train split, 20 seeds of free_fall and of projectile: the 28 clean bounces read
0.27-0.70 (0.28-0.70 after H.264 at crf 28), the 17 of the clips played backwards 1.42-2.55; the floor's
restitution times the ball's is 0.3-0.7 in distribution, up to 0.9 ood."""
ARC_FIT_RMS_PX = 0.75
"""A two-arc parabola fit whose residual (RMS, px) exceeds this is no free flight (a cut, a push, a bad track)."""


def _bounce_restitution(v: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[float, float] | None:
    """(bounce time in frames, restitution) of a ball whose (T,) height track v (px, down) flies along the arcs
    `first` then `second` (frame indices): parabolas v = a/2 t^2 + b_i t + c_i with a shared a > 0 fitted by
    least squares; the bounce is where they meet, t_b = (c_2 - c_1) / (b_1 - b_2), between the arcs; each arc's
    apex is at t_i = -b_i / a, and with one gravity the vertical speeds a (t_b - t_1) in and a (t_2 - t_b) out
    give e = (t_2 - t_b) / (t_b - t_1). None when the fit is poor, no bounce lies between the arcs, or the ball
    is not falling into it and rising out of it."""
    design, heights = arc_design([first, second], v)  # tau counted from each arc's first frame
    if design.shape[0] < design.shape[1] + 1 or not np.isfinite(heights).all():
        return None
    coefficients, *_ = np.linalg.lstsq(design, heights, rcond=None)
    rms = float(np.sqrt(np.mean((design @ coefficients - heights) ** 2)))
    a = coefficients[0]
    # In absolute time, a/2 (t - s)^2 + b (t - s) + c = a/2 t^2 + (b - a s) t + (a/2 s^2 - b s + c).
    (b_1, c_1), (b_2, c_2) = ((b - a * s, a / 2 * s * s - b * s + c)
                              for s, b, c in ((first[0], *coefficients[1:3]), (second[0], *coefficients[3:5])))
    if a <= 0 or b_1 == b_2 or rms > ARC_FIT_RMS_PX:
        return None
    bounce = (c_2 - c_1) / (b_1 - b_2)
    apex_1, apex_2 = -b_1 / a, -b_2 / a
    if not (first[-1] <= bounce <= second[0] and apex_1 < bounce < apex_2):
        return None
    return float(bounce), float((apex_2 - bounce) / (bounce - apex_1))


def bounce_transitions(clip: Clip, observation: Observation) -> list[tuple[int, str, int]]:
    """(frame, ball name, +1 loses energy / -1 gains energy) for every bounce of a passive ball after the context
    between two free-flight arcs (reference_free_dynamics.flight_arcs) with no moving body that may touch it there:
    its restitution (_bounce_restitution) under RESTITUTION_FORWARD is +1, over its inverse -1."""
    whole = seen_whole(observation, clip.spec.resolution)
    found = []
    for k, obj in enumerate(clip.tracked_objects):
        if obj.role not in PASSIVE_ROLES or obj.shape != "sphere":
            continue
        v = np.where(observation.detected[:, k], observation.v[:, k], np.nan)
        u = np.where(observation.detected[:, k], observation.u[:, k], np.nan)
        arcs = flight_arcs(v, whole[:, k], clip.spec.n_context - 1, u)
        for first, second in zip(arcs, arcs[1:]):
            if second[0] - first[-1] > BOUNCE_GAP_FRAMES:
                continue
            measured = _bounce_restitution(v, first, second)
            if measured is None:
                continue
            frame = int(np.ceil(measured[0]))
            if _touched(clip, observation, k, list(range(int(first[-1]), int(second[0]) + 1)),
                        list(range(int(first[-1]) - 1, int(second[0]) + 1))):
                continue
            if measured[1] < RESTITUTION_FORWARD:
                found.append((frame, obj.name, 1))
            elif measured[1] > 1.0 / RESTITUTION_FORWARD:
                found.append((frame, obj.name, -1))
    return found


@register_metric("time_direction_free", principle="direction of time", unit="evidence in [-1, 1] (+1 forwards)",
                 needs_alignment=False, tags=("time_reversed",))
def time_direction_free(clip: Clip, observation: Observation) -> MetricOutput:
    """Arrow of time from irreversible events in the video alone: passive objects stop by themselves, never start,
    and a ball bounces lower than it fell, never higher."""
    cues = {"starts moving from rest with nothing touching it": rest_transitions(clip, observation),
            "bounces higher than it fell (gains energy) with nothing touching it": bounce_transitions(clip, observation)}
    signs = np.array([sign for found in cues.values() for _, _, sign in found])
    if not signs.size:
        return MetricOutput(np.nan, np.nan, reason="no passive object comes to rest, starts from rest or bounces "
                                                   "untouched after the context (no irreversible cue)")
    evidence = float(signs.mean())
    events = []
    backwards = sorted((frame, name, what) for what, found in cues.items() for frame, name, sign in found if sign < 0)
    if backwards:
        frame, name, what = backwards[0]
        events.append(FailureEvent(
            clip.clip_id, "time_reversed", int(frame), name, float(len(backwards) / signs.size),
            f"{name} {what} at frame {frame} ({len(backwards)} of {signs.size} irreversible cues run backwards "
            f"in time)"))
    return MetricOutput(0.5 * (1.0 + evidence), evidence, events)
