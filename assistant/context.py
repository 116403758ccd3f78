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
  sentence that needs the one before it ("He said...") is not handed over cut off.

Passages are exact spans of their article (`text == article[start:end]`), so quotes
from them still check against the store. Sizes are counted in the same cl100k tokens
as the chunker's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

import numpy as np

from assistant.answer.text import content_terms
from assistant.retriever import Hit, SearchResult
from index.chunker import count_tokens
from index.sentences import sentence_spans

if TYPE_CHECKING:
    from assistant.retriever import Retriever

DEFAULT_BUDGET_TOKENS = 600
"""cl100k tokens of passages (about 450 words). On the developer set the extractive
engine did best with 600 (answer contained: 0.558 at 400, 0.589 at 600, 0.547 at 1,000):
more passages mean more sentences competing for its three picks. A generative engine
can be given more with `budget_tokens`; no small model was measured yet."""
PER_STORY = 2
LEAD_SHARE = 0.5
"""How much of the best chunk's keyword score the lead chunk gets for being the lead.
A lead that matches at least half as well as the best chunk is chosen."""


def build_context(
    question: str,
    result: SearchResult | Sequence[Hit],
    retriever: "Retriever",
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    *,
    lead_share: float = LEAD_SHARE,
    widen: bool = True,
    per_story: int | None = PER_STORY,
) -> list[Hit]:
    """Passages for the answerer, one per article in the order given (the articles'
    duplicates stay with them), then further passages of the same articles while the
    budget lasts. Every passage fits whole: one that would overflow is skipped, a
    shorter later one may still fit. The first passage is always given, even alone
    over budget, so that a tiny budget never leaves the answerer with nothing.

    `result`: a `SearchResult` (its BM25 scores are reused when it was searched with
    `question`) or hits in rank order. `per_story`: reports of one story (`Hit.story`)
    beyond this many wait until every other article has had its passage; None keeps
    the rank order. `lead_share` and `widen`: see the module docstring."""
    hits = list(result.hits if isinstance(result, SearchResult) else result)
    if not hits:
        return []
    if per_story is not None:
        hits = _story_first(hits, per_story)
    keyword = None
    if isinstance(result, SearchResult) and result.query == question:
        keyword = result.keyword_scores
    if keyword is None:
        keyword = retriever.store.keyword().scores(question)
    q_terms = set(content_terms(question))
    out: list[Hit] = []
    used = 0
    seconds: list[Hit] = []
    done: set[str] = set()
    for hit in hits:
        # An article listed twice (retrieval fills up with second passages when there
        # are few articles) gets its best passage once; its others come with `seconds`.
        if hit.article_id in done:
            continue
        done.add(hit.article_id)
        first, second = _passages(hit, keyword, retriever, lead_share)
        p = widen_passage(first, q_terms, retriever) if widen else first
        cost = count_tokens(p.text)
        if not out or used + cost <= budget_tokens:
            out.append(p)
            used += cost
        if second is not None:
            seconds.append(second)
    for p in seconds:
        p = widen_passage(p, q_terms, retriever) if widen else p
        if any(_overlaps(p, o) for o in out):
            continue
        cost = count_tokens(p.text)
        if used + cost <= budget_tokens:
            out.append(p)
            used += cost
    return out


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


def _passages(hit: Hit, keyword: np.ndarray, retriever: "Retriever", lead_share: float) -> tuple[Hit, Hit | None]:
    """The article's answering chunk, and its next best (for leftover budget)."""
    chunks = retriever.chunks_of_article(hit.article_id)
    if not chunks:
        return hit, None
    store = retriever.store
    kw = np.array([float(keyword[store.row_of(c.id)]) if keyword.size else 0.0 for c in chunks])
    score = kw.copy()
    if kw.max() > 0:
        score[0] += lead_share * kw.max()
    else:
        score[:] = 0.0
        score[[i for i, c in enumerate(chunks) if c.id == hit.chunk_id]] = 1.0  # nothing to go on: keep retrieval's pick
    order = np.argsort(-score, kind="stable")
    best = chunks[int(order[0])]
    first = replace(hit, chunk_id=best.id, start=best.start, end=best.end, text=best.text)
    second = None
    if len(order) > 1:
        c = chunks[int(order[1])]
        second = replace(hit, chunk_id=c.id, start=c.start, end=c.end, text=c.text, duplicates=())
    return first, second


def widen_passage(p: Hit, question: str | set[str], retriever: "Retriever") -> Hit:
    """`p` with the article's neighbouring sentence added on the side where the
    passage's sentence that best matches `question` (or its content terms) touches the
    passage's edge; `p` itself when that sentence is inside, or nothing matches."""
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
    text = retriever.store.article_text(p.article_id)
    if text[p.start : p.end] != p.text:  # the store changed under us: hand over as is
        return p
    article_spans = sentence_spans(text)
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


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.article_id == b.article_id and min(a.end, b.end) > max(a.start, b.start)
