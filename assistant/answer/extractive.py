"""The extractive engine: no model to download, works everywhere. It answers with
the passages' own sentences, verbatim: it picks spans, and the answerer cites them
as they are.

The answer leads with the one sentence that answers what was asked. A question's
form says what kind of thing answers it ("how many" a number, "when" a date, "where"
a place, "who"/"which" a name); a sentence that is about the question *and* holds
such a thing that the question does not already name is preferred. At most two
sentences follow, as support: each about as relevant as the lead and saying
something of its own, at most two of the three from one article (the sentence beside
the lead often holds the specific the lead only points at; a third comes from
another report). Headings and captions (lines without end punctuation) are never
picked, nor are questions: an article's question ("What does this mean for
renters?", a quiz's own question) matches the words of the question asked better
than any answer does, and answers nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

import numpy as np

from assistant.answer.text import MONTH_NAMES, Span, content_terms, passage_sentences
from assistant.retriever import Hit
from index.embedder import Embedder

MAX_SENTENCES = 3  # the direct answer and at most two supporting sentences
MAX_PER_ARTICLE = 2  # of those three: a third sentence comes from another report
MIN_WORDS = 5
HEADING_WORDS = 12  # a line without end punctuation longer than this is text, not a heading
# Added to a sentence's relevance (0..1) when it holds a thing of the asked kind.
TYPE_BONUS = 0.15
# Supporting sentences must be about as relevant as the lead.
SUPPORT_RATIO = 0.8

_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
                     r"thousands?|millions?|billions?|half|quarter)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(" + MONTH_NAMES + r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
                   r"(?:19|20)\d\d|yesterday|tomorrow|today|next (?:week|month|year)|last (?:week|month|year))\b")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'&.-]*(?:\s+(?:of|and|the|de|&)?\s*[A-Z][\w’'&.-]*)*")
_TITLE = re.compile(r"[“\"]([^”\"]{2,60})[”\"]")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’»)\]]*$")
_ENDS_QUESTION = re.compile(r"\?[\"'”’»)\]]*$")
_TYPES = (
    ("number", re.compile(r"\bhow (many|much|old|long|far|tall|big|large|high|often)\b|\bwhat (percentage|percent|share|"
                          r"number|amount|price|age|proportion|fraction)\b|\bapproximately\b", re.IGNORECASE)),
    ("date", re.compile(r"^\s*when\b|\bwhen (will|did|does|is|was|are|were)\b|\bwhat (year|date|day|month|time)\b|"
                        r"\bhow soon\b", re.IGNORECASE)),
    ("place", re.compile(r"\bwhere\b|\bwhich (country|countries|state|states|city|cities|continent|island|nation|region|"
                         r"town|county|province|park|place|location|area|border)\b", re.IGNORECASE)),
    ("name", re.compile(r"\bwho\b|\bwhom\b|\bwhich\b|\bwhat (company|team|show|movie|film|group|organization|agency|"
                        r"person|brand|app|network|product|animal|name|event|award|song|album|book|airline|party)\b",
                        re.IGNORECASE)),
)


def answer_type(question: str) -> str | None:
    """The kind of thing that answers `question`: number, date, place, name, or None."""
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return None


def holds_answer_kind(sentence: str, kind: str | None, question: str) -> bool:
    """Whether `sentence` holds a thing of `kind` that the question does not name."""
    if kind is None:
        return False
    asked = question.lower()
    if kind == "number":
        return any(m.group(0).lower() not in asked for m in _NUMBER.finditer(sentence))
    if kind == "date":
        return any(m.group(0).lower() not in asked for m in _DATE.finditer(sentence))
    names = [m.group(0) for m in _NAME.finditer(sentence)] + [m.group(1) for m in _TITLE.finditer(sentence)]
    return any(n.lower() not in asked and n.lower() not in _COMMON_CAPITALS for n in names)


# Capitalised words that name nothing by themselves.
_COMMON_CAPITALS = frozenset("i mr mrs ms dr he she it they we the a an but and in on at for this that".split())


def _is_sentence(span: Span) -> bool:
    """A statement, not a heading, a caption or a question: enough words, and end
    punctuation (not a question mark) unless it runs on far longer than a heading does."""
    words = len(span.text.split())
    if words < MIN_WORDS or _ENDS_QUESTION.search(span.text):
        return False
    return words > HEADING_WORDS or bool(_ENDS_SENTENCE.search(span.text))


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, embedder: Embedder | None = None, max_sentences: int = MAX_SENTENCES) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences

    def select(self, question: str, hits: Sequence[Hit]) -> list[Span]:
        """The direct answer first, then up to two supporting sentences (at most two of the
        three from one article)."""
        cands = [s for i, h in enumerate(hits) for s in passage_sentences(i, h.text) if _is_sentence(s)]
        if not cands:  # only headings and fragments: the best of them, but still no question
            cands = [s for i, h in enumerate(hits) for s in passage_sentences(i, h.text)
                     if not _ENDS_QUESTION.search(s.text)]
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
        kind = answer_type(question)
        score = score + TYPE_BONUS * np.array([holds_answer_kind(c.text, kind, question) for c in cands])
        # Passages come ranked; a better-ranked passage's sentence wins near-ties.
        score = score + np.array([0.04 / (1 + c.passage) for c in cands])
        order = np.argsort(-score, kind="stable")
        best = score[order[0]]
        lead = cands[order[0]]
        chosen: list[Span] = [lead]
        per_article = Counter([hits[lead.passage].article_id])
        chosen_terms = [set(content_terms(lead.text))]
        for j in order[1:]:
            if len(chosen) >= self.max_sentences or score[j] < SUPPORT_RATIO * best:
                break
            article = hits[cands[j].passage].article_id
            terms = set(content_terms(cands[j].text))
            if per_article[article] >= MAX_PER_ARTICLE or any(
                    len(terms & t) / max(1, len(terms | t)) > 0.5 for t in chosen_terms):
                continue  # support says something of its own, and not all of it from one report
            chosen.append(cands[j])
            per_article[article] += 1
            chosen_terms.append(terms)
        return chosen
