"""Two runs of one configuration give byte-identical tables, whatever the worker count.

Each pair of runs differs in run_id, start time and workers (1: in the main process; 2: a spawn pool, the
suite cut into two batches of 4), so any timestamp, run id, path or process-dependent number that reached
scores.parquet or failures.parquet would show as differing bytes.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).parents[1]
SMOKE = ["suite=smoke", "batch_size=4"]
"""The smoke suite (8 clips, default metrics) in two batches, so that workers=2 runs two processes."""
TABLES = ("scores.parquet", "failures.parquet")


def run(workdir: Path, run_id: str, *overrides: str) -> Path:
    result = subprocess.run([sys.executable, "-m", "bench", "run", *SMOKE, *overrides, f"run_id={run_id}"],
                            cwd=workdir, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir / "runs" / run_id


def assert_byte_identical(one: Path, other: Path) -> None:
    for name in TABLES:
        if (one / name).read_bytes() != (other / name).read_bytes():
            pd.testing.assert_frame_equal(pd.read_parquet(one / name), pd.read_parquet(other / name))
            raise AssertionError(f"{name}: equal tables but different bytes (file metadata differs: "
                                 f"{pq.read_metadata(one / name).metadata} vs {pq.read_metadata(other / name).metadata})")


@pytest.mark.parametrize("generator", [
    "static",
    pytest.param("diffusion", marks=pytest.mark.slow),  # the bundled model on CPU: ~20 s a run
])
def test_two_runs_of_one_config_give_byte_identical_tables_for_1_and_2_workers(tmp_path, generator):
    one = run(tmp_path, f"{generator}-1-worker", f"generator={generator}", "workers=1")
    two = run(tmp_path, f"{generator}-2-workers", f"generator={generator}", "workers=2")
    assert_byte_identical(one, two)
    scores = pd.read_parquet(one / "scores.parquet")
    assert len(scores) > 0 and scores["clip_id"].nunique() == 8
    assert scores["value"].notna().any() and (scores["status"] == "ok").all()  # real scores, not 8 failed clips
    metadata = pq.read_metadata(one / "scores.parquet").metadata  # what the file holds besides the table
    assert set(metadata) == {b"pandas", b"ARROW:schema"}  # column types and versions: no time, run id or path
