"""Values both store backends and their callers share: where an index lives and which
articles a query may use."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from index.errors import ConfigError


@dataclass(frozen=True)
class Where:
    """Which articles a query may use, as conditions (days are proleptic ordinals)."""

    as_of_day: int | None = None  # articles dated after it are out; undated ones stay
    day_from: int | None = None  # a date bound wants dated articles
    day_to: int | None = None
    sources: tuple[str, ...] = ()  # lower-case outlet names
    path_glob: str | None = None


def path_matches(path: str, glob: str) -> bool:
    """The file filter: the pattern against the relative path or the file name."""
    return fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(path.rsplit("/", 1)[-1], glob)


@dataclass(frozen=True)
class StoreLocation:
    """Where an index lives. `root` is always a local folder (the build lock; for the
    embedded backend, the index itself); `milvus_uri` is a Milvus Lite file (a path
    ending in .db) or a server address (http://host:19530)."""

    root: Path
    backend: str = "embedded"
    milvus_uri: str | None = None
    collection: str = "news_assistant"

    def uri(self) -> str:
        uri = self.milvus_uri or str(self.root / "milvus.db")
        if "://" not in uri:
            if not uri.endswith(".db"):
                raise ConfigError(f"milvus_uri {uri!r} is neither a server address nor a Milvus Lite file",
                                  hint="Use http://host:19530 for a server, or a path ending in .db for Milvus Lite.")
            uri = str(Path(uri).expanduser().resolve())
        return uri
