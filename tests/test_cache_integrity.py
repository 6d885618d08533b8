"""The ground-truth cache rebuilds a damaged entry instead of trusting it, and no code path unpickles.

Damage is done to a real cached entry (flipped bytes, a truncated or deleted file, a pickle bomb with a
forged checksum); the clip the cache then returns, and the entry it writes back, must equal a fresh
simulation of the spec.
"""
from __future__ import annotations

import ast
import errno
import hashlib
import json
import logging
import os
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from simulators import Clip, GroundTruthCache, make_spec, simulate
from simulators.cache import STALE_STAGING_S

REPO = Path(__file__).parents[1]
SPEC = make_spec("collision", "eval", 0, n_frames=16, fps=8.0, resolution=(64, 64), n_context=4)
FLIPS = 3
"""Bytes flipped (XOR 0xFF) per damaged file, at seeded random offsets."""


@pytest.fixture(scope="module")
def fresh() -> Clip:
    return simulate(SPEC)


@pytest.fixture(scope="module")
def pristine(fresh, tmp_path_factory) -> Path:
    """A cache holding SPEC's entry as the cache writes it."""
    root = tmp_path_factory.mktemp("pristine")
    fresh.save(GroundTruthCache(root).path(SPEC))
    return root


@pytest.fixture
def cache(pristine, tmp_path) -> GroundTruthCache:
    """A private copy of the pristine cache, to damage."""
    shutil.copytree(pristine / "ground_truth", tmp_path / "ground_truth")
    return GroundTruthCache(tmp_path)


def assert_same_clip(clip: Clip, fresh: Clip) -> None:
    assert clip.spec == fresh.spec
    assert clip.content_hash() == fresh.content_hash()  # video, seg, depth, tracks, events
    assert (clip.objects, clip.prompt) == (fresh.objects, fresh.prompt)
    assert json.dumps(clip.camera, default=np.ndarray.tolist) == json.dumps(fresh.camera, default=np.ndarray.tolist)


