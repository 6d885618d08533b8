import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from metrics import observe
from metrics.common import truth_visible
from simulators import make_spec, simulate
from simulators.families.treadmill import BELT_LENGTH, BELT_TOP, STANCE_HEIGHT, foot_corners

HIGH_FPS = 48.0


def rows(clip, name):
    return clip.tracks[clip.tracks["object"] == name].sort_values("t")


def measured_belt_velocity(clip) -> float:
    """The belt's velocity along x from the tracks of its marker slats (each step unwrapped around the loop)."""
    steps = np.concatenate([np.diff(rows(clip, name)["x"].to_numpy()) for name in clip.events["belt_markers"]])
    steps = (steps + BELT_LENGTH / 2) % BELT_LENGTH - BELT_LENGTH / 2
    return float(np.median(steps) * clip.spec.fps)


def agrees_with_belt(velocity, belt_velocity):
    """Same direction as the belt and within 25% of its speed."""
    velocity = np.asarray(velocity)
    return (np.sign(velocity) == np.sign(belt_velocity)) & (np.abs(velocity - belt_velocity) <= 0.25 * abs(belt_velocity))


@pytest.fixture(scope="module")
def clips():
    """Two eval scenarios at the core suite's timing (32 frames at 8 fps, 64x64)."""
    return [simulate(make_spec("treadmill", "eval", seed)) for seed in (0, 1)]


@pytest.fixture(scope="module")
def fast_clips():
    """One second of two scenarios at 48 fps, so the feet's velocities can be differenced from the tracks."""
    return [simulate(make_spec("treadmill", "eval", seed, fps=HIGH_FPS, n_frames=48, n_context=4)) for seed in (0, 1)]


def test_belt_runs_opposite_to_the_runner_at_a_constant_velocity(clips):
    for clip in clips:
        events = clip.events
        facing, belt = np.array(events["facing_direction"]), np.array(events["belt_direction"])
        assert np.allclose(belt, -facing) and abs(np.linalg.norm(belt) - 1) < 1e-9
        assert events["belt_velocity_mps"] == pytest.approx(belt[0] * events["belt_speed_mps"])
        assert 3.0 < events["belt_speed_mps"] < 4.0
        dt = 1 / clip.spec.fps
        for name in clip.tracks["object"].unique():
            if not name.startswith("belt_"):
                continue
            step = np.diff(rows(clip, name)["x"].to_numpy())
            step = (step - events["belt_velocity_mps"] * dt + BELT_LENGTH / 2) % BELT_LENGTH - BELT_LENGTH / 2
            assert np.abs(step).max() < 1e-6, name  # every slat moves at the belt's velocity, wrapping around
        # the runner faces `facing`: the root's forward axis (x in the humanoid's link frames)
        root = rows(clip, "runner.root")
        forward = Rotation.from_quat(root[["qx", "qy", "qz", "qw"]].to_numpy()).apply([1.0, 0.0, 0.0])
        assert (forward @ facing).min() > 0.8
        # ...and runs in place
        assert np.ptp(root["x"]) < 0.15 and np.abs(root["y"]).max() < 0.05


def test_stance_feet_move_with_the_belt_in_the_ground_truth(clips):
    for clip in clips:
        belt = measured_belt_velocity(clip)
        stance = agree = 0
        for foot in clip.events["feet"].values():
            in_stance = np.array(foot["stance"])
            stance += in_stance.sum()
            agree += (agrees_with_belt(foot["contact_velocity_x_mps"], belt) & in_stance).sum()
        assert stance >= 8, clip.clip_id
        assert agree >= 0.9 * stance, (clip.clip_id, agree, stance)


def test_stance_feet_move_with_the_belt_in_the_tracks(fast_clips):
    """Independent of the family's own events: feet from the ankle links' tracks, differenced at 48 fps."""
    for clip in fast_clips:
        belt = measured_belt_velocity(clip)
        stance = agree = swing_forwards = 0
        for side in ("right", "left"):
            ankle = rows(clip, f"runner.{side}_ankle")
            corners = foot_corners(ankle[["x", "y", "z"]].to_numpy(), ankle[["qx", "qy", "qz", "qw"]].to_numpy())
            lowest = corners[..., 2].argmin(axis=1)
            frames = np.arange(len(lowest))
            velocity = np.gradient(corners[..., 0], axis=0)[frames, lowest] * HIGH_FPS
            in_stance = corners[frames, lowest, 2] < BELT_TOP + STANCE_HEIGHT
            stance += in_stance.sum()
            agree += (agrees_with_belt(velocity, belt) & in_stance).sum()
            swing_forwards += (np.sign(velocity) == -np.sign(belt))[~in_stance].sum()
        assert stance >= 12 and agree >= 0.9 * stance, (clip.clip_id, agree, stance)
        assert swing_forwards > 0  # swinging feet travel forwards, against the belt


def test_gait_phase_runs_forwards(clips):
    for clip in clips:
        phase = np.array(clip.events["gait_phase"])
        assert clip.events["gait_direction"] == 1
        assert (np.diff(phase) % 1.0 > 0).all() and (np.diff(phase) % 1.0 < 0.5).all()


def test_tracked_parts_are_detected_where_the_ground_truth_shows_them(clips):
    for clip in clips:
        observation = observe(clip.video, clip)
        visible = truth_visible(clip, observation)
        assert len(clip.tracked_objects) == 6
        for k, obj in enumerate(clip.tracked_objects):
            assert visible[:, k].sum() >= 8, (clip.clip_id, obj.name)
            assert observation.detected[visible[:, k], k].mean() >= 0.95, (clip.clip_id, obj.name)
