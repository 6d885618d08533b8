"""The reference-free metrics: they pass the truth, catch their failure, and never read the ground truth."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from generators.corruptions import CORRUPTIONS, paint_in, paint_out
from generators.corruptions_direction import reverse_belt
from metrics import METRICS, REFERENCE_FREE_METRICS, observe
from metrics.reference_free_direction import JUMP_PX, _bounce_restitution, bounce_transitions, rest_transitions
from metrics.reference_free_dynamics import STANDARD_GRAVITY, flight_arcs
from metrics.reference_free_permanence import HIDDEN_FOR_GOOD_FRAMES
from simulators.families.base import PALETTE


def run(name, clip, frames):
    return METRICS.get(name).fn(clip, observe(frames, clip))


def tags(output):
    return {event.tag for event in output.events}


def blind(clip):
    """The clip with every ground-truth array a reference-free metric must not read taken away: no tracks,
    no segmentation, no video, no events but the prompt's facing."""
    facing = {"facing_direction": clip.events["facing_direction"]} if "facing_direction" in clip.events else {}
    return dataclasses.replace(clip, video=np.zeros((1, 1, 1, 3), np.uint8), seg=np.zeros((1, 1, 1), np.int16),
                               tracks=pd.DataFrame(), events=facing, camera={}, depth=None)


def test_reference_free_metrics_need_no_alignment_and_read_no_ground_truth(core_clips):
    for family in ("free_fall", "occlusion", "chair", "treadmill"):
        clip = core_clips[family][0]
        observation = observe(CORRUPTIONS.get("time_reverse").fn(clip, 1.0), clip)
        for name in REFERENCE_FREE_METRICS:
            spec = METRICS.get(name)
            assert not spec.needs_alignment, name
            seeing, not_seeing = spec.fn(clip, observation), spec.fn(blind(clip), observation)
            assert np.isclose(seeing.value, not_seeing.value, equal_nan=True), (clip.clip_id, name)
            assert seeing.events == not_seeing.events, (clip.clip_id, name)


def test_gravity_free_reads_9_81_from_the_ball_and_catches_weak_gravity(core_clips):
    for clip in core_clips["free_fall"] + core_clips["projectile"]:
        truth = run("gravity_free", clip, clip.video)
        assert truth.value == 1.0 and truth.raw < 0.1, (clip.clip_id, truth)  # g within 10% of 9.81
        weak = run("gravity_free", clip, CORRUPTIONS.get("gravity_scale").fn(clip, 1.0))  # 0.25 g
        assert weak.value < 0.5 and "wrong_gravity" in tags(weak), (clip.clip_id, weak)
    assert np.isnan(run("gravity_free", core_clips["chair"][0], core_clips["chair"][0].video).value)


def test_flight_arcs_stop_at_the_bounce_and_at_rest():
    # v down: a fall over frames 0-4 (steps 1, 3, 5, 7), a bounce at 4, a rise and fall 5-8, then rest
    v = np.array([0.0, 1, 4, 9, 16, 13, 12, 13, 16, 16, 16, 16])
    arcs = flight_arcs(v, np.ones(v.size, bool), 0)
    assert [list(arc) for arc in arcs] == [[0, 1, 2, 3], [5, 6, 7, 8]]
    assert STANDARD_GRAVITY == 9.81


