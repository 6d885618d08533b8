import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from metrics import observe
from metrics.common import truth_visible
from simulators import make_spec, simulate
from simulators.families.vehicle import WHEELS


@pytest.fixture(scope="module")
def clips():
    return [simulate(make_spec("vehicle", "eval", seed)) for seed in range(4)]


def chassis(clip):
    return clip.tracks[clip.tracks["object"] == "car.chassis"]


def test_the_car_drives_forward_at_about_the_commanded_speed(clips):
    for clip in clips:
        rows = chassis(clip)
        position = rows[["x", "y"]].to_numpy()  # on the floor plane (bumps move it up and down)
        forward = Rotation.from_quat(rows[["qx", "qy", "qz", "qw"]].to_numpy()).apply([1.0, 0.0, 0.0])[:, :2]
        forward /= np.linalg.norm(forward, axis=1, keepdims=True)
        step = np.diff(position, axis=0)
        along = np.einsum("ij,ij->i", step, forward[:-1])
        assert along.sum() > 1.0, clip.clip_id
        sideways = np.abs(step[:, 0] * forward[:-1, 1] - step[:, 1] * forward[:-1, 0])
        assert sideways.sum() < 0.15 * along.sum(), clip.clip_id  # the wheels grip: no sliding sideways
        cruising = along[int(clip.spec.fps):] * clip.spec.fps  # after the first second
        commanded = clip.events["commanded_speed_mps"]
        assert 0.7 * commanded < cruising.mean() < 1.15 * commanded, (clip.clip_id, cruising.mean(), commanded)


def test_steering_turns_the_car_its_way(clips):
    for clip in clips:
        rows = chassis(clip)
        yaw = Rotation.from_quat(rows[["qx", "qy", "qz", "qw"]].to_numpy()).as_euler("zyx")[:, 0]
        steering = clip.events["commanded_steering_rad"]
        if abs(steering) > 0.1:
            assert np.sign(yaw[-1]) == np.sign(steering) and abs(yaw[-1]) > 0.1, clip.clip_id


def test_wheel_contacts_are_recorded(clips):
    for clip in clips:
        contacts = clip.events["wheel_contacts"]
        assert len(contacts) == clip.spec.n_frames
        assert all(set(names) <= set(WHEELS) for names in contacts)
        assert np.mean([len(names) >= 3 for names in contacts[1:]]) > 0.8, clip.clip_id


def test_the_car_stays_in_frame_and_is_detected(clips):
    for clip in clips:
        rows = chassis(clip)
        assert rows["in_frame"].mean() > 0.9 and (rows["visible_frac"] > 0.5).mean() > 0.9, clip.clip_id
        observation = observe(clip.video, clip)
        visible = truth_visible(clip, observation)
        assert (observation.detected & visible).sum() / visible.sum() >= 0.98, clip.clip_id
