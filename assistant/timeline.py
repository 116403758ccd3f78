"""A story over time: the articles on a question's story in date order, each with the
one sentence that best says what was new in it.

1. candidates: the retriever's search for the question (`TimelineSettings.pool`
   articles, one line per article, near-identical passages already folded);
2. the cut-off: an article is on the timeline when it is in the question's story (the
   top hit's story group, `assistant.stories`), or when its best passage's cosine
   similarity to the question is at least `relative_relevance` of the best one's. The
   fraction was measured on the developer set (bench/bench_timeline.py, README), so
   unrelated articles do not pad a short story up to a fixed count;
3. syndicated copies: articles with the same title words dated within
   `fold_days` of each other are one line, the others listed as its `duplicates`;
4. what was new: each article's sentences (its first `max_sentences`) are embedded
   with the question; going in date order, the sentence chosen is the one most like
   the question and least like anything the earlier articles said (maximal marginal
   relevance, weight `novelty_weight` on the second).

UI-free: the CLI and the chat render a `Timeline` through `assistant.render`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Sequence

import numpy as np

from assistant.answer.types import Citation
from assistant.retriever import Filters, Hit, Retriever
from assistant.stories import key_terms
from index.sentences import sentence_spans


@dataclass(frozen=True)
class TimelineSettings:
    pool: int = 30
    """Articles searched for candidates."""
    relative_relevance: float = 0.9
    """Outside the question's story, an article stays when its best passage's cosine to
    the question is at least this fraction of the best article's (bench_timeline.py)."""
    use_story: bool = True
    """Keep every article of the question's story group, whatever its cosine."""
    fold_days: int = 2
    """Copies with the same title words at most this many days apart are one line."""
    novelty_weight: float = 0.3
    """MMR: score = (1 - w) * cos(sentence, question) - w * max cos(sentence, earlier articles' sentences)."""
    max_sentences: int = 30
    """Sentences read per article (news says what is new near the top)."""
    min_chars: int = 40
    """Shorter sentences (captions, datelines) are not chosen."""


@dataclass(frozen=True)
class TimelineEntry:
    date: str | None
    source: str
    title: str
    file: str
    article_id: str
    url: str
    sentence: str  # == article text[start:end]
    start: int
    end: int
    relevance: float  # cosine of the article's best passage to the question
    in_story: bool  # in the question's story group
    chunk_id: int
    duplicates: tuple[str, ...] = ()  # files of copies folded into this line

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["duplicates"] = list(self.duplicates)
        return d

    def citation(self, n: int) -> Citation:
        """The sentence as a citation, for opening the article at it."""
        return Citation(n=n, article_id=self.article_id, file=self.file, title=self.title, date=self.date,
                        source=self.source, url=self.url, quote=self.sentence, start=self.start, end=self.end,
                        chunk_id=self.chunk_id)


@dataclass
class Timeline:
    query: str
    as_of: date
    entries: list[TimelineEntry] = field(default_factory=list)
    filters: str = "none"  # `Filters.describe()` of the search
    candidates: int = 0  # articles considered before the cut-off
    generation: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "query": self.query, "as_of": self.as_of.isoformat(), "generation": self.generation,
            "filters": self.filters, "candidates": self.candidates,
            "entries": [e.as_json() for e in self.entries],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Timeline":
        """Back from `as_json` (a saved conversation)."""
        entries = [TimelineEntry(**{**e, "duplicates": tuple(e.get("duplicates", ()))}) for e in d["entries"]]
        return cls(d["query"], date.fromisoformat(d["as_of"]), entries, d.get("filters", "none"),
                   d.get("candidates", 0), d.get("generation"))


def choose(hits: list[Hit], settings: TimelineSettings) -> list[Hit]:
    """The measured cut-off (module docstring, step 2): one hit per article."""
    firsts: list[Hit] = []
    seen: set[str] = set()
    for h in hits:
        if h.article_id not in seen:
            seen.add(h.article_id)
            firsts.append(h)
    if not firsts:
        return []
    story = firsts[0].story
    best = max(h.dense for h in firsts)
    floor = settings.relative_relevance * best if best > 0 else float("inf")
    return [h for h in firsts
            if (settings.use_story and story >= 0 and h.story == story) or h.dense >= floor or h is firsts[0]]


