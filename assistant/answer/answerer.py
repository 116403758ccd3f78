"""From passages to a grounded answer: the chosen engine writes, grounding aligns
every sentence to a verbatim quote, and a failing model falls back to the
extractive answer with a notice instead of an error."""

from __future__ import annotations

import threading
from datetime import date
from typing import Sequence

from assistant.answer.engines import GenerativeEngine, OnToken
from assistant.answer.extractive import ExtractiveEngine
from assistant.answer.grounding import ground
from assistant.answer.types import Answer
from assistant.prompts import format_passages, load_prompt
from assistant.retriever import Hit
from index.embedder import Embedder
from index.errors import EngineError


class Answerer:
    def __init__(self, embedder: Embedder | None, engine: GenerativeEngine | None = None) -> None:
        self.embedder = embedder
        self.engine = engine
        self.extractive = ExtractiveEngine(embedder)
        if engine is not None:
            load_prompt("answer")  # a broken template fails now, not mid-answer

    @property
    def name(self) -> str:
        return self.engine.name if self.engine else self.extractive.name

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        as_of: date,
        search_query: str = "",
        on_token: OnToken | None = None,
        cancel: threading.Event | None = None,
        store_info: dict | None = None,
    ) -> Answer:
        notices: list[str] = []
        text = ""
        engine_used = self.extractive.name
        if not hits:
            notices.append("No passage in the index matches this question (check the as-of date and filters).")
        elif self.engine is not None:
            prompt = load_prompt("answer").render(question=question, passages=format_passages(hits), as_of=as_of.isoformat())
            try:
                text = self.engine.generate(prompt, on_token, cancel)
                engine_used = self.engine.name
            except EngineError as e:
                # Joined part by part: without a hint the old f-string left "message.  Showing".
                parts = [e.message.rstrip(". "), (e.hint or "").strip(), "Showing the extractive answer instead."]
                notices.append(". ".join(parts[:1]) + ". " + " ".join(p for p in parts[1:] if p))
                text = ""
        cancelled = cancel is not None and cancel.is_set()
        if hits and not text.strip() and not cancelled:
            text = self.extractive.compose(question, hits)
            engine_used = self.extractive.name
            if on_token and text:
                on_token(text)
        # A model's paraphrase is checked with meaning as well as words; extractive
        # sentences are verbatim and need only the exact comparison.
        grounded = ground(text, hits, self.embedder if engine_used != self.extractive.name else None)
        return Answer(
            question=question, text=grounded.text, sentences=grounded.sentences, citations=grounded.citations,
            hits=list(hits), engine=engine_used, search_query=search_query or question, as_of=as_of.isoformat(),
            notices=notices, store=store_info or {}, cancelled=cancelled,
        )
