"""Reference generators: the ground truth (ceiling) and the trivial floors."""
from __future__ import annotations

import numpy as np

from .base import CONDITIONING_MODES, GENERATORS, GenerationRequest, Generator, Video


@GENERATORS.register("oracle")
class Oracle(Generator):
    """Returns the ground-truth video itself: every metric's ceiling (in any mode: it reads the truth)."""

    needs_ground_truth = True
    supported_conditioning = CONDITIONING_MODES

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        return [Video(self.ground_truth(request.clip_id).video.copy(), request.fps) for request in requests]


@GENERATORS.register("static")
class Static(Generator):
    """Repeats the last given frame: nothing moves. Needs a frame to repeat, so not t2v."""

    supported_conditioning = ("v2v", "i2v")

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        videos = []
        for request in requests:
            tail = np.repeat(request.context[-1:], request.n_frames - request.n_context, axis=0)
            videos.append(Video(np.concatenate([request.context, tail]), request.fps))
        return videos


@GENERATORS.register("reverse")
class Reverse(Generator):
    """The given frames, then the rest of the true clip played backwards (the arrow of time broken).

    In every mode: v2v keeps the n_context true frames and reverses frames n_context..; i2v keeps the
    first frame and reverses frames 1..; t2v plays the whole clip backwards."""

    needs_ground_truth = True
    supported_conditioning = CONDITIONING_MODES

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        videos = []
        for request in requests:
            truth = self.ground_truth(request.clip_id).video
            continuation = truth[request.n_context:][::-1]
            videos.append(Video(np.concatenate([request.context, continuation]), request.fps))
        return videos


@GENERATORS.register("corrupt")
class Corrupt(Generator):
    """The ground truth with one labelled corruption applied (generators/corruptions.py), in any mode."""

    needs_ground_truth = True
    supported_conditioning = CONDITIONING_MODES

    def __init__(self, corruption: str, severity: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        from .corruptions import CORRUPTIONS

        self.corruption = CORRUPTIONS.get(corruption)
        if not 0.0 < severity <= 1.0:
            raise ValueError(f"generator.severity must be in (0, 1], got {severity}")
        self.severity = float(severity)

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        return [Video(self.corruption.fn(self.ground_truth(request.clip_id), self.severity), request.fps)
                for request in requests]