def _title_key(title: str) -> frozenset[str]:
    return frozenset(key_terms(title))


def _days_apart(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days)


def fold_copies(hits: list[Hit], fold_days: int) -> list[tuple[Hit, tuple[str, ...]]]:
    """Hits (in relevance order) with the files folded into each: the retriever's
    near-identical passages, and articles with the same title words dated close."""
    out: list[tuple[Hit, list[str]]] = []
    keys: list[frozenset[str]] = []
    for h in hits:
        key = _title_key(h.title)
        home = None
        for i, (kept, _) in enumerate(out):
            apart = _days_apart(h.date, kept.date)
            if key and key == keys[i] and apart is not None and apart <= fold_days:
                home = i
                break
        if home is None:
            out.append((h, list(h.duplicates)))
            keys.append(key)
        else:
            out[home][1].extend([h.file, *h.duplicates])
    return [(h, tuple(dict.fromkeys(d))) for h, d in out]


def _date_order(h: Hit) -> tuple[int, str, str]:
    # Undated articles last; same-day ones by file name, so the order is stable.
    return (0, h.date, h.file) if h.date else (1, "", h.file)


def build_timeline(
    query: str,
    retriever: Retriever,
    as_of: date,
    filters: Filters = Filters(),
    settings: TimelineSettings = TimelineSettings(),
) -> Timeline:
    result = retriever.search(query, k=settings.pool, as_of=as_of, filters=filters)
    timeline = Timeline(query, result.as_of, filters=filters.describe(), generation=retriever.store.manifest.generation)
    candidates = {h.article_id for h in result.hits}
    timeline.candidates = len(candidates)
    kept = fold_copies(choose(result.hits, settings), settings.fold_days)
    if not kept:
        return timeline
    in_story_number = result.hits[0].story
    kept.sort(key=lambda pair: _date_order(pair[0]))
    store = retriever.store
    texts = [store.article_text(h.article_id) for h, _ in kept]
    # Text addressed to AI assistants (index/injection.py) is never a line's sentence.
    flags = store.flags(h.article_id for h, _ in kept)
    flagged = [[(f.start, f.end) for f in flags.get(h.article_id, []) if f.field == "text"] for h, _ in kept]
    spans = [_candidate_spans(text, h.title, settings, avoid)
             for (h, _), text, avoid in zip(kept, texts, flagged)]
    flat = [text[s:e] for text, sp in zip(texts, spans) for s, e in sp]
    vectors = retriever.embedder.embed([query, *flat]) if flat else np.zeros((1, 1), dtype=np.float32)
    q, sentence_vectors = vectors[0], vectors[1:]
    w = settings.novelty_weight
    said = np.zeros((0, sentence_vectors.shape[1] if len(flat) else 1), dtype=np.float32)
    at = 0
    for (h, dups), text, sp in zip(kept, texts, spans):
        own = sentence_vectors[at : at + len(sp)]
        at += len(sp)
        if len(sp):
            relevance = own @ q
            redundancy = (own @ said.T).max(axis=1) if len(said) else np.zeros(len(sp))
            pick = int(np.argmax((1 - w) * relevance - w * redundancy))
            start, end = sp[pick]
            said = np.vstack([said, own])
        else:  # no sentence long enough: the passage that made it rank
            start, end = h.start, h.end
        timeline.entries.append(TimelineEntry(
            date=h.date, source=h.source, title=h.title, file=h.file, article_id=h.article_id, url=h.url,
            sentence=text[start:end] if text else h.text, start=start, end=end, relevance=round(h.dense, 4),
            in_story=in_story_number >= 0 and h.story == in_story_number, chunk_id=h.chunk_id, duplicates=dups,
        ))
    return timeline


def _candidate_spans(text: str, title: str, settings: TimelineSettings,
                     avoid: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """The article's first sentences that could say what is new (not the title again,
    not a short caption or dateline, nothing that overlaps a span in `avoid`)."""
    out = []
    for s, e in sentence_spans(text):
        if any(a < e and s < b for a, b in avoid):
            continue
        if e - s >= settings.min_chars and text[s:e].strip() != title.strip():
            out.append((s, e))
            if len(out) >= settings.max_sentences:
                break
    return out
