"""Values of an answer. Citations are data: each is a verbatim span of an article,
with its offsets, and the numbers shown in the answer come from them.

An `Answer` leaves the answerer whole and checked: frozen, every quote proved against
the index generation named in `generation`, and its text rendered from its sentences
(so a citation that failed the check cannot leave its marker behind)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Mapping

from assistant.retriever import Hit

# supported: a verified quote backs it; unsupported: no passage does; unverified: its
# quotation marks hold words no source has; contradicted: the passage that says the
# most like it names another person, place, number or date, or says the opposite;
# injected: it repeats text addressed to AI assistants, which was withheld from the
# passages (`assistant.answer.withheld`).
SentenceStatus = Literal["supported", "unsupported", "unverified", "contradicted", "injected"]


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    file: str
    title: str
    date: str | None
    source: str
    url: str
    quote: str  # == article text[start:end], checked against the store before it is shown
    start: int  # offsets in the article text the index extracted from the file
    end: int
    chunk_id: int
    file_start: int | None = None  # offsets in the file itself (.txt, .md), when found there
    file_end: int | None = None

    def location(self) -> str:
        """Where a reader finds the quote: in the file when it can be pointed at."""
        if self.file_start is not None:
            return f"file chars {self.file_start}-{self.file_end}"
        return f"article text chars {self.start}-{self.end}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def citation_of(hit: Hit, n: int, start: int = 0, end: int | None = None) -> Citation:
    """Citation `n` of `hit.text[start:end]` (offsets local to the passage; by default
    the whole passage, as nearest articles are shown)."""
    end = len(hit.text) if end is None else end
    return Citation(n=n, article_id=hit.article_id, file=hit.file, title=hit.title, date=hit.date, source=hit.source,
                    url=hit.url, quote=hit.text[start:end], start=hit.start + start, end=hit.start + end,
                    chunk_id=hit.chunk_id)


@dataclass(frozen=True)
class AnswerSentence:
    text: str  # the sentence as shown, without citation markers
    citations: tuple[int, ...]
    status: SentenceStatus
    support: float  # 0..1 how well the best quote supports it
    note: str = ""  # why it is unsupported/unverified, or which citation was corrected

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def marked(self) -> str:
        """The sentence with its citation markers, as in `Answer.text`."""
        return self.text + "".join(f" [{n}]" for n in self.citations)


@dataclass(frozen=True)
class Claim:
    """One source's value in a difference: citation [n] says `value`."""

    n: int
    value: str
    date: str | None
    source: str


@dataclass(frozen=True)
class Difference:
    """Cited articles that give different figures or dates for the same thing (a toll
    that rose, a date that moved), newest report first."""

    what: str  # the thing measured, e.g. "people died"
    claims: tuple[Claim, ...]

    def as_json(self) -> dict[str, Any]:
        return {"what": self.what, "claims": [asdict(c) for c in self.claims]}


@dataclass(frozen=True)
class Answer:
    question: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    engine: str
    generation: int | None = None  # the index generation every quote was checked against
    search_query: str = ""  # the standalone query used for retrieval
    as_of: str = ""
    notices: tuple[str, ...] = ()  # e.g. engine failed, fell back
    store: Mapping[str, Any] = field(default_factory=dict)  # model, store path, build time
    cancelled: bool = False
    # False when the passages do not hold the answer: then `abstention` says so, there
    # are no sentences, and `hits` are the nearest articles, not sources.
    answerable: bool = True
    confidence: float = 1.0
    abstention: str = ""
    differences: tuple[Difference, ...] = ()

    @property
    def nearest(self) -> tuple[Citation, ...]:
        """When the passages do not answer: the articles that came closest, each as its
        passage (numbered apart from citations: they back nothing)."""
        if self.answerable:
            return ()
        return tuple(citation_of(h, i) for i, h in enumerate(self.hits, start=1))

    @property
    def text(self) -> str:
        """Sentences with [n] markers: the one numbering, from streaming to export."""
        return self.abstention if not self.answerable else " ".join(s.marked for s in self.sentences)

    def as_json(self) -> dict[str, Any]:
        return {
            "question": self.question, "search_query": self.search_query, "as_of": self.as_of,
            "answer": self.text, "engine": self.engine, "notices": list(self.notices),
            "sentences": [s.as_json() for s in self.sentences],
            "citations": [c.as_json() for c in self.citations],
            "hits": [h.as_json() for h in self.hits],
            "store": {**self.store, "generation": self.generation}, "cancelled": self.cancelled,
            "answerable": self.answerable, "confidence": self.confidence,
            "differences": [d.as_json() for d in self.differences],
        }


@dataclass(frozen=True)
class Draft:
    """An answer while it is being made: the sentences grounded so far. A draft with
    fewer sentences than the one before means start again (a model that failed
    mid-answer is replaced by the extractive answer)."""

    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    engine: str
    passages: int  # how many passages the engine is reading
