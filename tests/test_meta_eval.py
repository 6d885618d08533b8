"""The meta-evaluation on a small slice, with the targets of the metrics issue as assertions."""
import numpy as np
import pytest

from bench.config import SuiteConfig
from bench.meta_eval import TARGETS, MetaEvalConfig, auroc, collect, tables
from generators.corruptions import CORRUPTIONS
from simulators import make_spec, simulate

SLICE = SuiteConfig(name="slice", families=["free_fall", "projectile", "collision", "chair"], n_seeds=2)
PEOPLE_AND_OCCLUDERS = SuiteConfig(name="slice2", families=["occlusion", "head_turn"], n_seeds=2)
"""The scenes the re-emergence and joint-limit corruptions need."""
SLICE_METRICS = ["trajectory", "permanence", "count", "reemergence", "rigidity", "direction", "time_direction",
                 "joint_limits", "gravity", "rigidity_free"]


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
    config = MetaEvalConfig(suite=SLICE, metrics=SLICE_METRICS, out=str(tmp_path_factory.mktemp("meta")))
    return tables(collect(config, progress=False), SLICE_METRICS)


@pytest.fixture(scope="module")
def people_tables(tmp_path_factory):
    config = MetaEvalConfig(suite=PEOPLE_AND_OCCLUDERS, metrics=SLICE_METRICS, out=str(tmp_path_factory.mktemp("meta2")),
                            corruptions=["no_reemergence", "misplaced_reemergence", "head_over_rotation", "blur",
                                         "noise", "h264", "colour_shift", "duplicate_frame"])
    return tables(collect(config, progress=False), SLICE_METRICS)


@pytest.mark.slow
@pytest.mark.parametrize("corruption,metric", [
    ("appear", "permanence"), ("vanish", "permanence"), ("teleport", "trajectory"), ("time_scale", "trajectory"),
    ("time_reverse", "trajectory"), ("freeze", "trajectory"), ("region_reverse", "direction"),
    ("time_reverse", "time_direction"), ("bend", "rigidity"), ("stretch", "rigidity_free")])
def test_each_metric_separates_its_own_corruption(slice_tables, corruption, metric):
    metric_table, _ = slice_tables
    row = metric_table[(metric_table["corruption"] == corruption) & (metric_table["metric"] == metric)].iloc[0]
    assert row["own"] and row["auroc"] >= TARGETS["auroc"], row.to_dict()
    assert row["spearman"] >= TARGETS["spearman"], row.to_dict()


@pytest.mark.slow
def test_a_head_turned_past_its_limit_is_caught(people_tables):
    metric_table, tag_table = people_tables
    row = metric_table[(metric_table["corruption"] == "head_over_rotation") & (metric_table["metric"] == "joint_limits")]
    assert row.iloc[0]["auroc"] >= TARGETS["auroc"] and row.iloc[0]["spearman"] >= TARGETS["spearman"], row.to_dict()
    tag = tag_table[tag_table["tag"] == "impossible_rotation"].iloc[0]
    assert tag["recall"] >= TARGETS["recall"] and tag["fp clean"] == 0, tag.to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("corruption,metric,tables_name", [
    ("gravity_scale", "gravity", "slice_tables"), ("no_reemergence", "reemergence", "people_tables"),
    ("misplaced_reemergence", "reemergence", "people_tables")])
def test_metrics_that_miss_the_severity_target_still_separate_their_corruption(request, corruption, metric,
                                                                               tables_name):
    """Known misses (docs/meta_eval.md): scores that jump rather than fall with severity (Spearman < 0.9)."""
    metric_table, _ = request.getfixturevalue(tables_name)
    row = metric_table[(metric_table["corruption"] == corruption) & (metric_table["metric"] == metric)].iloc[0]
    assert row["own"] and row["auroc"] >= TARGETS["auroc"], row.to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("tag,tables_name", [
    ("object_appeared", "slice_tables"), ("object_vanished", "slice_tables"), ("trajectory_diverged", "slice_tables"),
    ("count_changed", "slice_tables"), ("time_reversed", "slice_tables"), ("reemergence_missed", "people_tables"),
    ("reemergence_misplaced", "people_tables")])
