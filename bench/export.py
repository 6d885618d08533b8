"""`physcheck export`: write every request of a suite so an outside team can generate with any model.

Layout of OUT:
  manifest.json                         suite, version, timing, and one entry per clip
  <family>/<split>/<seed>/request.json  clip_id, prompt, fps, n_frames, n_context, resolution, seed
  <family>/<split>/<seed>/context.mp4   the context frames (H.264)
  <family>/<split>/<seed>/context_00.png ... one PNG per context frame
The team hands back a folder with <family>/<split>/<seed>.mp4 (see the folder generator).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
from tqdm import tqdm

from generators import GenerationRequest, write_mp4
from simulators import SUITE_VERSION, GroundTruthCache, cache_dir

from .config import ExportConfig
from .results import write_atomic
from .run import specs_from_suite


def export(cfg: ExportConfig, progress: bool = True) -> Path:
    specs = specs_from_suite(cfg.suite)
    out = Path(cfg.out)
    cache = GroundTruthCache(cache_dir(cfg.cache_dir))
    entries = []
    for spec in tqdm(specs, desc="export", unit="clip", disable=not progress):
        request = GenerationRequest.from_clip(cache.get(spec))
        folder = out / request.clip_id
        folder.mkdir(parents=True, exist_ok=True)
        entry = {
            "clip_id": request.clip_id, "prompt": request.prompt, "fps": request.fps, "n_frames": request.n_frames,
            "n_context": request.n_context, "resolution": list(request.resolution), "seed": request.seed,
            "context_mp4": f"{request.clip_id}/context.mp4",
            "context_png": [f"{request.clip_id}/context_{i:02d}.png" for i in range(request.n_context)],
            "answer": f"{request.clip_id}.mp4",
        }
        write_atomic(folder / "request.json", json.dumps(entry, indent=1).encode())
        write_mp4(folder / "context.mp4", request.context, request.fps)
        for index, frame in enumerate(request.context):
            ok, png = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            write_atomic(folder / f"context_{index:02d}.png", png.tobytes())
        entries.append(entry)
    manifest = {
        "suite": cfg.suite.name, "suite_version": SUITE_VERSION, "clip_count": len(entries),
        "instructions": "For each clip, generate n_frames frames at the given fps and resolution, starting from the "
                        "context frames and following the prompt; save as <answer> (mp4 H.264, or .npz/.npy uint8 "
                        "(T, H, W, 3)) in one folder, with either all n_frames frames or only the "
                        "n_frames - n_context new ones. Then: physcheck run generator=folder generator.path=FOLDER "
                        f"suite={cfg.suite.name}",
        "clips": entries,
    }
    write_atomic(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    print(f"Wrote {len(entries)} requests to {out}")
    return out