def test_gravity_free_tags_a_four_frame_arc_off_whichever_frame_is_left_out(monkeypatch):
    """At 0.63 g a thrown ball lands 4 frames after the context: one frame to spare, so no frame can be trimmed;
    every fit with one frame left out still reads 6-7 m/s^2, so it is tagged (before: never, with 1 spare)."""
    import metrics.reference_free_dynamics as dynamics
    from simulators import make_spec, simulate

    clip = simulate(make_spec("projectile", "train", 2, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    weak = CORRUPTIONS.get("gravity_scale").fn(clip, 0.5)
    assert [event.tag for event in run("gravity_free", clip, weak).events] == ["wrong_gravity"]
    assert "over 4 frames" in run("gravity_free", clip, weak).events[0].message
    monkeypatch.setattr(dynamics, "_off_without_any_frame", lambda *args: False)
    assert not run("gravity_free", clip, weak).events


def test_gravity_free_tags_only_a_fit_no_single_frame_explains(monkeypatch):
    """A stutter right after the context cuts a thrown ball's arc into two 3-frame arcs (one a hop on the floor):
    5 unknowns on 6 frames and a fit far off 9.81, but with any frame of the hop left out it reads 11.4 m/s^2;
    it must not be tagged."""
    import metrics.reference_free_dynamics as dynamics
    from simulators import make_spec, simulate

    clip = simulate(make_spec("projectile", "train", 4, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    stutter = CORRUPTIONS.get("duplicate_frame").fn(clip, 1.0)
    assert run("gravity_free", clip, stutter).raw > dynamics.GRAVITY_FREE_TAG
    assert not run("gravity_free", clip, stutter).events
    monkeypatch.setattr(dynamics, "_off_without_any_frame", lambda *args: True)
    assert [event.tag for event in run("gravity_free", clip, stutter).events] == ["wrong_gravity"]


def test_permanence_free_catches_painted_out_and_painted_in_objects(core_clips):
    for family in ("free_fall", "collision", "tower"):
        clip = core_clips[family][0]
        truth = run("permanence_free", clip, clip.video)
        assert truth.value == 1.0 and not truth.events, (clip.clip_id, truth.events)
        target = clip.tracked_objects[-1]
        gone = run("permanence_free", clip, paint_out(clip.video, clip.seg, target.id, 12))
        assert any(event.tag == "object_vanished" and event.object == target.name for event in gone.events), clip.clip_id
        assert gone.value < 0.95
        used = {obj.rgb for obj in clip.tracked_objects}
        rgb = next(colour for _, colour in PALETTE if colour not in used)
        new = run("permanence_free", clip, paint_in(clip.video, 9, rgb, (56, 12), 4.0))
        assert [event.frame for event in new.events if event.tag == "object_appeared"][:1] == [9], clip.clip_id


def test_permanence_free_lets_objects_pass_behind_an_occluder(core_clips):
    for clip in core_clips["occlusion"] + core_clips["crowd"]:
        hidden = (clip.track_matrix("visible_px") == 0)[clip.spec.n_context:].any()
        output = run("permanence_free", clip, clip.video)
        assert hidden or clip.spec.family == "crowd"
        assert output.value == 1.0 and not output.events, (clip.clip_id, output.events)


def test_permanence_free_catches_a_ball_that_goes_behind_the_wall_and_never_comes_out(core_clips):
    """Painted out while hidden behind the occluder, the rolling ball is excused when it goes out of sight; that
    it never comes out again (HIDDEN_FOR_GOOD_FRAMES to the end) is the vanishing."""
    for clip in core_clips["occlusion"]:
        hidden = np.flatnonzero(clip.track_matrix("visible_px")[:, 0] == 0)
        onset = int(hidden[len(hidden) // 2])  # the middle of the hiding: nothing of the ball is seen there
        video = paint_out(clip.video, clip.seg, clip.tracked_objects[0].id, onset)
        assert video.shape[0] - hidden[0] >= HIDDEN_FOR_GOOD_FRAMES
        output = run("permanence_free", clip, video)
        vanished = [event for event in output.events if event.tag == "object_vanished"]
        assert vanished and "never comes out" in vanished[0].message, (clip.clip_id, output.events)
        assert output.value < 0.7


def test_permanence_free_catches_a_resting_object_gone_where_nothing_covers_it(monkeypatch):
    """The chair's seat, at rest in the context, painted out from the first frame after it: its parts' outlines
    overlap the seat's, so the going is excused (a part might hide it), but nothing covers the place the seat was
    in the frames after, and an object at rest cannot stay hidden there."""
    import metrics.reference_free_permanence as permanence
    from simulators import make_spec, simulate

    clip = simulate(make_spec("chair", "train", 2, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    video = CORRUPTIONS.get("vanish").fn(clip, 1.0)
    assert run("permanence_free", clip, clip.video).value == 1.0
    caught = run("permanence_free", clip, video)
    assert caught.value < 0.9 and any("nothing covers the place" in event.message for event in caught.events), caught
    monkeypatch.setattr(permanence, "hidden_in_the_open", lambda clip, observation, background=None:
                        np.zeros(observation.detected.shape, bool))
    assert run("permanence_free", clip, video).value == 1.0, "without the rule the parts excuse the vanishing"


def test_rigidity_free_catches_a_chair_part_swinging_while_the_chair_lies_still(core_clips, monkeypatch):
    """bend at moderate severity swings a part of the chair from frame 18, when the chair has fallen and lies
    still; the parts' drift from where they were when the rest began catches it whatever the view."""
    import metrics.reference_free_shape as shape

    bent = {}
    for clip in core_clips["chair"]:
        clean = run("rigidity_free", clip, clip.video)
        assert clean.value == 1.0 and not clean.events, (clip.clip_id, clean)
        bent[clip.clip_id] = CORRUPTIONS.get("bend").fn(clip, 0.5)
        output = run("rigidity_free", clip, bent[clip.clip_id])
        broken = [event for event in output.events if event.tag == "rigidity_broken"]
        assert output.value < 0.8 and broken and broken[0].frame >= 18, (clip.clip_id, output)
    monkeypatch.setattr(shape, "rest_drift_errors", lambda clip, observation: (
        np.full(observation.detected.shape, np.nan), np.zeros(observation.detected.shape, bool)))
    missed = [run("rigidity_free", clip, bent[clip.clip_id]).value for clip in core_clips["chair"]]
    assert max(missed) > 0.9, f"without the rest drift the bend goes unseen: {missed}"


def test_rigidity_free_catches_a_chair_seat_squashed_while_the_chair_lies_still(monkeypatch):
    """stretch at moderate severity squashes the seat from frame 18, when the chair lies still; the change moves
    every part's outline by 0.5-0.8 px in that frame, a twitch that must not start a new rest (which would
    measure the squashed seat against itself)."""
    import metrics.reference_free_shape as shape
    from simulators import make_spec, simulate

    clip = simulate(make_spec("chair", "train", 1, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    squashed = CORRUPTIONS.get("stretch").fn(clip, 0.5)
    assert run("rigidity_free", clip, clip.video).value == 1.0
    assert run("rigidity_free", clip, squashed).value < 0.85, "the seat's axis ends drift about 2 px at rest"
    monkeypatch.setattr(shape, "BRIDGE_PX", 0.0)
    assert run("rigidity_free", clip, squashed).value == 1.0, "a rest restarted at the squash sees nothing"


def test_rigidity_free_tags_a_chair_part_squashed_at_rest_as_a_shape_change(monkeypatch):
    """The seat squashed while the chair lies still keeps its place but not its outline: shape_changed (the
    corruption's tag), from the aspect change against the rest's first frame; without that term the drift alone
    raises rigidity_broken at most."""
    import metrics.reference_free_shape as shape
    from simulators import make_spec, simulate

    clip = simulate(make_spec("chair", "train", 1, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    squashed = CORRUPTIONS.get("stretch").fn(clip, 0.5)
    changed = [event for event in run("rigidity_free", clip, squashed).events if event.tag == "shape_changed"]
    assert changed and changed[0].object == "chair.seat" and "lies still" in changed[0].message, changed
    assert "shape_changed" not in tags(run("rigidity_free", clip, CORRUPTIONS.get("h264").fn(clip, 1.0)))
    monkeypatch.setattr(shape, "rest_aspect_errors", lambda clip, observation: (
        np.full(observation.detected.shape, np.nan), np.zeros(observation.detected.shape, bool)))
    assert "shape_changed" not in tags(run("rigidity_free", clip, squashed))


def test_rigidity_free_catches_a_squashed_ball(core_clips):
    for family in ("collision", "occlusion"):
        clip = core_clips[family][0]
        assert run("rigidity_free", clip, clip.video).value == 1.0
        squashed = run("rigidity_free", clip, CORRUPTIONS.get("stretch").fn(clip, 1.0))
        assert squashed.value < 0.5 and "shape_changed" in tags(squashed), (clip.clip_id, squashed)


def test_direction_free_belt_runs_against_the_runner(core_clips):
    for clip in core_clips["treadmill"]:
        truth = run("direction_free", clip, clip.video)
        assert truth.value == 1.0 and not truth.events
        backwards = run("direction_free", clip, reverse_belt(clip, clip.spec.n_context))
        assert backwards.value < 0.2 and "reversed_motion" in tags(backwards), clip.clip_id
    for clip in core_clips["occlusion"] + core_clips["vehicle"]:
        assert run("direction_free", clip, clip.video).value == 1.0
        assert run("direction_free", clip, CORRUPTIONS.get("time_reverse").fn(clip, 1.0)).value < 0.2, clip.clip_id
    assert np.isnan(run("direction_free", core_clips["pendulum"][0], core_clips["pendulum"][0].video).value)


def test_time_direction_free_scores_a_reversed_clip_worse(core_clips):
    decided = 0
    for clip in [clip for clips in core_clips.values() for clip in clips]:
        forward = run("time_direction_free", clip, clip.video)
        backward = run("time_direction_free", clip, CORRUPTIONS.get("time_reverse").fn(clip, 1.0))
        assert not forward.events, (clip.clip_id, forward.events)
        if np.isnan(forward.value):
            assert forward.reason
            continue
        decided += 1
        assert forward.value == 1.0, clip.clip_id
        assert np.isnan(backward.value) or backward.value < forward.value, clip.clip_id
    assert decided >= 3  # most clips have no irreversible cue after the context (docs/metrics.md)


@pytest.mark.parametrize("name", REFERENCE_FREE_METRICS)
def test_a_still_video_gives_no_evidence_of_motion(core_clips, name):
    """A frozen continuation: nothing vanishes (permanence 1), and nothing moves to judge (NaN with a reason)."""
    clip = core_clips["free_fall"][0]
    frozen = clip.video.copy()
    frozen[clip.spec.n_context:] = clip.video[clip.spec.n_context - 1]
    output = run(name, clip, frozen)
    if name == "permanence_free":
        assert output.value == 1.0
    elif np.isnan(output.value):
        assert output.reason


def test_time_direction_free_takes_a_cut_for_no_stop(core_clips):
    """Played backwards from the first frame after the context, a falling ball is cut from mid-fall to lying on
    the floor: that jump is no stop (no forwards cue), and the ball later leaving the floor by itself is a
    backwards one; so the reversed clip scores 0 (not 0.5, as when the cut counted as a stop)."""
    clip = core_clips["free_fall"][0]
    reversed_video = CORRUPTIONS.get("time_reverse").fn(clip, 1.0)
    observation = observe(reversed_video, clip)
    cues = rest_transitions(clip, observation)
    assert cues and all(sign == -1 for _, _, sign in cues), cues
    assert run("time_direction_free", clip, reversed_video).value == 0.0
    speed = np.hypot(np.diff(observation.u[:, 0]), np.diff(observation.v[:, 0]))
    assert np.nanmax(speed) > JUMP_PX, "the corruption's cut is a jump"


def test_bounce_restitution_reads_energy_lost_and_gained():
    """A ball falling at 2.5 px/frame^2 meets the floor at frame 10 at 10 px/frame and leaves it at 5 (e = 0.5):
    sampled at whole frames (the contact between two of them), the two arcs give e = 0.5, and the same track
    played backwards gives 1 / e = 2 (it bounces higher than it fell)."""
    t = np.arange(0, 20, dtype=float)
    floor, gravity, speed_in, restitution, bounce = 50.0, 2.5, 10.0, 0.5, 9.5
    falling = floor - speed_in * (bounce - t) + 0.5 * gravity * (bounce - t) ** 2  # v is down; apex at 5.5
    rising = floor - restitution * speed_in * (t - bounce) + 0.5 * gravity * (t - bounce) ** 2
    v = np.where(t < bounce, falling, rising)
    first, second = np.arange(6, 10), np.arange(10, 13)
    measured_bounce, measured = _bounce_restitution(v, first, second)
    assert measured_bounce == pytest.approx(bounce) and measured == pytest.approx(restitution)
    backwards = v[::-1].copy()
    _, measured = _bounce_restitution(backwards, 19 - second[::-1], 19 - first[::-1])
    assert measured == pytest.approx(1 / restitution)
    assert _bounce_restitution(v, np.arange(1, 4), np.arange(6, 10)) is None  # no bounce between two falls


def test_time_direction_free_reads_a_bounce_that_gains_energy(core_clips):
    """The core free_fall clip bounces once after the context with a loss of energy (+1); played backwards from
    the context on, that bounce gains energy (-1), beside the ball leaving the floor by itself."""
    clip = core_clips["free_fall"][0]
    assert [sign for _, _, sign in bounce_transitions(clip, observe(clip.video, clip))] == [1]
    reversed_video = CORRUPTIONS.get("time_reverse").fn(clip, 1.0)
    assert [sign for _, _, sign in bounce_transitions(clip, observe(reversed_video, clip))] == [-1]
    output = run("time_direction_free", clip, reversed_video)
    assert output.value == 0.0 and tags(output) == {"time_reversed"}


def test_time_direction_free_takes_a_slow_roll_for_no_rest(core_clips, tmp_path, monkeypatch):
    """The slow ball of the core collision clip rolls at about 0.5 px per frame; after H.264 (crf 23) two of its
    steps read under 0.5 px, then one over 1 px. Its net drift over those two steps (0.75 px) says it never
    stopped: no stop and no start (before the drift rule: a stop and a start, and a time_reversed tag)."""
    import metrics.reference_free_direction as direction
    from generators import read_video, write_mp4

    clip = core_clips["collision"][0]
    frames, _ = read_video(write_mp4(tmp_path / "clip.mp4", clip.video, clip.spec.fps, crf=23))
    observation = observe(frames, clip)
    assert rest_transitions(clip, observation) == []
    monkeypatch.setattr(direction, "_at_rest", lambda observation, k, still, first, end: bool(still[first:end].all()))
    assert any(sign == -1 for _, _, sign in rest_transitions(clip, observation))


def test_time_direction_free_reads_a_box_sliding_up_from_rest_beside_a_resting_ball(monkeypatch):
    """The ramp played backwards from frame 18: the box, lying at the foot of the ramp beside the ball, starts up
    the slope by itself. The ball touches it but lies still, and a body at rest pushes nothing: a backwards cue,
    so the forwards cue of the ball's stop in the untouched part is balanced (0.5, not 1). Had any body beside
    it counted as a push, as before, the box's start said nothing."""
    import metrics.reference_free_direction as direction
    from simulators import make_spec, simulate

    clip = simulate(make_spec("ramp", "train", 1, n_frames=32, fps=8.0, resolution=(64, 64), n_context=4))
    assert all(sign == 1 for _, _, sign in rest_transitions(clip, observe(clip.video, clip)))
    reversed_video = CORRUPTIONS.get("time_reverse").fn(clip, 0.5)
    cues = rest_transitions(clip, observe(reversed_video, clip))
    assert any(name == "box" and sign == -1 and frame >= 18 for frame, name, sign in cues), cues
    assert run("time_direction_free", clip, reversed_video).value == 0.5
    monkeypatch.setattr(direction, "MOVING_PX", 0.0)  # every body counts as moving, so any touch excuses
    assert run("time_direction_free", clip, reversed_video).value == 1.0
