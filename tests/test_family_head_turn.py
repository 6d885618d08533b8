import numpy as np
import pytest

from metrics import observe
from metrics.common import truth_visible
from simulators import make_spec, simulate
from simulators.families.head_turn import (
    CHEST_MARKER_OFFSET,
    FACE_MARKER_OFFSET,
    NECK_YAW_LIMIT_DEG,
    relative_yaw_deg,
)

QUATERNION = ["qx", "qy", "qz", "qw"]


def rows(clip, name):
    return clip.tracks[clip.tracks["object"] == name].sort_values("t")


def head_vs_torso_yaw(clip) -> np.ndarray:
    """From the tracked link orientations of the chest and the head (the humanoid's 'neck' link)."""
    return relative_yaw_deg(rows(clip, "person.chest")[QUATERNION].to_numpy(),
                            rows(clip, "person.neck")[QUATERNION].to_numpy())


@pytest.fixture(scope="module")
def clips():
    """Two eval scenarios at the core suite's timing (32 frames at 8 fps, 64x64)."""
    return [simulate(make_spec("head_turn", "eval", seed)) for seed in (0, 1)]


@pytest.fixture(scope="module")
def ood_clips():
    return [simulate(make_spec("head_turn", "ood", seed)) for seed in (0, 1)]


def test_head_turns_to_the_sampled_maximum_and_never_past_the_limit(clips, ood_clips):
    for clip in [*clips, *ood_clips]:
        yaw = head_vs_torso_yaw(clip)
        sampled = clip.spec.params["max_yaw_deg"]
        assert clip.events["neck_yaw_limit_deg"] == NECK_YAW_LIMIT_DEG
        assert np.abs(yaw).max() <= NECK_YAW_LIMIT_DEG
        assert np.abs(yaw).max() == pytest.approx(sampled, abs=1.5), clip.clip_id
        assert np.allclose(np.abs(clip.events["head_vs_torso_yaw_deg"]), np.abs(yaw), atol=0.01)
        context = clip.spec.n_context
        assert np.abs(yaw[:context]).max() < 1.0  # the turn starts after the context...
        assert np.argmax(np.abs(yaw)) > context  # ...and peaks well after it
        assert np.abs(np.diff(yaw)).max() < 45.0  # smooth at 8 fps


def test_ood_turns_are_further_than_in_distribution_but_within_the_limit(clips, ood_clips):
    in_distribution = max(np.abs(head_vs_torso_yaw(clip)).max() for clip in clips)
    for clip in ood_clips:
        assert in_distribution < np.abs(head_vs_torso_yaw(clip)).max() <= NECK_YAW_LIMIT_DEG


def test_markers_stay_on_their_links(clips):
    for clip in clips:
        for marker, link, offset in (("face_marker", "person.neck", FACE_MARKER_OFFSET),
                                     ("chest_marker", "person.chest", CHEST_MARKER_OFFSET)):
            distance = np.linalg.norm(rows(clip, marker)[["x", "y", "z"]].to_numpy()
                                      - rows(clip, link)[["x", "y", "z"]].to_numpy(), axis=1)
            assert np.allclose(distance, np.linalg.norm(offset), atol=1e-4), (clip.clip_id, marker)


def test_face_marker_shows_the_turn_in_pixels(clips):
    """The person faces the camera, so a turn to their left (+ yaw) moves the face marker to the image's right."""
    for clip in clips:
        yaw = head_vs_torso_yaw(clip)
        offset = rows(clip, "face_marker")["seg_u"].to_numpy() - rows(clip, "person.neck")["seg_u"].to_numpy()
        turned = np.abs(yaw) > 30
        assert turned.sum() >= 4
        assert (np.sign(offset[turned]) == np.sign(yaw[turned])).all()
        assert np.abs(offset[turned]).min() > 2.0 and np.abs(offset[np.abs(yaw) < 1]).max() < 1.5


def test_tracked_parts_are_detected_where_the_ground_truth_shows_them(clips):
    for clip in clips:
        observation = observe(clip.video, clip)
        visible = truth_visible(clip, observation)
        for k, obj in enumerate(clip.tracked_objects):
            assert visible[:, k].sum() >= 16, (clip.clip_id, obj.name)
            assert observation.detected[visible[:, k], k].mean() >= 0.95, (clip.clip_id, obj.name)
