"""`physcheck export`: write every request of a suite so an outside team can generate with any model.

Layout of OUT:
  manifest.json                         suite, version, conditioning mode, timing, and one entry per clip
  <family>/<split>/<seed>/request.json  clip_id, conditioning, prompt, fps, n_frames, n_context (frames
                                        given), scored_from, resolution, seed
  <family>/<split>/<seed>/context.mp4   the given context frames (H.264; none in t2v)
  <family>/<split>/<seed>/context_00.png ... one PNG per given frame
`conditioning=` picks what is given (generators.base.CONDITIONING): v2v the suite's n_context frames, i2v
the first frame, t2v none (the prompt only). The team hands back a folder with <family>/<split>/<seed>.mp4
(see the folder generator); a copy of manifest.json in it records the mode for `generator=folder`.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
from tqdm import tqdm

from generators import GenerationRequest, write_mp4
from generators.base import conditioning_mode
from simulators import SUITE_VERSION, GroundTruthCache, cache_dir

from .config import ExportConfig
from .results import write_atomic
from .run import ConfigError, specs_from_suite

INSTRUCTIONS = {
    "v2v": "starting from the context frames and following the prompt",
    "i2v": "starting from the first frame (context_00.png) and following the prompt",
    "t2v": "from the prompt alone (no frames are given)",
}
"""How each mode's requests are to be answered, for the manifest's instructions."""


def export(cfg: ExportConfig, progress: bool = True) -> Path:
    conditioning = str(cfg.conditioning)
    try:
        conditioning_mode(conditioning)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    specs = specs_from_suite(cfg.suite)
    out = Path(cfg.out)
    cache = GroundTruthCache(cache_dir(cfg.cache_dir))
    entries = []
    for spec in tqdm(specs, desc="export", unit="clip", disable=not progress):
        request = GenerationRequest.from_clip(cache.get(spec), conditioning=conditioning)
        folder = out / request.clip_id
        folder.mkdir(parents=True, exist_ok=True)
        entry = {
            "clip_id": request.clip_id, "conditioning": conditioning, "prompt": request.prompt, "fps": request.fps,
            "n_frames": request.n_frames, "n_context": request.n_context, "scored_from": spec.n_context,
            "resolution": list(request.resolution), "seed": request.seed,
            "context_mp4": f"{request.clip_id}/context.mp4" if request.n_context else None,
            "context_png": [f"{request.clip_id}/context_{i:02d}.png" for i in range(request.n_context)],
            "answer": f"{request.clip_id}.mp4",
        }
        write_atomic(folder / "request.json", json.dumps(entry, indent=1).encode())
        if request.n_context:
            write_mp4(folder / "context.mp4", request.context, request.fps)
        for index, frame in enumerate(request.context):
            ok, png = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            write_atomic(folder / f"context_{index:02d}.png", png.tobytes())
        entries.append(entry)
    given = "the n_context given frames" if conditioning == "v2v" else "the given first frame"
    length = ("all n_frames frames" if conditioning == "t2v" else
              f"either all n_frames frames ({given} first) or only the n_frames - n_context new ones")
    manifest = {
        "suite": cfg.suite.name, "suite_version": SUITE_VERSION, "conditioning": conditioning,
        "clip_count": len(entries),
        "instructions": f"Conditioning {conditioning}: for each clip, generate n_frames frames at the given fps and "
                        f"resolution, {INSTRUCTIONS[conditioning]}; save as <answer> (mp4 H.264, or .npz/.npy uint8 "
                        f"(T, H, W, 3)) in one folder, with {length}. Frames from scored_from on are scored. "
                        "Copy this manifest.json into that folder (it records the conditioning mode), then: "
                        f"physcheck run generator=folder generator.path=FOLDER suite={cfg.suite.name} "
                        f"conditioning={conditioning}",
        "clips": entries,
    }
    write_atomic(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    print(f"Wrote {len(entries)} {conditioning} requests to {out}")
    return out
