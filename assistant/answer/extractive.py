"""The extractive engine: no model to download, works everywhere. It answers with
the passages' own most relevant sentences, verbatim: it picks spans, and the
answerer cites them as they are."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from assistant.answer.text import Span, content_terms, passage_sentences
from assistant.retriever import Hit
from index.embedder import Embedder

MAX_SENTENCES = 3
MIN_WORDS = 5


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, embedder: Embedder | None = None, max_sentences: int = MAX_SENTENCES) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences

    def select(self, question: str, hits: Sequence[Hit]) -> list[Span]:
        """The sentences that answer best, in the order they should be read."""
        cands = [s for i, h in enumerate(hits) for s in passage_sentences(i, h.text) if len(s.text.split()) >= MIN_WORDS]
        if not cands:
            cands = [s for i, h in enumerate(hits) for s in passage_sentences(i, h.text)]
        if not cands:
            return []
        q_terms = set(content_terms(question))
        lex = np.array([
            (len(q_terms & set(content_terms(c.text))) / len(q_terms)) if q_terms else 0.0 for c in cands
        ])
        score = lex
        if self.embedder is not None:
            vecs = self.embedder.embed([question] + [c.text for c in cands])
            dense = vecs[1:] @ vecs[0]
            score = 0.5 * lex + 0.5 * dense
        # Passages come ranked; a better-ranked passage's sentence wins near-ties.
        score = score + np.array([0.04 / (1 + c.passage) for c in cands])
        order = np.argsort(-score, kind="stable")
        best = score[order[0]]
        chosen: list[Span] = []
        chosen_terms: list[set[str]] = []
        for j in order:
            if len(chosen) >= self.max_sentences or score[j] < 0.8 * best:
                break
            terms = set(content_terms(cands[j].text))
            if any(len(terms & t) / max(1, len(terms | t)) > 0.5 for t in chosen_terms):
                continue  # says what an earlier pick said (overlapping chunks, wire copies)
            chosen.append(cands[j])
            chosen_terms.append(terms)
        return chosen
