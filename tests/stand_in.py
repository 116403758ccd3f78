"""A stand-in embedder for fast tests of logic: a bag of hashed words, deterministic
and instant, meaning nothing beyond word overlap. Never the only test of a feature:
behaviour is tested with the real model (the `minilm` fixture). Child processes of
the tests find this module through PYTHONPATH (the tests folder is on it)."""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from index.embedder import Progress


class HashingEmbedder:
    """Bag of hashed words: deterministic, instant, meaningless beyond word overlap."""

    name = "hashing-test"
    max_input_tokens = 10_000

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls: list[int] = []  # how many texts each embed() call received

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            out[row, 0] += 0.0 if norm else 1.0
        if progress:
            progress(len(texts), len(texts))
        return out

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]
