"""Finding the passages that answer a question: dense (FAISS) and keyword (BM25)
scores fused, then ranked by article, dated, de-duplicated and diversified.

Pipeline for one query, over every chunk of the live generation:
1. eligibility: articles dated after the as-of date are out, as are those outside the
   filters (date range, outlet, file pattern);
2. fusion: reciprocal-rank fusion of the dense and BM25 rankings, with the two raw
   scores as tie-breakers (see `fuse`);
3. time: a question's time cue ("this week", "in March") boosts articles in its
   window; without a cue, a mild recency prior relative to the as-of date applies;
4. articles: a chunk's article is ranked by its best chunk, so results are one passage
   per article first (a second passage of an article only after every other article);
5. stories: the leading articles are grouped into stories (`assistant.stories`);
   within a story the report the question asks for takes the story's best place (the
   newest for a question about the current state of something, the one inside the
   named time for "in March"); a story's further reports can be made to count for
   less (`story_repeat_weight`, off by default: see the README's benchmark);
6. duplicates: passages nearly identical to a better hit (a syndicated wire story in
   several files) are folded into that hit's `duplicates`.

The passage an answer is read from is chosen afterwards, per article and within a token
budget, by `assistant.context.build_context`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Sequence

import numpy as np

from assistant.stories import Profile, StoryArticle, StorySettings, TermStats, group_stories, profile_text
from assistant.timecues import TimeWindow, find_time_window, question_time_kind
from index.embedder import Embedder
from index.store import ChunkRecord, Store

RRF_K = 60
DUPLICATE_JACCARD = 0.8


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    sources: tuple[str, ...] = ()  # outlet names, case-insensitive
    path_glob: str | None = None  # e.g. "2022/*" or "*nato*"

    def describe(self) -> str:
        parts = []
        if self.date_from or self.date_to:
            parts.append(f"{self.date_from or '…'} to {self.date_to or '…'}")
        if self.sources:
            parts.append("outlet " + ", ".join(self.sources))
        if self.path_glob:
            parts.append(f"files {self.path_glob}")
        return "; ".join(parts) or "none"


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    article_id: str
    file: str
    title: str
    date: str | None
    source: str
    url: str
    start: int
    end: int
    text: str
    score: float
    dense: float = 0.0
    keyword: float = 0.0
    duplicates: tuple[str, ...] = ()
    story: int = -1  # hits with the same number report one story (`assistant.stories`); -1: not grouped

    def as_json(self) -> dict:
        return {
            "file": self.file, "title": self.title, "date": self.date, "source": self.source,
            "chunk_id": self.chunk_id, "start": self.start, "end": self.end, "text": self.text,
            "score": round(self.score, 6), "url": self.url, "article_id": self.article_id,
            "duplicates": list(self.duplicates), "story": self.story,
        }


@dataclass
class SearchResult:
    query: str
    as_of: date
    hits: list[Hit]
    window: TimeWindow | None = None
    filters: Filters = field(default_factory=Filters)
    excluded_future: int = 0  # articles left out for being dated after as_of
    # BM25 score of every chunk row for the query, kept so that `build_context` can
    # choose passages without scoring the corpus again.
    keyword_scores: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class RetrieverSettings:
    """Knobs measured with bench/bench_retrieval.py; defaults are the best found."""

    rrf_k: int = RRF_K
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    window_boost: float = 1.0  # added (in units of 1/rrf_k) for a strong time cue
    soft_window_boost: float = 0.2
    recency_half_life_days: float = 60.0
    recency_weight: float = 0.35
    second_chunk_weight: float = 0.1
    prior_mode: str = "multiply"  # or "add"
    stories: bool = True  # group the leading articles into stories (see `_story_order`)
    freshness: bool = True  # for "current" questions, a story's newest report goes first
    fresh_gap_days: int = 7  # reports this much older than a story's newest are superseded
    # A story's n-th report counts weight**(n-1) of the score it is handed. 1.0 (off): on the
    # developer set any value below cost gold-article hits (README); `build_context` keeps
    # one story from filling the answerer's context instead.
    story_repeat_weight: float = 1.0
    story_pool: int = 30  # how many leading articles are grouped (at least 3*k)
    story_similarity: float = StorySettings.min_similarity
    story_span_days: int = StorySettings.span_days


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, settings: RetrieverSettings = RetrieverSettings()) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        articles = store.articles()
        self._articles = {a.id: a for a in articles}
        chunks = store.chunks()  # in id order == row order
        self._chunks = chunks
        ids = [a.id for a in articles]
        pos = {aid: i for i, aid in enumerate(ids)}
        self._article_ids = ids
        self._row_article = np.array([pos[c.article_id] for c in chunks], dtype=np.int64)
        # Days since epoch per article; undated articles get NaN and no time preference.
        self._article_day = np.array(
            [date.fromisoformat(a.date).toordinal() if a.date else np.nan for a in articles], dtype=np.float64
        )
        self._article_source = [a.source.lower() for a in articles]
        self._article_path = [a.path for a in articles]
        # Chunk rows of each article in text order, for passages and story profiles.
        self._article_rows: list[list[int]] = [[] for _ in ids]
        for row in np.argsort([c.ordinal for c in chunks], kind="stable"):
            self._article_rows[self._row_article[row]].append(int(row))
        self._article_pos = pos
        self._term_stats: TermStats | None = None
        self._profiles: dict[int, Profile] = {}

    def chunks_of_article(self, article_id: str) -> list[ChunkRecord]:
        """The article's chunks in text order, from memory (`ChunkRecord`s)."""
        a = self._article_pos.get(article_id)
        return [] if a is None else [self._chunks[r] for r in self._article_rows[a]]

    # -- stories --------------------------------------------------------------------
    def lead_text(self, a: int, chars: int = StorySettings.lead_chars) -> str:
        """The start of article `a`'s text, from its first chunks (no database read)."""
        parts: list[str] = []
        n = 0
        for row in self._article_rows[a]:
            parts.append(self._chunks[row].text)
            n += len(parts[-1])
            if n >= chars:
                break
        return " ".join(parts)[:chars]

    def _profile_source(self, a: int) -> str:
        return profile_text(self._articles[self._article_ids[a]].title, self.lead_text(a))

    def term_stats(self) -> TermStats:
        """Rarity of story terms over the whole store, computed once (tens of ms)."""
        if self._term_stats is None:
            self._term_stats = TermStats.from_texts(self._profile_source(a) for a in range(len(self._article_ids)))
        return self._term_stats

    def profile(self, a: int) -> Profile:
        if a not in self._profiles:
            self._profiles[a] = Profile.of(self._profile_source(a), self.term_stats())
        return self._profiles[a]

    def story_article(self, a: int) -> StoryArticle:
        day = self._article_day[a]
        return StoryArticle(self._article_ids[a], None if np.isnan(day) else date.fromordinal(int(day)), self.profile(a))

    # -- eligibility ---------------------------------------------------------------
    def _eligible_articles(self, as_of: date, filters: Filters) -> tuple[np.ndarray, int]:
        day = self._article_day
        ok = np.ones(len(day), dtype=bool)
        with np.errstate(invalid="ignore"):
            future = day > as_of.toordinal()
        ok &= ~future
        if filters.date_from:
            ok &= ~(day < filters.date_from.toordinal())
        if filters.date_to:
            ok &= ~(day > filters.date_to.toordinal())
        if filters.date_from or filters.date_to:
            ok &= ~np.isnan(day)  # a date filter wants dated articles
        if filters.sources:
            wanted = {s.lower() for s in filters.sources}
            ok &= np.array([s in wanted for s in self._article_source], dtype=bool)
        if filters.path_glob:
            pat = filters.path_glob
            ok &= np.array([fnmatch.fnmatch(p, pat) or fnmatch.fnmatch(p.rsplit("/", 1)[-1], pat)
                            for p in self._article_path], dtype=bool)
        return ok, int(future.sum())

    # -- scoring ----------------------------------------------------------------------
    def fuse(self, dense: np.ndarray, keyword: np.ndarray, eligible_rows: np.ndarray) -> np.ndarray:
        """Reciprocal-rank fusion over eligible rows: 1/(k + rank) per ranking, weighted.
        A chunk with no query word gets no keyword contribution at all."""
        s = self.settings
        fused = np.zeros(len(dense), dtype=np.float64)
        rows = np.flatnonzero(eligible_rows)
        if rows.size == 0:
            return fused
        for scores, weight, needs_positive in ((dense, s.dense_weight, False), (keyword, s.keyword_weight, True)):
            if scores.size == 0 or weight == 0:
                continue
            sub = scores[rows]
            order = np.argsort(-sub, kind="stable")
            ranks = np.empty(len(order), dtype=np.float64)
            ranks[order] = np.arange(1, len(order) + 1)
            contrib = weight / (s.rrf_k + ranks)
            if needs_positive:
                contrib[sub <= 0] = 0.0
            fused[rows] += contrib
        # Rank ties (1st/2nd vs 2nd/1st) are common; the dense score breaks them.
        if dense.size:
            fused[rows] += 1e-7 * np.clip(dense[rows], -1.0, 1.0)
        return fused

    def _time_prior(self, as_of: date, window: TimeWindow | None) -> np.ndarray:
        """Per-article additive prior in the same units as RRF (1/rrf_k)."""
        s = self.settings
        day = self._article_day
        unit = 1.0 / s.rrf_k
        prior = np.zeros(len(day), dtype=np.float64)
        dated = ~np.isnan(day)
        age = np.where(dated, as_of.toordinal() - np.nan_to_num(day), 0.0)
        prior[dated] += s.recency_weight * unit * np.power(0.5, np.maximum(age[dated], 0) / s.recency_half_life_days)
        if window is not None:
            inside = dated & (day >= window.start.toordinal()) & (day <= window.end.toordinal())
            boost = s.window_boost if window.strength == "strong" else s.soft_window_boost
            prior[inside] += boost * unit
        return prior

    def search(
        self,
        query: str,
        k: int = 5,
        as_of: date | None = None,
        filters: Filters = Filters(),
        query_vector: np.ndarray | None = None,
    ) -> SearchResult:
        as_of = as_of or date.today()
        window = find_time_window(query, as_of)
        ok_articles, future = self._eligible_articles(as_of, filters)
        result = SearchResult(query, as_of, [], window, filters, future)
        if not self._chunks or not query.strip():
            return result
        eligible_rows = ok_articles[self._row_article]
        if not eligible_rows.any():
            return result
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        dense = self.store.dense_scores(query_vector)
        keyword = self.store.keyword().scores(query)
        result.keyword_scores = keyword
        fused = self.fuse(dense, keyword, eligible_rows)
        prior = self._time_prior(as_of, window)
        if self.settings.prior_mode == "multiply":
            # The prior scales relevance instead of adding to it: a fresh article that
            # barely matches cannot overtake an older one that clearly does.
            score = fused * (1.0 + self.settings.rrf_k * prior[self._row_article])
        else:
            score = fused + prior[self._row_article]
        score[~eligible_rows] = -np.inf
        kind = question_time_kind(query, window, as_of)
        result.hits = self._select(score, dense, keyword, k, kind, window)
        return result

    def _story_order(
        self, ranked: list[int], art_score: dict[int, float], kind: str, window: TimeWindow | None
    ) -> tuple[list[int], dict[int, float], dict[int, int]]:
        """Regroup the leading articles by story (see the module docstring, step 5).

        A story keeps the places its members earned: its scores, best first, are handed
        out again in the order the question asks for, so the story's best place goes to
        the report that should be read first and no article outside the story moves
        relative to the story's best. Reports after a story's first count
        `story_repeat_weight`**(n-1) of the score they were handed."""
        s = self.settings
        settings = StorySettings(min_similarity=s.story_similarity, span_days=s.story_span_days)
        stories = group_stories([self.story_article(a) for a in ranked], settings)
        pos = self._article_pos
        new_score: dict[int, float] = {}
        story_of: dict[int, int] = {}
        for number, story in enumerate(stories):
            members = [pos[m.article_id] for m in story.members]  # relevance order
            order = list(members)
            if kind == "anchored" and window is not None:
                def outside(a: int) -> bool:
                    d = self._article_day[a]
                    return not (window.start.toordinal() <= d <= window.end.toordinal())

                order.sort(key=outside)
            elif kind == "current" and s.freshness:
                # Newest first, by weeks behind the story's newest report: reports of the
                # same week describe the same state and keep their relevance order; a
                # report a week or more older has been superseded. Undated ones go last.
                days = [self._article_day[a] for a in members]
                newest = np.nanmax(days) if not np.all(np.isnan(days)) else np.nan
                def weeks_behind(a: int) -> float:
                    d = self._article_day[a]
                    return np.inf if np.isnan(d) else (newest - d) // s.fresh_gap_days

                order.sort(key=weeks_behind)
            scores = sorted((art_score[a] for a in members), reverse=True)
            for n, (a, sc) in enumerate(zip(order, scores)):
                new_score[a] = sc * s.story_repeat_weight**n
                story_of[a] = number
        return sorted(ranked, key=lambda a: -new_score[a]), new_score, story_of

    def _select(
        self, score: np.ndarray, dense: np.ndarray, keyword: np.ndarray, k: int,
        kind: str = "any", window: TimeWindow | None = None,
    ) -> list[Hit]:
        """Best chunk per article in article order, duplicates folded, then second chunks."""
        s = self.settings
        order = np.argsort(-score, kind="stable")
        order = order[np.isfinite(score[order])]
        best: dict[int, int] = {}
        seconds: dict[int, int] = {}
        for row in order[: max(400, 40 * k)]:
            a = int(self._row_article[row])
            if a not in best:
                best[a] = int(row)
            elif a not in seconds:
                seconds[a] = int(row)
        # An article is worth its best chunk plus a little for a second good one.
        art_score = {a: score[r] + s.second_chunk_weight * (score[seconds[a]] if a in seconds else 0.0) for a, r in best.items()}
        ranked = sorted(best, key=lambda a: -art_score[a])
        story_of: dict[int, int] = {}
        if s.stories and ranked:
            pool = max(s.story_pool, 3 * k)
            head, art_score_head, story_of = self._story_order(ranked[:pool], art_score, kind, window)
            art_score.update(art_score_head)
            ranked = sorted(head + ranked[pool:], key=lambda a: -art_score[a])
        hits: list[Hit] = []
        shingles: list[set[str]] = []
        for a in ranked:
            hit = self._hit(best[a], art_score[a], dense, keyword)
            if a in story_of:
                hit = replace(hit, story=story_of[a])
            sh = _shingles(hit.text)
            dup_of = next((i for i, other in enumerate(shingles) if _jaccard(sh, other) >= DUPLICATE_JACCARD), None)
            if dup_of is not None:
                hits[dup_of] = replace(hits[dup_of], duplicates=hits[dup_of].duplicates + (hit.file,))
                continue
            hits.append(hit)
            shingles.append(sh)
            if len(hits) >= k:
                break
        if len(hits) < k:
            # Few articles: more passages of the same articles, best first, skipping any
            # that mostly repeat a passage already shown (neighbours share a sentence).
            spans: dict[str, list[tuple[int, int]]] = {}
            for h in hits:
                spans.setdefault(h.article_id, []).append((h.start, h.end))
            taken = {h.chunk_id for h in hits}
            for row in order:
                if len(hits) >= k:
                    break
                c = self._chunks[int(row)]
                if c.id in taken or c.article_id not in spans:
                    continue
                if any(min(c.end, e) - max(c.start, s) > 0.5 * (c.end - c.start) for s, e in spans[c.article_id]):
                    continue
                extra = self._hit(int(row), float(score[row]), dense, keyword)
                a = int(self._row_article[row])
                hits.append(replace(extra, story=story_of[a]) if a in story_of else extra)
                spans[c.article_id].append((c.start, c.end))
                taken.add(c.id)
        return hits

    def _hit(self, row: int, score: float, dense: np.ndarray, keyword: np.ndarray) -> Hit:
        c = self._chunks[row]
        a = self._articles[c.article_id]
        return Hit(
            chunk_id=c.id, article_id=a.id, file=a.path, title=a.title, date=a.date, source=a.source,
            url=a.url, start=c.start, end=c.end, text=c.text, score=float(score),
            dense=float(dense[row]) if dense.size else 0.0, keyword=float(keyword[row]) if keyword.size else 0.0,
        )

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(list(queries))


_TOKEN = re.compile(r"\w+")


def _shingles(text: str, n: int = 3) -> set[str]:
    words = _TOKEN.findall(text.lower())
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
