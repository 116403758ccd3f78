"""The Python API: everything the CLI and the TUI do goes through `NewsAssistant`.

    from assistant.api import NewsAssistant
    na = NewsAssistant.from_settings(corpus="articles/")
    na.build_index()
    answer = na.ask("What did NATO say?")
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from index.builder import BuildProgress, BuildReport, build_index, spec_for
from index.chunker import ChunkerSettings
from index.config import Settings, load_settings
from index.embedder import Embedder, MiniLMEmbedder
from index.store import Store


class NewsAssistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder: Embedder = embedder or MiniLMEmbedder()
        self._store: Store | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, embedder: Embedder | None = None, **overrides: Any) -> "NewsAssistant":
        return cls(load_settings(overrides), embedder)

    @property
    def corpus(self) -> Path:
        return self.settings.corpus_dir()

    @property
    def store_dir(self) -> Path:
        return self.settings.store_dir()

    @property
    def chunker(self) -> ChunkerSettings:
        return ChunkerSettings(max_tokens=self.settings.chunk_tokens)

    def build_index(self, rebuild: bool = False, progress: BuildProgress | None = None) -> BuildReport:
        report = build_index(
            self.corpus, self.store_dir, self.embedder, self.chunker,
            rebuild=rebuild, max_bytes=self.settings.max_bytes, progress=progress,
        )
        return report

    def store(self) -> Store:
        """The live generation, reopened when a build has published a newer one."""
        with self._lock:
            if self._store is None or not self._store.is_current():
                fresh = Store.open(self.store_dir, spec_for(self.embedder, self.chunker))
                old, self._store = self._store, fresh
                if old is not None:
                    old.close()
                self._on_new_store(fresh)
            return self._store

    def _on_new_store(self, store: Store) -> None:
        """Hook for caches that depend on the generation (the retriever's)."""

    def status(self) -> dict[str, Any]:
        return self.store().describe()
