"""Settings of the read side: how questions are answered. They extend the index's
settings, so one object (and one config file) describes a whole assistant."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field

from index.config import IndexSettings, load_layered

EngineName = Literal["extractive", "llama-cpp", "openai"]
ENGINES: tuple[str, ...] = get_args(EngineName)


class Settings(IndexSettings):
    engine: EngineName = Field("extractive", description="Answer engine.")
    llama_model_path: Path | None = Field(None, description="GGUF model file for the llama-cpp engine.")
    openai_base_url: str = Field("http://127.0.0.1:11434/v1", description="OpenAI-compatible server URL.")
    openai_model: str = Field("llama3.2", description="Model name the server knows.")
    openai_api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    timeout_seconds: float = Field(60.0, gt=0, description="Model call timeout.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of model answers (0: the same answer every time).")
    top_k: int = Field(5, ge=1, le=50, description="Articles retrieved for an answer.")
    watch: bool = Field(True, description="While the chat is open, index new, changed and removed articles of the "
                        "folder in the background (as `assistant watch` does).")
    context_tokens: int | None = Field(
        None, ge=50, le=8000, description="When set, the answerer reads build_context's passages up to this many "
        "cl100k tokens instead of the retrieved ones (600 measured best for the extractive engine).")


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from every layer; `overrides` (CLI flags) win, None values are ignored."""
    return load_layered(Settings, overrides)
