"""The store interface the read side uses, and the one place that picks a backend.

Two backends implement `StoreBackend`: the embedded store (`index.store.Store`: FAISS,
SQLite and BM25 files in one folder, the default) and the Milvus store
(`index.milvus_store.MilvusStore`, the optional `milvus` extra). The retriever, the
checker, the API and the chat use only what is declared here; nothing outside the
backends knows which one is in use.

Eligibility (the as-of date and the filters) reaches a backend in two forms: a boolean
mask over chunk rows, which the embedded store applies inside its search, and the same
conditions as a `Where`, which the Milvus store turns into a filter expression so the
engine applies them itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Protocol, Sequence

import numpy as np

from index.ann import AnnSettings, DenseResult
from index.backend_types import StoreLocation, Where, path_matches
from index.errors import ConfigError
from index.injection import Flag
from index.generation import Manifest, StoreSpec
from index.store import ArticleRecord, ArticleTable, ChunkRecord, Store

if TYPE_CHECKING:
    from index.builder import BuildProgress, BuildReport
    from index.chunker import ChunkerSettings
    from index.embedder import Embedder

BACKENDS = ("embedded", "milvus")
__all__ = ["StoreBackend", "KeywordSide", "StoreLocation", "Where", "path_matches", "open_store", "open_generation",
           "live_generation_number", "build", "BACKENDS"]


class KeywordSide(Protocol):
    def scores(self, query: str, where: Where | None = None) -> np.ndarray:
        """BM25 score per chunk row (zeros where not scored); an empty array when the
        store is empty."""
        ...

    def idf(self, tokens: Sequence[str]) -> dict[str, float]: ...


class StoreBackend(Protocol):
    """One read-only generation of an index."""

    manifest: Manifest
    chunk_ids: np.ndarray  # ascending; a chunk's "row" is its position here
    root: Path  # the index folder (for Milvus, where its build lock is)

    def is_current(self) -> bool: ...
    def check(self) -> None:
        """Fail now, with a clear message, if the generation is damaged or unreachable."""
        ...
    def dense_search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None,
                     settings: AnnSettings = AnnSettings(), where: Where | None = None) -> DenseResult: ...
    def dense_scores_at(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray: ...
    def keyword(self) -> KeywordSide: ...
    def row_of(self, chunk_id: int) -> int: ...
    def article_table(self) -> ArticleTable: ...
    def leads(self, chars: int, article_ids: Iterable[str] | None = None, every: int = 1) -> list[tuple[str, str, str]]: ...
    def chunks(self, ids: Iterable[int] | None = None) -> list[ChunkRecord]: ...
    def chunks_of(self, article_id: str) -> list[ChunkRecord]: ...
    def article(self, article_id: str) -> ArticleRecord | None: ...
    def articles(self) -> list[ArticleRecord]: ...
    def article_text(self, article_id: str) -> str: ...
    def flags(self, article_ids: Iterable[str] | None = None) -> dict[str, list[Flag]]:
        """Text addressed to AI systems, per article (all, or those named)."""
        ...
    def describe(self) -> dict: ...
    def close(self) -> None: ...


def _milvus():
    try:
        from index import milvus_store
    except ImportError as e:
        raise ConfigError(f"the Milvus backend needs the milvus extra ({e.name} is not installed)",
                          hint="Install it with: pip install 'news-assistant[milvus]', or set backend = \"embedded\".") from None
    return milvus_store


def open_store(location: StoreLocation, spec: StoreSpec | None = None) -> StoreBackend:
    if location.backend == "milvus":
        return _milvus().MilvusStore.open(location, spec)
    return Store.open(location.root, spec)


def open_generation(location: StoreLocation, generation: int) -> StoreBackend | None:
    if location.backend == "milvus":
        return _milvus().MilvusStore.open_generation(location, generation)
    return Store.open_generation(location.root, generation)


def live_generation_number(location: StoreLocation) -> int | None:
    """The generation readers use now (None: no index yet), without opening it."""
    if location.backend == "milvus":
        return _milvus().live_generation_number(location)
    from index.builder import live_generation

    gen = live_generation(location.root)
    return int(gen.name.removeprefix("gen-")) if gen is not None else None


def build(corpus: Path, location: StoreLocation, embedder: "Embedder", chunker: "ChunkerSettings", *,
          rebuild: bool = False, max_bytes: int, progress: "BuildProgress | None" = None,
          ray_address: str | None = None) -> "BuildReport":
    if location.backend == "milvus":
        from index.milvus_build import build_milvus_index

        _milvus()
        return build_milvus_index(corpus, location, embedder, chunker, rebuild=rebuild, max_bytes=max_bytes,
                                  progress=progress, ray_address=ray_address)
    from index.builder import build_index

    return build_index(corpus, location.root, embedder, chunker, rebuild=rebuild, max_bytes=max_bytes,
                       progress=progress, ray_address=ray_address)
