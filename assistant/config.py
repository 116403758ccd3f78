"""Settings of the read side: how questions are answered. They extend the index's
settings, so one object (and one config file) describes a whole assistant."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field

from index.config import IndexSettings, load_layered

EngineName = Literal["extractive", "llama-cpp", "openai"]
ENGINES: tuple[str, ...] = get_args(EngineName)

EXTRACTIVE_CONTEXT_TOKENS = 600
"""The passages the extractive engine reads, in cl100k tokens (about 450 words). On
the developer set its answer held the gold answer for 0.611 / 0.653 / 0.589 of the
questions at 400 / 600 / 1,000: more passages mean more sentences competing for its
three picks (README, "Stories and the answerer's context")."""
MODEL_CONTEXT_TOKENS = 1000
"""The passages a model reads (before `format_passages` keeps the sentences of each that
bear on the question). A 1.5B model on 2 cores answered 0.653 of the developer set
correctly with 1,000, 0.611 with 600, for a first token 4 s later (README, "Answers")."""


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
        None, ge=50, le=8000, description="Passages handed to the answerer, in cl100k tokens: each retrieved "
        "article's answering passage, then further passages while the budget lasts. Unset: 600 for the extractive "
        "engine, 1,000 for a model (the best measured for each).")

    def context_budget(self, model: bool) -> int:
        """The answerer's passage budget: `context_tokens`, or the default for the engine."""
        return self.context_tokens or (MODEL_CONTEXT_TOKENS if model else EXTRACTIVE_CONTEXT_TOKENS)


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from every layer; `overrides` (CLI flags) win, None values are ignored."""
    return load_layered(Settings, overrides)
