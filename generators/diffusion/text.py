"""A small text encoder for prompts: hashed words, a learned embedding table, mean pooling.

Any prompt works: every lower-cased word (letters and digits) is hashed into one of n_buckets
rows, so words never seen in training still map somewhere and nothing can fail on a new word.
"""
from __future__ import annotations

import re
import zlib

import torch
from torch import nn

WORD = re.compile(r"[a-z0-9.]+")


def word_ids(prompt: str, n_buckets: int, max_words: int = 48) -> list[int]:
    return [zlib.crc32(word.encode()) % n_buckets + 1 for word in WORD.findall(prompt.lower())[:max_words]]


class PromptEncoder(nn.Module):
    """prompts (list of str) -> (B, width) mean of their words' embeddings (zeros for an empty prompt)."""

    def __init__(self, width: int, n_buckets: int = 1024) -> None:
        super().__init__()
        self.n_buckets = n_buckets
        self.embedding = nn.Embedding(n_buckets + 1, width, padding_idx=0)

    def forward(self, prompts: list[str]) -> torch.Tensor:
        ids = [word_ids(prompt, self.n_buckets) or [0] for prompt in prompts]
        length = max(len(row) for row in ids)
        table = torch.tensor([row + [0] * (length - len(row)) for row in ids], device=self.embedding.weight.device)
        counts = (table > 0).sum(dim=1, keepdim=True).clamp(min=1)
        return self.embedding(table).sum(dim=1) / counts
