"""From passages to a checked answer, in one pass.

The extractive engine picks verbatim spans, which are cited as they are; a model's
text is grounded sentence by sentence while it streams. Every quote is checked
against the store generation the passages came from before it gets a number, and
a failing model falls back to the extractive answer with a notice instead of an
error. What callers get back is a finished, frozen `Answer`; what they see while
it is made are `Draft`s in the same numbering.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date
from typing import Any, Callable, Mapping, Sequence

from assistant.answer.answerability import (Assessment, abstention_message, model_declines, set_aside_notice,
                                            window_notice)
from assistant.answer.differences import find_differences
from assistant.answer.engines import GenerativeEngine
from assistant.answer.extractive import ExtractiveEngine
from assistant.answer.grounding import Grounder, Locate, Verify
from assistant.answer.types import Answer, Draft
from assistant.answer.withheld import withhold
from assistant.errors import EngineError
from assistant.prompts import format_passages, load_prompt
from assistant.retriever import Hit
from index.embedder import Embedder
from index.injection import Flag


OnDraft = Callable[[Draft], None]
# Whether the passages can answer the question (see answerability.assess).
Assess = Callable[[str, Sequence[Hit]], Assessment]


def _fallback_notice(e: EngineError) -> str:
    parts = [e.message.rstrip(". "), (e.hint or "").strip(), "Showing the extractive answer instead."]
    return parts[0] + ". " + " ".join(p for p in parts[1:] if p)


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
        on_draft: OnDraft | None = None,
        cancel: threading.Event | None = None,
        verify: Verify | None = None,
        generation: int | None = None,
        store_info: Mapping[str, Any] | None = None,
        notices: Sequence[str] = (),
        assess: Assess | None = None,
        locate: Locate | None = None,
        flags: Mapping[str, Sequence[Flag]] | None = None,
    ) -> Answer:
        """`flags`: text addressed to AI systems per article id (`Store.flags`); it is
        withheld from everything the answer is made of (`assistant.answer.withheld`)."""
        notes = list(notices)
        withheld = withhold(hits, flags or {})
        hits = withheld.hits
        notice = withheld.notice()
        if notice:
            notes.append(notice)
        engine_used = self.extractive.name
        # What every outcome shares; each return fills in the rest.
        base = Answer(question=question, sentences=(), citations=(), hits=tuple(hits), engine=self.name,
                      generation=generation, search_query=search_query or question, as_of=as_of.isoformat(),
                      store=dict(store_info or {}))
        # A follow-up ("What did he say after that?") is judged by its standalone search,
        # which carries the names it refers to.
        assessment = (assess(search_query or question, hits) if assess is not None and hits
                      else Assessment(bool(hits), 1.0 if hits else 0.0))
        nearest = base  # an abstention shows every passage, as the nearest articles

        def abstain(engine: str) -> Answer:
            told = [window_notice(assessment.unmet_window)] if assessment.unmet_window else []
            return replace(nearest, engine=engine, notices=tuple(notes + told), answerable=False,
                           confidence=assessment.confidence, abstention=abstention_message(question, as_of))

        if hits and not assessment.answerable:
            # The passages are about something else: say so, and show them as the
            # nearest articles rather than as sources.
            return abstain(self.name)
        if assessment.window is not None and assessment.usable is not None and len(assessment.usable) < len(hits):
            # A question bound to a time is answered from that time's reports alone.
            notes.append(set_aside_notice(assessment.window, len(hits) - len(assessment.usable)))
            hits = [hits[i] for i in assessment.usable]
            base = replace(base, hits=tuple(hits))
        grounder = Grounder(hits, None, verify, locate=locate)

        def show(engine: str) -> None:
            if on_draft is not None:
                on_draft(Draft(tuple(grounder.sentences), tuple(grounder.citations), engine, len(hits)))

        if not hits:
            notes.append("No passage in the index matches this question (check the as-of date and filters).")
        elif self.engine is not None:
            engine_used = self.engine.name
            show(engine_used)
            # A model's paraphrase is checked with meaning as well as words.
            grounder = Grounder(hits, self.embedder, verify, question, locate, withheld.texts)
            prompt = load_prompt("answer").render(question=question, passages=format_passages(hits, question), as_of=as_of.isoformat())

            def on_token(piece: str) -> None:
                if grounder.feed(piece):
                    show(engine_used)

            try:
                said = self.engine.generate(prompt, on_token, cancel)
                if model_declines(said):
                    return abstain(engine_used)
                if grounder.finish():
                    show(engine_used)
            except EngineError as e:
                notes.append(_fallback_notice(e))
                grounder = Grounder(hits, None, verify, locate=locate)
                engine_used = self.extractive.name
        cancelled = cancel is not None and cancel.is_set()
        if hits and not grounder.sentences and not cancelled:
            if engine_used != self.extractive.name:
                # The stream ended without a word (a server that dropped the request, a
                # model that stopped at once): the reader is told, not left guessing.
                notes.append(f"The {engine_used} engine's answer was empty. Showing the extractive answer instead.")
            engine_used = self.extractive.name
            for span in self.extractive.select(question, hits):
                grounder.cite_span(span)
            show(engine_used)
        differences = find_differences(question, hits, grounder.cite) if grounder.sentences and not cancelled else ()
        done = grounder.result()
        return replace(base, sentences=done.sentences, citations=done.citations, engine=engine_used, notices=tuple(notes),
                       cancelled=cancelled, confidence=assessment.confidence, differences=differences)
