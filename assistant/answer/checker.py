"""The checker: proves every quote of an answer is a real span of its article, as
stored in the index. The answerer runs it on each citation before the citation gets a
number (`verifier`); `check_answer` re-checks a finished answer (saved ones, tests)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.grounding import Verify
from assistant.answer.text import quote_at
from assistant.answer.types import Answer, Citation
from index.backend import StoreBackend


@dataclass(frozen=True)
class QuoteProblem:
    n: int
    file: str
    reason: str


def verifier(store: StoreBackend) -> Verify:
    """A check of citations against `store`, reading each article once."""
    texts: dict[str, str] = {}

    def verify(c: Citation) -> bool:
        if c.article_id not in texts:
            texts[c.article_id] = store.article_text(c.article_id)
        return quote_at(texts[c.article_id], c.start, c.end, c.quote)

    return verify


def check_answer(answer: Answer, store: StoreBackend) -> list[QuoteProblem]:
    problems = []
    for c in answer.citations:
        text = store.article_text(c.article_id)
        if not text:
            problems.append(QuoteProblem(c.n, c.file, "the article is no longer in the index"))
        elif not quote_at(text, c.start, c.end, c.quote):
            problems.append(QuoteProblem(c.n, c.file, f"the quote is not the article's text at {c.start}-{c.end}"))
    return problems
