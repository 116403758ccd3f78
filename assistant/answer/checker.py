"""The checker: proves every quote of an answer is a real span of its article, as
stored in the index. Run on every answer before it is shown or exported."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.types import Answer
from index.store import Store


@dataclass(frozen=True)
class QuoteProblem:
    n: int
    file: str
    reason: str


def check_answer(answer: Answer, store: Store) -> list[QuoteProblem]:
    problems = []
    for c in answer.citations:
        text = store.article_text(c.article_id)
        if not text:
            problems.append(QuoteProblem(c.n, c.file, "the article is no longer in the index"))
        elif text[c.start : c.end] != c.quote:
            problems.append(QuoteProblem(c.n, c.file, f"the quote is not the article's text at {c.start}-{c.end}"))
    return problems
