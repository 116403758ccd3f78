"""Errors of the read side. The hierarchy's base and the store's errors live in
`index.errors`; these are met only while answering."""

from __future__ import annotations

from index.errors import NewsAssistantError


class EngineError(NewsAssistantError):
    """An answer engine (local model or server) failed; the caller falls back."""

    title = "Answer engine problem"


class PromptError(NewsAssistantError):
    title = "Prompt template problem"
