"""The meta-evaluation on a small slice, with the targets of the metrics issue as assertions."""
import numpy as np
import pytest

from bench.config import SuiteConfig
from bench.meta_eval import TARGETS, MetaEvalConfig, auroc, collect, tables
from generators.corruptions import CORRUPTIONS
from simulators import make_spec, simulate

SLICE = SuiteConfig(name="slice", families=["free_fall", "projectile", "collision", "chair"], n_seeds=2)


def test_auroc_on_known_answers():
    assert auroc(np.array([1.0, 0.9]), np.array([0.1, 0.2])) == 1.0
    assert auroc(np.array([0.1, 0.2]), np.array([1.0, 0.9])) == 0.0
    assert auroc(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.5


APPLIES_TO = {"bend": "chair", "head_over_rotation": "head_turn", "no_reemergence": "occlusion",
              "misplaced_reemergence": "occlusion", "gravity_scale": "free_fall"}
"""Corruptions of one kind of scene (a chair's parts, a head, an occluded object, a falling ball); the rest
apply to the collision clip."""


def test_corruptions_leave_the_context_alone_and_are_deterministic():
    clips = {family: simulate(make_spec(family, "eval", 0)) for family in {"collision", *APPLIES_TO.values()}}
    for name in CORRUPTIONS:
        clip = clips[APPLIES_TO.get(name, "collision")]
        n_context = clip.spec.n_context
        first = CORRUPTIONS.get(name).fn(clip, 0.5)
        assert first.shape == clip.video.shape and first.dtype == np.uint8, name
        assert np.array_equal(first[:n_context], clip.video[:n_context]), name
        assert np.array_equal(first, CORRUPTIONS.get(name).fn(clip, 0.5)), name
        assert not np.array_equal(first, clip.video), f"{name} changed nothing"


@pytest.fixture(scope="module")
def slice_tables(tmp_path_factory):
    rows = collect(MetaEvalConfig(suite=SLICE, out=str(tmp_path_factory.mktemp("meta"))), progress=False)
    return tables(rows, ["trajectory", "permanence"])


@pytest.mark.slow
@pytest.mark.parametrize("corruption,metric", [("appear", "permanence"), ("vanish", "permanence"),
                                               ("teleport", "trajectory"), ("time_scale", "trajectory"),
                                               ("time_reverse", "trajectory"), ("freeze", "trajectory")])
def test_each_metric_separates_its_own_corruption(slice_tables, corruption, metric):
    metric_table, _ = slice_tables
    row = metric_table[(metric_table["corruption"] == corruption) & (metric_table["metric"] == metric)].iloc[0]
    assert row["own"] and row["auroc"] >= TARGETS["auroc"], row.to_dict()
    assert row["spearman"] >= TARGETS["spearman"], row.to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("tag", ["object_appeared", "object_vanished", "trajectory_diverged"])
def test_tags_fire_on_their_corruption_and_not_on_harmless_ones(slice_tables, tag):
    _, tag_table = slice_tables
    row = tag_table[tag_table["tag"] == tag].iloc[0]
    assert row["recall"] >= TARGETS["recall"], row.to_dict()
    assert row["fp clean"] <= TARGETS["fp_clean"], row.to_dict()
    for key, value in row.items():
        if key.startswith("fp ") and key != "fp clean":
            assert value <= TARGETS["fp_harmless"], (key, row.to_dict())
