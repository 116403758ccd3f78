"""The article text behind each citation, read from the index generation the answer
was checked against, so that offsets and text agree even after a rebuild."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from assistant.answer.types import Citation
from index.backend import StoreBackend


@dataclass(frozen=True)
class SourceText:
    """A cited article's text; None when the article is gone."""

    article_id: str
    text: str | None


def source_texts(store: StoreBackend | None, citations: Iterable[Citation]) -> dict[int, SourceText]:
    """Article text per citation number (one read per article)."""
    by_article: dict[str, str | None] = {}
    out = {}
    for c in citations:
        if c.article_id not in by_article:
            by_article[c.article_id] = (store.article_text(c.article_id) or None) if store is not None else None
        out[c.n] = SourceText(c.article_id, by_article[c.article_id])
    return out
