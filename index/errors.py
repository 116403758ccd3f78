"""The project's error hierarchy. Every error a user can meet carries a message that
says what happened and what to do; the CLI and the TUI show `str(error)` as is."""

from __future__ import annotations


class NewsAssistantError(Exception):
    """Base class: a failure with a user-facing message."""

    title = "Error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n{hint}")


class ConfigError(NewsAssistantError):
    title = "Configuration error"


class CorpusError(NewsAssistantError):
    """The article folder is missing, empty or unusable."""

    title = "No articles"


class ArticleReadError(NewsAssistantError):
    """One file could not be read as an article; it is skipped, the rest index."""

    title = "Skipped file"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class StoreError(NewsAssistantError):
    """A store problem. Its remedy is named, not spelled out: the CLI says which
    command to run and the chat which key to press (see `remedy`)."""

    title = "Index problem"
    remedy: str | None = "rebuild"  # "build" | "rebuild" | None (nothing to do but wait)


class StoreMissingError(StoreError):
    """No index has been built for this corpus yet."""

    remedy = "build"


class StoreMismatchError(StoreError):
    """The store was made with other settings (model, chunker, format)."""


class StoreCorruptError(StoreError):
    """A store file is truncated or damaged."""


class StoreLockedError(StoreError):
    """Another process is rebuilding this store."""

    remedy = None


class EmbeddingError(NewsAssistantError):
    """The embedding stage failed (on Ray: after Ray's own retries); nothing was published."""

    title = "Embedding failed"


class WriteError(NewsAssistantError):
    """A place the program writes to cannot take the write: the disk is full, the place
    is not writable, or it is the wrong kind of thing (a file where a folder belongs).
    Whoever raises it has removed what it had half-written (see `index.writes`)."""

    title = "Cannot write"


class DiskFullError(WriteError):
    """No space (or quota) left where the program writes, or too little for a build."""

    title = "Disk full"
