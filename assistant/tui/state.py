"""Values the chat passes around: the user's answer options, one question in flight,
and the article text behind each citation."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import date

from assistant.retriever import Filters
from assistant.session import ChatSession

ENGINES = ("extractive", "openai", "llama-cpp")


@dataclass(frozen=True)
class ChatOptions:
    """What the next question is answered with; changed in the settings screen."""

    engine: str = "extractive"
    as_of: date | None = None  # None: today, read when the question is asked
    filters: Filters = field(default_factory=Filters)

    def as_of_date(self) -> date:
        return self.as_of or date.today()

    def describe(self) -> str:
        as_of = self.as_of.isoformat() if self.as_of else "today"
        text = f"as of {as_of} · {self.engine}"
        filters = self.filters.describe()
        return text if filters == "none" else f"{text} · {filters}"


_ids = itertools.count(1)


@dataclass
class AskRequest:
    """One question on its way through the answer worker. The id tells a late reply
    to a cancelled question from the reply to the current one."""

    question: str
    session: ChatSession
    options: ChatOptions
    cancel: threading.Event = field(default_factory=threading.Event)
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(frozen=True)
class SourceText:
    """The article text a citation points into, read from the store when the answer
    was made (so offsets and text agree); None when the article is gone."""

    article_id: str
    text: str | None


def source_texts(store, citations) -> dict[int, SourceText]:
    """Article text per citation number (one read per article). Runs in a worker."""
    by_article: dict[str, str | None] = {}
    out = {}
    for c in citations:
        if c.article_id not in by_article:
            by_article[c.article_id] = store.article_text(c.article_id) if store is not None else None
        out[c.n] = SourceText(c.article_id, by_article[c.article_id] or None)
    return out
