"""The ground-truth Clip of one scenario run, and its pickle-free storage.

On disk a clip is a folder: arrays.npz (video, seg, depth), tracks.parquet and meta.json
(spec, objects, events, prompt, camera, the SHA-256 of arrays.npz and tracks.parquet, and one of
meta.json's own content), so corruption of any file is detected.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .spec import ScenarioSpec

CLIP_FORMAT = 1

TRACK_COLUMNS = [
    "t", "object", "object_id", "x", "y", "z", "qx", "qy", "qz", "qw", "u", "v", "seg_u", "seg_v",
    "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1", "visible_px", "silhouette_px", "visible_frac", "in_frame",
]
"""Columns of Clip.tracks, one row per (frame t, object).

x, y, z: position in metres (z up); qx..qw: orientation quaternion. u, v: projection of the
object's centre in pixels (u right, v down, pixel centres at integers), defined even when
hidden. seg_u, seg_v: centroid of the object's visible pixels (NaN when none). bbox_*: inclusive
pixel bounds of the visible pixels (-1 when none). visible_px: visible pixel count.
silhouette_px: area of the unoccluded silhouette inside the frame (pixels, from the projected
shape). visible_frac: visible_px / silhouette_px in [0, 1] (1 - occluded share; 0 out of frame).
in_frame: any part of the silhouette lies inside the image.
"""


class ClipCorruptError(RuntimeError):
    """A stored clip failed its checksum or could not be read."""


@dataclass(frozen=True)
class ObjectInfo:
    """An object of the scene: a single body, or one part (link) of a multi-part body.

    id is its value in Clip.seg; name is the body's name, or "body.part" for a part;
    body is the body it belongs to and link its pybullet link index (-1 for the base).
    size: bounding radius in metres. rigid: the body keeps its shape (parts never move apart).
    """

    id: int
    name: str
    role: str
    rgb: tuple[int, int, int]
    rigid: bool
    size: float
    shape: str
    tracked: bool
    body: str = ""
    link: int = -1


@dataclass
class Clip:
    """Ground truth of one scenario run.

    video: uint8 (T, H, W, 3) RGB. seg: int16 (T, H, W) object ids, -1 for floor and backdrop.
    depth: float16 (T, H, W) metres along the view axis, or None.
    """

    spec: ScenarioSpec
    video: np.ndarray
    seg: np.ndarray
    objects: list[ObjectInfo]
    tracks: pd.DataFrame
    prompt: str
    events: dict[str, Any] = field(default_factory=dict)
    camera: dict[str, Any] = field(default_factory=dict)
    depth: np.ndarray | None = None

    @property
    def clip_id(self) -> str:
        return self.spec.clip_id

    @property
    def tracked_objects(self) -> list[ObjectInfo]:
        return [obj for obj in self.objects if obj.tracked]

    def track_matrix(self, column: str) -> np.ndarray:
        """(T, K) array of one track column over the K tracked objects, in tracked_objects order.
        Read-only: computed once per column (every metric reads the same few columns), filled with numpy
        from one index of the tracks (a pandas pivot per column cost more than some metrics); the pivot
        is the fallback when the tracks do not hold every (frame, tracked object) exactly once. The cache
        belongs to this clip's tracks and objects: a copy given other tracks computes its own."""
        cache = self.__dict__.get("_track_matrices")
        if cache is None or cache[0] is not self.tracks or cache[1] is not self.objects:
            cache = (self.tracks, self.objects, self._track_cells(), {})
            self.__dict__["_track_matrices"] = cache
        cells, matrices = cache[2], cache[3]
        if column not in matrices:
            if cells is None:
                names = [obj.name for obj in self.tracked_objects]
                matrix = self.tracks.pivot(index="t", columns="object", values=column).reindex(columns=names).to_numpy()
            else:
                rows, frames, objects, shape = cells
                values = self.tracks[column].to_numpy()[rows]
                matrix = np.empty(shape, values.dtype)
                matrix[frames, objects] = values
            matrix.flags.writeable = False
            matrices[column] = matrix
        return matrices[column]

    def _track_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]] | None:
        """(rows of the tracks that are tracked objects, their frames, their object columns, (T, K)) when those
        rows fill the (T, K) grid exactly once and the frames are 0 .. T - 1 (then the grid is what a pivot
        gives); None otherwise."""
        index = {obj.name: k for k, obj in enumerate(self.tracked_objects)}
        all_frames = self.tracks["t"].to_numpy()
        if all_frames.size == 0 or not index:
            return None
        n_frames = int(all_frames.max()) + 1
        if all_frames.min() < 0 or np.unique(all_frames).size != n_frames:
            return None
        column = self.tracks["object"].map(index).to_numpy(dtype=float)
        rows = np.flatnonzero(~np.isnan(column))
        frames, objects = all_frames[rows].astype(np.intp), column[rows].astype(np.intp)
        shape = (n_frames, len(index))
        if rows.size != shape[0] * shape[1] or np.unique(frames * shape[1] + objects).size != rows.size:
            return None
        return rows, frames, objects, shape

    # ----------------------------------------------------------------------------- storage
    def save(self, folder: str | os.PathLike) -> Path:
        """Write the clip atomically to `folder` (a temporary sibling folder renamed into place)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            arrays = {"video": self.video, "seg": self.seg}
            if self.depth is not None:
                arrays["depth"] = self.depth
            np.savez_compressed(staging / "arrays.npz", **arrays)
            self.tracks.to_parquet(staging / "tracks.parquet", index=False)
            meta = {
                "format": CLIP_FORMAT,
                "spec": self.spec.to_dict(),
                "spec_hash": self.spec.spec_hash,
                "objects": [asdict(obj) for obj in self.objects],
                "prompt": self.prompt,
                "events": self.events,
                "camera": self.camera,
                "arrays_sha256": _sha256(staging / "arrays.npz"),
                "tracks_sha256": _sha256(staging / "tracks.parquet"),
            }
            meta["meta_sha256"] = _meta_sha256(meta)
            (staging / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default))
            for path in staging.iterdir():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Clip:
        """Read a clip saved by `save`; never unpickles. Raises ClipCorruptError on a bad checksum."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("format") != CLIP_FORMAT:
                raise ClipCorruptError(f"{folder}: clip format {meta.get('format')}, expected {CLIP_FORMAT}")
            if meta.get("meta_sha256") != _meta_sha256(meta):
                raise ClipCorruptError(f"{folder / 'meta.json'}: checksum mismatch; delete the folder to rebuild it")
            for name, key in (("arrays.npz", "arrays_sha256"), ("tracks.parquet", "tracks_sha256")):
                if _sha256(folder / name) != meta[key]:
                    raise ClipCorruptError(f"{folder / name}: checksum mismatch; delete the folder to rebuild it")
            with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
                video, seg = arrays["video"], arrays["seg"]
                depth = arrays["depth"] if "depth" in arrays.files else None
            tracks = pd.read_parquet(folder / "tracks.parquet")
        except ClipCorruptError:
            raise
        except (OSError, ValueError, KeyError) as error:
            raise ClipCorruptError(f"{folder}: unreadable clip ({error}); delete the folder to rebuild it") from error
        objects = [ObjectInfo(**{**obj, "rgb": tuple(obj["rgb"])}) for obj in meta["objects"]]
        return cls(
            spec=ScenarioSpec.from_dict(meta["spec"]), video=video, seg=seg, objects=objects, tracks=tracks,
            prompt=meta["prompt"], events=meta["events"], camera=meta["camera"], depth=depth,
        )

    def content_hash(self) -> str:
        """SHA-256 over every array and table of the clip (for determinism checks)."""
        digest = hashlib.sha256()
        for array in (self.video, self.seg, self.depth):
            if array is not None:
                digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(pd.util.hash_pandas_object(self.tracks, index=False).to_numpy().tobytes())
        digest.update(json.dumps(self.events, sort_keys=True, default=_json_default).encode())
        return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _meta_sha256(meta: dict[str, Any]) -> str:
    """SHA-256 of meta.json's content less its own checksum, in a canonical form that a JSON round trip keeps."""
    body = {key: value for key, value in meta.items() if key != "meta_sha256"}
    canonical = json.dumps(json.loads(json.dumps(body, default=_json_default)), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
