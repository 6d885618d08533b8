"""Ground-truth cache: one folder per spec_hash; a corrupt entry is rebuilt, never trusted."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from .clip import Clip, ClipCorruptError
from .runner import simulate
from .spec import ScenarioSpec

log = logging.getLogger(__name__)


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

    def path(self, spec: ScenarioSpec) -> Path:
        return self.root / spec.spec_hash

    def get(self, spec: ScenarioSpec) -> Clip:
        """The clip of `spec`: from disk, or simulated and stored."""
        folder = self.path(spec)
        clip = None
        if (folder / "meta.json").exists():
            try:
                clip = Clip.load(folder)
            except ClipCorruptError as error:
                log.warning("rebuilding ground truth: %s", error)
        if clip is None or clip.spec != spec:
            clip = simulate(spec)
            clip.save(folder)
        return clip
