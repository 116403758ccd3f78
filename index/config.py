"""One typed settings object, layered: command-line flags > environment
(NEWS_ASSISTANT_*) > config file (TOML) > defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from index import locations
from index.errors import ConfigError

ENV_PREFIX = "NEWS_ASSISTANT_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corpus: Path | None = Field(None, description="Folder of article files. Default: <data dir>/articles.")
    store: Path | None = Field(None, description="Index folder. Default: <data dir>/stores/<corpus name>-<hash>.")
    engine: Literal["extractive", "llama-cpp", "openai"] = Field("extractive", description="Answer engine.")
    llama_model_path: Path | None = Field(None, description="GGUF model file for the llama-cpp engine.")
    openai_base_url: str = Field("http://127.0.0.1:11434/v1", description="OpenAI-compatible server URL.")
    openai_model: str = Field("llama3.2", description="Model name the server knows.")
    openai_api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    timeout_seconds: float = Field(60.0, gt=0, description="Model call timeout.")
    max_file_mb: float = Field(5.0, gt=0, description="Files larger than this are skipped with a warning.")
    chunk_tokens: int = Field(160, ge=32, le=230, description="Chunk size in cl100k tokens.")
    embedder: Literal["minilm-int8", "minilm-fp32"] = Field(
        "minilm-int8", description="Encoder for chunks and queries: all-MiniLM-L6-v2 quantised to int8 "
        "(ONNX Runtime, made once from the packaged weights) or the original fp32 (PyTorch). An index "
        "records which one built it.")
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answerer.")

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


def _from_env() -> dict[str, Any]:
    out = {}
    for name in Settings.model_fields:
        value = os.environ.get(ENV_PREFIX + name.upper())
        if value is not None and value != "":
            out[name] = value
    return out


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from every layer; `overrides` (CLI flags) win, None values are ignored."""
    merged: dict[str, Any] = {}
    merged.update(_from_file(locations.config_file()))
    merged.update(_from_env())
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings(**merged)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid settings ({problems})", hint=f"Check flags, {ENV_PREFIX}* variables and {locations.config_file()}.") from None
