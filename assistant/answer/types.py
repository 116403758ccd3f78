"""Values of an answer. Citations are data: each is a verbatim span of an article,
with its offsets, and the numbers in the answer text come from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from assistant.retriever import Hit

SentenceStatus = Literal["supported", "unsupported", "unverified"]


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    file: str
    title: str
    date: str | None
    source: str
    url: str
    quote: str  # == article text[start:end], checked by assistant.answer.checker
    start: int
    end: int
    chunk_id: int

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AnswerSentence:
    text: str  # the sentence as shown, without citation markers
    citations: tuple[int, ...]
    status: SentenceStatus
    support: float  # 0..1 how well the best quote supports it
    note: str = ""  # why it is unsupported/unverified, or which citation was corrected

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str
    text: str  # sentences with [n] markers, as shown to the user
    sentences: list[AnswerSentence]
    citations: list[Citation]
    hits: list[Hit]
    engine: str
    search_query: str = ""  # the standalone query used for retrieval
    as_of: str = ""
    notices: list[str] = field(default_factory=list)  # e.g. engine failed, fell back
    store: dict = field(default_factory=dict)  # generation, model: what answered
    cancelled: bool = False

    def as_json(self) -> dict:
        return {
            "question": self.question, "search_query": self.search_query, "as_of": self.as_of,
            "answer": self.text, "engine": self.engine, "notices": self.notices,
            "sentences": [s.as_json() for s in self.sentences],
            "citations": [c.as_json() for c in self.citations],
            "hits": [h.as_json() for h in self.hits], "store": self.store, "cancelled": self.cancelled,
        }