def flip_bytes(path: Path, seed: int) -> None:
    data = bytearray(path.read_bytes())
    for offset in random.Random(seed).sample(range(len(data)), FLIPS):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "flip": lambda path: flip_bytes(path, seed=len(path.name)),
    "truncate": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "empty": lambda path: path.write_bytes(b""),
    "delete": lambda path: path.unlink(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("name", ["arrays.npz", "tracks.parquet", "meta.json"])
def test_a_damaged_entry_is_detected_and_rebuilt_to_the_fresh_simulation(cache, fresh, name, damage, caplog):
    folder = cache.path(SPEC)
    DAMAGE[damage](folder / name)
    with caplog.at_level(logging.WARNING, logger="simulators.cache"):
        clip = cache.get(SPEC)
    assert_same_clip(clip, fresh)
    if name != "meta.json" or damage != "delete":  # without meta.json there is no entry to distrust
        assert f"rebuilding ground truth: {folder}" in caplog.text
    assert_same_clip(Clip.load(folder), fresh)  # the entry on disk is whole again (Clip.load checks the hashes)


class PickleBomb:
    """Creates `marker` when unpickled: proof that a load ran code it was handed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def test_a_pickled_array_with_a_forged_checksum_is_never_unpickled_and_is_rebuilt(cache, fresh, tmp_path):
    folder, marker = cache.path(SPEC), tmp_path / "the_pickle_ran"
    bomb = np.empty(1, dtype=object)
    bomb[0] = PickleBomb(marker)
    np.savez(folder / "arrays.npz", video=bomb, seg=bomb)
    meta = json.loads((folder / "meta.json").read_text())
    meta["arrays_sha256"] = hashlib.sha256((folder / "arrays.npz").read_bytes()).hexdigest()  # passes the hash
    (folder / "meta.json").write_text(json.dumps(meta))

    assert_same_clip(cache.get(SPEC), fresh)
    assert not marker.exists()
    assert_same_clip(Clip.load(folder), fresh)


def test_an_edited_meta_json_that_stays_valid_json_is_rebuilt(cache, fresh):
    folder = cache.path(SPEC)
    meta = json.loads((folder / "meta.json").read_text())
    meta["prompt"] = meta["prompt"].replace("a", "o", 1)
    meta["objects"][0]["size"] *= 2
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    assert_same_clip(cache.get(SPEC), fresh)


def test_a_save_that_loses_a_race_to_another_process_keeps_the_run_going(fresh, tmp_path, monkeypatch, caplog):
    """Two processes simulate the same missing spec; the other one renames its entry into place between this
    one's check and its own rename, which then fails (ENOTEMPTY). The clip is still returned, the entry kept."""
    cache, rename = GroundTruthCache(tmp_path), os.replace
    folder = cache.path(SPEC)

    def rename_after_the_other_process(source, target):
        if Path(target) == folder and not folder.exists():
            monkeypatch.setattr(os, "replace", rename)
            fresh.save(folder)  # the other process wins
        return rename(source, target)

    monkeypatch.setattr(os, "replace", rename_after_the_other_process)
    with caplog.at_level(logging.WARNING, logger="simulators.cache"):
        clip = cache.get(SPEC)
    assert_same_clip(clip, fresh)
    assert "not cached" in caplog.text and os.strerror(errno.ENOTEMPTY) in caplog.text
    assert_same_clip(Clip.load(folder), fresh)
    assert [path.name for path in cache.root.iterdir()] == [SPEC.spec_hash]  # the loser's staging folder is gone


def test_staging_folders_of_killed_saves_are_removed_once_stale(tmp_path):
    root = tmp_path / "ground_truth"
    stale, live = root / f".{SPEC.spec_hash}.killed", root / f".{SPEC.spec_hash}.saving"
    for staging in (stale, live):
        staging.mkdir(parents=True)
        (staging / "arrays.npz").write_bytes(b"half")
    old = time.time() - STALE_STAGING_S - 60
    os.utime(stale, (old, old))
    assert GroundTruthCache(tmp_path).remove_stale_staging() == []  # the constructor already removed it
    assert not stale.exists() and live.exists()  # a save in progress elsewhere is left alone


UNPICKLING = re.compile(r"pickle\.load|pickle\.Unpickler|allow_pickle\s*=\s*True|torch\.load\(|read_pickle\(|"
                        r"joblib\.load\(")
"""Calls that unpickle (or may): pickle.load(s), numpy with allow_pickle=True, torch.load, pandas.read_pickle."""


def unpickling_calls(root: Path) -> list[str]:
    """`path:line: text` of every line of Python source under root (tests/ left out) that may unpickle."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "tests" or any(part.startswith(".") for part in relative.parts):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if UNPICKLING.search(line):
                hits.append(f"{relative}:{number}: {line.strip()}")
    return hits


def test_no_code_path_outside_the_tests_unpickles_or_calls_torch_load(tmp_path):
    assert unpickling_calls(REPO) == []
    planted = tmp_path / "generators" / "loader.py"  # the scan finds what it looks for
    planted.parent.mkdir()
    planted.write_text("state = torch.load(path)\narrays = np.load(path, allow_pickle = True)\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("pickle.loads(payload)\n")
    assert unpickling_calls(tmp_path) == ["generators/loader.py:1: state = torch.load(path)",
                                          "generators/loader.py:2: arrays = np.load(path, allow_pickle = True)"]


def from_pretrained_calls(root: Path) -> list[tuple[str, int, ast.Call]]:
    """(path, line, call) of every `X.from_pretrained(...)` call in the Python source under root (tests/ left out)."""
    calls = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] == "tests" or any(part.startswith(".") for part in relative.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(errors="replace"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "from_pretrained":
                calls.append((str(relative), node.lineno, node))
    return calls


def refuses_pickled_weights(call: ast.Call) -> bool:
    return any(keyword.arg == "use_safetensors" and isinstance(keyword.value, ast.Constant)
               and keyword.value.value is True for keyword in call.keywords)


def test_every_from_pretrained_call_refuses_pickled_weights():
    calls = from_pretrained_calls(REPO)
    assert calls, "no from_pretrained call found: update this test"
    assert [f"{path}:{line}" for path, line, call in calls if not refuses_pickled_weights(call)] == []
