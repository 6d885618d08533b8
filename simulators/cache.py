"""Ground-truth cache: one folder per spec_hash; a corrupt entry is rebuilt, never trusted.

An entry is checked on every read (Clip.load: the SHA-256 of arrays.npz and tracks.parquet recorded in
meta.json, unpickled loading, and the stored spec equal to the one asked for); one that fails is
simulated again and replaced. Entries are written atomically (Clip.save), so processes may share the
cache: two that simulate the same spec at once write identical clips, and the one that loses the race
keeps its own copy in memory. A save that fails (the race, a full disk) costs the cache, never the run.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from .clip import Clip, ClipCorruptError
from .runner import simulate
from .spec import ScenarioSpec

log = logging.getLogger(__name__)

STALE_STAGING_S = 3600.0
"""Age (seconds since last change) after which a `.<spec_hash>.*` staging folder of Clip.save is taken for
the leftover of a killed process and removed; a live save finishes within seconds."""


def cache_dir(configured: str | os.PathLike = "") -> Path:
    """The cache folder: `configured` if given, else $PHYSCHECK_CACHE, else the platform's user cache folder."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("PHYSCHECK_CACHE"):
        return Path(os.environ["PHYSCHECK_CACHE"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("physcheck"))


class GroundTruthCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "ground_truth"
        self.remove_stale_staging()

    def path(self, spec: ScenarioSpec) -> Path:
        return self.root / spec.spec_hash

    def get(self, spec: ScenarioSpec) -> Clip:
        """The clip of `spec`: from disk if its entry is intact, else simulated and stored."""
        folder = self.path(spec)
        clip = None
        if (folder / "meta.json").exists():
            try:
                clip = Clip.load(folder)
            except ClipCorruptError as error:
                log.warning("rebuilding ground truth: %s", error)
        if clip is None or clip.spec != spec:
            clip = simulate(spec)
            try:
                clip.save(folder)
            except OSError as error:
                log.warning("ground truth %s not cached (%s); using the simulated clip", spec.clip_id, error)
        return clip

    def remove_stale_staging(self) -> list[Path]:
        """Delete staging folders of saves killed midway (older than STALE_STAGING_S). Returns them."""
        if not self.root.is_dir():
            return []
        cutoff = time.time() - STALE_STAGING_S
        stale = []
        for path in self.root.glob(".*"):
            try:
                if path.is_dir() and path.stat().st_mtime < cutoff:
                    stale.append(path)
            except FileNotFoundError:  # finished (renamed) or removed meanwhile
                continue
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
        return stale
