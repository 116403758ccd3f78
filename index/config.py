"""Settings of the write side (where articles are, where the index goes, how it is
chunked), and the layered loading every settings object uses: command-line flags >
environment (NEWS_ASSISTANT_*) > config file (TOML) > defaults. The read side extends
`IndexSettings` in `assistant.config`; one file and one environment serve both."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index import locations
from index.backend_types import StoreLocation
from index.errors import ConfigError

ENV_PREFIX = "NEWS_ASSISTANT_"


class IndexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corpus: Path | None = Field(None, description="Folder of article files. Default: <data dir>/articles.")
    store: Path | None = Field(None, description="Index folder. Default: <data dir>/stores/<corpus name>-<hash>.")
    max_file_mb: float = Field(5.0, gt=0, description="Files larger than this are skipped with a warning.")
    chunk_tokens: int = Field(160, ge=32, le=230, description="Chunk size in cl100k tokens.")
    embedder: Literal["minilm-int8", "minilm-fp32"] = Field(
        "minilm-int8", description="Encoder for chunks and queries: all-MiniLM-L6-v2 quantised to int8 "
        "(ONNX Runtime, made once from the packaged weights) or the original fp32 (PyTorch). An index "
        "records which one built it.")

    backend: Literal["embedded", "milvus"] = Field(
        "embedded", description="Where the index lives: files in the index folder (embedded), or Milvus "
        "(the milvus extra; see milvus_uri).")
    milvus_uri: str | None = Field(
        None, description="Milvus to use with backend = milvus: a path ending in .db is a Milvus Lite file, "
        "http://host:19530 a server or cluster (token from $MILVUS_TOKEN, or $MILVUS_USER and $MILVUS_PASSWORD). "
        "Default: milvus.db in the index folder.")
    milvus_collection: str = Field(
        "news_assistant", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,150}$",
        description="Name of the index in Milvus (an alias; its generations are collections named after it).")

    def location(self) -> StoreLocation:
        return StoreLocation(self.store_dir(), self.backend, self.milvus_uri, self.milvus_collection)

    def corpus_dir(self) -> Path:
        return (self.corpus or locations.data_dir() / "articles").expanduser()

    def store_dir(self) -> Path:
        return self.store.expanduser() if self.store else locations.default_store_for(self.corpus_dir())

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (tomllib.TOMLDecodeError, OSError) as e:
        raise ConfigError(f"cannot read the config file {path}: {e}", hint="Fix or remove it.") from None
    return data.get("news-assistant", data)


S = TypeVar("S", bound=IndexSettings)


def _from_env(cls: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name in cls.model_fields:
        value = os.environ.get(ENV_PREFIX + name.upper())
        if value is not None and value != "":
            out[name] = value
    return out


def load_layered(cls: type[S], overrides: dict[str, Any] | None = None) -> S:
    """`cls` from every layer; `overrides` (CLI flags) win, None values are ignored."""
    merged: dict[str, Any] = {}
    merged.update(_from_file(locations.config_file()))
    merged.update(_from_env(cls))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return cls(**merged)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid settings ({problems})", hint=f"Check flags, {ENV_PREFIX}* variables and {locations.config_file()}.") from None
