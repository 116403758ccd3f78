"""Choosing the encoder: the `embedder` setting's values and the one place that turns
a value into an embedder (fp32 on PyTorch in `embedder.py`, int8 on ONNX Runtime in
`onnx_encoder.py`, which builds on the former)."""

from __future__ import annotations

from index.embedder import Embedder, MiniLMEmbedder
from index.errors import ConfigError

EMBEDDER_CHOICES = ("minilm-int8", "minilm-fp32")


def make_embedder(choice: str) -> Embedder:
    """The embedder for the `embedder` setting; nothing is loaded until first used."""
    if choice == "minilm-fp32":
        return MiniLMEmbedder()
    if choice == "minilm-int8":
        from index.onnx_encoder import OnnxMiniLMEmbedder

        return OnnxMiniLMEmbedder()
    raise ConfigError(f"unknown embedder {choice!r}", hint=f"Choose one of {', '.join(EMBEDDER_CHOICES)}.")