def test_tags_fire_on_their_corruption_and_not_on_harmless_ones(request, tag, tables_name):
    _, tag_table = request.getfixturevalue(tables_name)
    row = tag_table[tag_table["tag"] == tag].iloc[0]
    assert row["recall"] >= TARGETS["recall"], row.to_dict()
    assert row["fp clean"] <= TARGETS["fp_clean"], row.to_dict()
    for key, value in row.items():
        if key.startswith("fp ") and key != "fp clean":
            assert value <= TARGETS["fp_harmless"], (key, row.to_dict())


REFERENCE_FREE_SLICE = SuiteConfig(name="slice_free", families=["free_fall", "projectile", "occlusion", "treadmill"],
                                   n_seeds=2)
"""Scenes where each reference-free metric that meets its targets on core applies (docs/meta_eval.md)."""
REFERENCE_FREE_CORRUPTIONS = ["gravity_scale", "appear", "region_reverse", "blur", "noise", "h264", "colour_shift",
                              "duplicate_frame"]


@pytest.fixture(scope="module")
def reference_free_tables(tmp_path_factory):
    metrics = ["gravity_free", "permanence_free", "direction_free"]
    config = MetaEvalConfig(suite=REFERENCE_FREE_SLICE, metrics=metrics, corruptions=REFERENCE_FREE_CORRUPTIONS,
                            out=str(tmp_path_factory.mktemp("meta_free")))
    return tables(collect(config, progress=False), metrics)


@pytest.mark.slow
@pytest.mark.parametrize("corruption,metric,tag", [
    ("gravity_scale", "gravity_free", "wrong_gravity"), ("appear", "permanence_free", "object_appeared"),
    ("region_reverse", "direction_free", "reversed_motion")])
def test_reference_free_metrics_catch_their_corruption_and_stay_quiet(reference_free_tables, corruption, metric, tag):
    """The reference-free rows that meet the targets on core. Known misses (docs/meta_eval.md, "Reference-free
    metrics"): rigidity_free on bend and shape_changed's recall, time_direction_free; rigidity_free on stretch is
    asserted with the slice above (it needs the chair)."""
    metric_table, tag_table = reference_free_tables
    row = metric_table[(metric_table["corruption"] == corruption) & (metric_table["metric"] == metric)].iloc[0]
    assert row["own"] and row["auroc"] >= TARGETS["auroc"], row.to_dict()
    assert row["spearman"] >= TARGETS["spearman"], row.to_dict()
    if tag is None:
        return
    tags = tag_table[tag_table["tag"] == tag].iloc[0]
    assert tags["recall"] >= TARGETS["recall"] and tags["fp clean"] <= TARGETS["fp_clean"], tags.to_dict()
    for key, value in tags.items():
        if key.startswith("fp ") and key != "fp clean":
            assert value <= TARGETS["fp_harmless"], (key, tags.to_dict())


def test_reference_free_table_scores_only_the_clips_a_metric_applies_to():
    """scripts/reference_free_table.py (docs/meta_eval.md's reference-free table): a clip whose clean value is NaN
    (the metric abstains) dilutes neither AUROC nor recall."""
    import importlib.util
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[1] / "scripts" / "reference_free_table.py"
    spec = importlib.util.spec_from_file_location("reference_free_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = pd.DataFrame([
        {"clip_id": "a", "family": "free_fall", "corruption": "clean", "severity": 0.0, "gravity_free": 1.0, "tags": []},
        {"clip_id": "a", "family": "free_fall", "corruption": "gravity_scale", "severity": 0.5, "gravity_free": 0.6,
         "tags": ["wrong_gravity"]},
        {"clip_id": "b", "family": "chair", "corruption": "clean", "severity": 0.0, "gravity_free": np.nan, "tags": []},
        {"clip_id": "b", "family": "chair", "corruption": "gravity_scale", "severity": 0.5, "gravity_free": np.nan,
         "tags": []},
    ])
    row = module.applicable_table(rows).iloc[0]
    assert (row["metric"], row["clips"], row["AUROC"], row["recall"]) == ("gravity_free", 1, 1.0, 1.0)
    assert row["applies to (families)"] == "free_fall"
