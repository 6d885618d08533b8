"""The physical-variance reference: the same scenario re-simulated from a nudged initial state.

Physics-IQ defines 100% by two real takes of one scene; here the second take is the clip's spec
with every physical parameter moved by 1e-3 of its range (simulators.variance.physical_variance_spec:
deterministic, choices such as counts and sides never flip). Scoring this generator gives each
metric's ceiling: how far two physically valid runs of the same scene already differ.
"""
from __future__ import annotations

import numpy as np

from simulators.variance import physical_variance_video

from .base import CONDITIONING_MODES, GENERATORS, GenerationRequest, Generator, Video


@GENERATORS.register("physical_variance")
class PhysicalVariance(Generator):
    """The given frames, then the rest of a re-simulation with a perturbed initial state (any mode; in t2v
    the whole clip is the re-simulation's)."""

    needs_ground_truth = True
    supported_conditioning = CONDITIONING_MODES

    def generate(self, requests: list[GenerationRequest]) -> list[Video]:
        videos = []
        for request in requests:
            take = physical_variance_video(self.ground_truth(request.clip_id).spec)
            videos.append(Video(np.concatenate([request.context, take[request.n_context:]]), request.fps))
        return videos
