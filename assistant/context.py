"""The context an answer engine reads: the passage of each retrieved article that
answers the question, best article first, up to a token budget.

Retrieval ranks *articles*; the chunk that made an article rank is often not the one
holding the answer (a title embedded with every chunk makes them all look alike to the
dense side). So, per article, the passage is chosen again here:
- each chunk is scored by the question's specific terms (BM25 over the chunk, which
  weighs rare words such as names far above common ones), plus a share for the lead:
  news is written as an inverted pyramid, and the first chunk (who, what, where) held
  the answer more often than any other choice on the developer set;
- the sentence of that passage that best matches the question is found, and when it
  sits at the passage's edge the neighbouring sentence of the article is added, so a
  sentence that needs the one before it ("He said...") is not handed over cut off;
- a question bound to a time ("this week", "recently") is answered from that time's
  reports alone, so their passages come first, in rank order, then the others';
- what budget is left goes to each article's next best passages in turn, so a folder
  of one long article still hands over that article's best passages, not one. Of a
  passage that overlaps one already given (neighbouring chunks share a sentence) only
  the new text is handed over, so no sentence comes twice and every passage keeps its
  place in the order: the answer engines prefer an earlier passage's sentence.

Passages are exact spans of their article (`text == article[start:end]`), so quotes
from them still check against the store. Sizes are counted in the same cl100k tokens
as the chunker's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

import numpy as np

from assistant.answer.text import content_terms
from assistant.config import EXTRACTIVE_CONTEXT_TOKENS
from assistant.retriever import Hit, SearchResult
from index.chunker import count_tokens
from index.sentences import sentence_spans

if TYPE_CHECKING:
    from assistant.retriever import Retriever

PER_STORY = 2
LEAD_SHARE = 0.5
"""How much of the best chunk's keyword score the lead chunk gets for being the lead.
A lead that matches at least half as well as the best chunk is chosen."""


def build_context(
    question: str,
    result: SearchResult | Sequence[Hit],
    retriever: "Retriever",
    budget_tokens: int = EXTRACTIVE_CONTEXT_TOKENS,
    *,
    lead_share: float = LEAD_SHARE,
    widen: bool = True,
    per_story: int | None = PER_STORY,
) -> list[Hit]:
    """Passages for the answerer: the answering passage of each article in the order
    given (the articles' duplicates stay with them), then each article's next best
    passage, and so on while the budget lasts, so that a folder of one long article
    still fills the budget with that article's best passages. Of a passage that
    overlaps one already given, only its new text comes. Every passage fits whole: one
    that would overflow is skipped, a shorter later one may still fit. The first
    passage is always given, even alone over budget, so that a tiny budget never leaves
    the answerer with nothing.

    `result`: a `SearchResult` (its BM25 scores are reused when it was searched with
    `question`) or hits in rank order. `per_story`: reports of one story (`Hit.story`)
    beyond this many wait until every other article has had its passage; None keeps
    the rank order. `lead_share` and `widen`: see the module docstring."""
    hits = list(result.hits if isinstance(result, SearchResult) else result)
    if not hits:
        return []
    if per_story is not None:
        hits = _story_first(hits, per_story)
    window = result.window if isinstance(result, SearchResult) else None
    if window is not None and window.binding:
        # Only its time's reports can answer the question (`answerability.assess`): their
        # passages come first (the sort is stable: each part keeps its order).
        hits = sorted(hits, key=lambda h: not window.holds(h.date))
    keyword = None
    if isinstance(result, SearchResult) and result.query == question:
        keyword = result.keyword_scores
    if keyword is None:
        keyword = retriever.store.keyword().scores(question)
    q_terms = set(content_terms(question))
    ranked: list[list[Hit]] = []  # per article, in the order given: its passages, best first
    done: set[str] = set()
    for hit in hits:
        # An article listed twice (retrieval fills up with second passages when there
        # are few articles) is ranked once, at its first place.
        if hit.article_id not in done:
            done.add(hit.article_id)
            ranked.append(_passages(hit, keyword, retriever, lead_share))
    articles = _Articles(retriever)
    out: list[Hit] = []
    used = 0
    for depth in range(max(len(r) for r in ranked)):
        for passages in ranked:
            if out and budget_tokens - used < MIN_PASSAGE_TOKENS:
                return out
            if depth >= len(passages):
                continue
            p = passages[depth]
            if out and sum(count_tokens(x.text) for x in _new_text(p, out, articles)) > budget_tokens - used:
                continue  # too long even before widening, which only adds
            p = widen_passage(p, q_terms, retriever, articles) if widen else p
            for piece in _new_text(p, out, articles):
                cost = count_tokens(piece.text)
                if not out or used + cost <= budget_tokens:
                    out.append(piece)
                    used += cost
    return out


MIN_PASSAGE_TOKENS = 20
"""Below this much budget left, no passage can fit (a chunk is about 160 tokens): stop."""


def _story_first(hits: list[Hit], per_story: int) -> list[Hit]:
    """The first `per_story` reports of each story in rank order, then the rest: near
    copies of one story tell the answerer little that the first ones did not, while
    the next story may hold the answer."""
    seen: dict[int, int] = {}
    head: list[Hit] = []
    tail: list[Hit] = []
    for h in hits:
        n = seen.get(h.story, 0) if h.story >= 0 else 0
        (head if n < per_story else tail).append(h)
        if h.story >= 0:
            seen[h.story] = n + 1
    return head + tail


def _passages(hit: Hit, keyword: np.ndarray, retriever: "Retriever", lead_share: float) -> list[Hit]:
    """The article's chunks as passages, the answering one first, then by score."""
    chunks = retriever.chunks_of_article(hit.article_id)
    if not chunks:
        return [hit]
    store = retriever.store
    kw = np.array([float(keyword[store.row_of(c.id)]) if keyword.size else 0.0 for c in chunks])
    score = kw.copy()
    if kw.max() > 0:
        score[0] += lead_share * kw.max()
    else:
        score[:] = 0.0
        score[[i for i, c in enumerate(chunks) if c.id == hit.chunk_id]] = 1.0  # nothing to go on: keep retrieval's pick
    order = np.argsort(-score, kind="stable")
    return [replace(hit, chunk_id=c.id, start=c.start, end=c.end, text=c.text, duplicates=hit.duplicates if n == 0 else ())
            for n, c in enumerate(chunks[int(i)] for i in order)]


def widen_passage(p: Hit, question: str | set[str], retriever: "Retriever", articles: "_Articles | None" = None) -> Hit:
    """`p` with the article's neighbouring sentence added on the side where the
    passage's sentence that best matches `question` (or its content terms) touches the
    passage's edge; `p` itself when that sentence is inside, or nothing matches.
    `articles`: texts and sentences already read (one context widens many passages)."""
    q_terms = set(content_terms(question)) if isinstance(question, str) else question
    spans = sentence_spans(p.text)
    if len(spans) < 1 or not q_terms:
        return p
    overlap = [len(q_terms & set(content_terms(p.text[s:e]))) for s, e in spans]
    best = int(np.argmax(overlap))
    if overlap[best] == 0:
        return p
    at_start, at_end = best == 0, best == len(spans) - 1
    if not (at_start or at_end):
        return p
    articles = articles or _Articles(retriever)
    text = articles.text(p.article_id)
    if text[p.start : p.end] != p.text:  # the store changed under us: hand over as is
        return p
    article_spans = articles.sentences(p.article_id)
    start, end = p.start, p.end
    if at_start:
        before = [s for s, e in article_spans if e <= p.start]
        if before:
            start = before[-1]
    if at_end:
        after = [e for s, e in article_spans if s >= p.end]
        if after:
            end = after[0]
    if (start, end) == (p.start, p.end):
        return p
    return replace(p, start=start, end=end, text=text[start:end])


class _Articles:
    """Article texts and their sentence spans, each read once per context."""

    def __init__(self, retriever: "Retriever") -> None:
        self._store = retriever.store
        self._texts: dict[str, str] = {}
        self._sentences: dict[str, list[tuple[int, int]]] = {}

    def text(self, article_id: str) -> str:
        if article_id not in self._texts:
            self._texts[article_id] = self._store.article_text(article_id)
        return self._texts[article_id]

    def sentences(self, article_id: str) -> list[tuple[int, int]]:
        if article_id not in self._sentences:
            self._sentences[article_id] = sentence_spans(self.text(article_id))
        return self._sentences[article_id]


def _new_text(p: Hit, taken: list[Hit], articles: _Articles) -> list[Hit]:
    """The parts of `p` that no passage of its article in `taken` holds yet, each an
    exact span of the article without space at its ends (neighbouring chunks share a
    sentence: it is handed over once)."""
    text = articles.text(p.article_id)
    if text[p.start : p.end] != p.text:
        return [p]  # not a span of the text at hand: as it is
    pieces = [(p.start, p.end)]
    for o in taken:
        if o.article_id == p.article_id:
            pieces = [part for s, e in pieces for part in ((s, min(e, o.start)), (max(s, o.end), e)) if part[0] < part[1]]
    out = []
    for s, e in pieces:
        s += len(text[s:e]) - len(text[s:e].lstrip())
        e -= len(text[s:e]) - len(text[s:e].rstrip())
        if any(ch.isalnum() for ch in text[s:e]):
            out.append(p if (s, e) == (p.start, p.end) else replace(p, start=s, end=e, text=text[s:e], duplicates=()))
    return out
