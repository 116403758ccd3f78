"""The article text behind each citation, read from the index generation the answer
was checked against, so that offsets and text agree even after a rebuild."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from assistant.answer.types import Citation
from index.backend import StoreBackend


@dataclass(frozen=True)
class SourceText:
    """A cited article's text; None when the article is gone. `flagged`: spans of the
    text addressed to AI assistants (shown marked); `hidden`: such text the page hid
    from readers (not in `text`)."""

    article_id: str
    text: str | None
    flagged: tuple[tuple[int, int], ...] = ()
    hidden: tuple[str, ...] = ()


def source_texts(store: StoreBackend | None, citations: Iterable[Citation]) -> dict[int, SourceText]:
    """Article text per citation number (one read per article)."""
    citations = list(citations)
    by_article: dict[str, str | None] = {}
    flags = store.flags(c.article_id for c in citations) if store is not None else {}
    out = {}
    for c in citations:
        if c.article_id not in by_article:
            by_article[c.article_id] = (store.article_text(c.article_id) or None) if store is not None else None
        mine = flags.get(c.article_id, [])
        out[c.n] = SourceText(c.article_id, by_article[c.article_id],
                              tuple((f.start, f.end) for f in mine if f.field == "text"),
                              tuple(f.text for f in mine if f.field == "hidden"))
    return out
