"""Finding the passages that answer a question: dense (FAISS) and keyword (BM25)
scores fused, then ranked by article, dated, de-duplicated and diversified.

Pipeline for one query over the live generation:
1. eligibility: articles dated after the as-of date are out, as are those outside the
   filters (date range, outlet, file pattern);
2. candidates: the best `candidates` eligible chunks by dense similarity (FAISS, with
   the eligibility applied inside the search: a scan rescored exactly below the IVF
   threshold of `index.ann`) and the best by BM25; only their union is scored further;
3. fusion: reciprocal-rank fusion of the two lists (`assistant.candidates`), with the
   dense score as tie-breaker (see `fuse`);
4. time: a question's time cue ("this week", "in March") boosts articles in its
   window; without a cue, a mild recency prior relative to the as-of date applies;
5. articles: a chunk's article is ranked by its best chunk, so results are one passage
   per article first (a second passage of an article only after every other article);
6. stories: the leading articles are grouped into stories (`assistant.stories`);
   within a story the report the question asks for takes the story's best place (the
   newest for a question about the current state of something, the one inside the
   named time for "in March"); a story's further reports can be made to count for
   less (`story_repeat_weight`, off by default: see the README's benchmark);
7. duplicates: passages nearly identical to a better hit (a syndicated wire story in
   several files) are folded into that hit's `duplicates`.

The passage an answer is read from is chosen afterwards, per article and within a token
budget, by `assistant.context.build_context`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Sequence

import numpy as np

from assistant.candidates import Candidates, rank_rows, top_rows
from assistant.stories import Profile, StoryArticle, StorySettings, TermStats, group_stories, profile_text
from assistant.timecues import TimeWindow, find_time_window, question_time_kind
from index.embedder import Embedder
from index.backend import StoreBackend, Where, path_matches
from index.store import ArticleRecord, ChunkRecord

RRF_K = 60
TERM_SAMPLE = 20_000
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
    # Rows taken from each ranking (dense, BM25) per query, at least `_window(k)`.
    candidates: int = 1000


class Retriever:
    def __init__(self, store: StoreBackend, embedder: Embedder, settings: RetrieverSettings = RetrieverSettings()) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        table = store.article_table()
        ids = table.ids
        self._article_ids = ids
        self._article_pos = {aid: i for i, aid in enumerate(ids)}
        self._row_article = table.chunk_article
        # Days since epoch per article; undated articles get NaN and no time preference.
        self._article_day = np.array(
            [date.fromisoformat(d).toordinal() if d else np.nan for d in table.dates], dtype=np.float64
        )
        self._article_source = [s.lower() for s in table.sources]
        self._article_path = table.paths
        self._term_stats: TermStats | None = None
        self._profiles: dict[int, Profile] = {}
        self._records: dict[str, ArticleRecord] = {}
        self._memo: dict[tuple, object] = {}

    def chunks_of_article(self, article_id: str) -> list[ChunkRecord]:
        """The article's chunks in text order."""
        return self.store.chunks_of(article_id)

    def _record(self, article_id: str) -> ArticleRecord:
        record = self._records.get(article_id)
        if record is None:
            record = self.store.article(article_id)
            assert record is not None  # the article of a chunk of this generation
            if len(self._records) >= 4096:  # a long chat meets a bounded number of articles
                self._records.clear()
            self._records[article_id] = record
        return record

    # -- stories --------------------------------------------------------------------
    def lead_text(self, a: int, chars: int = StorySettings.lead_chars) -> str:
        """The start of article `a`'s text, from its first chunks."""
        return next((lead for _, _, lead in self.store.leads(chars, [self._article_ids[a]])), "")

    def term_stats(self) -> TermStats:
        """Rarity of story terms over the store's articles, computed once per generation:
        over all of them up to `TERM_SAMPLE`, over an even sample of about that many
        beyond (a rarity is a ratio, which a sample of 20,000 estimates well; reading
        every lead of 76,000 articles took 6 s)."""
        if self._term_stats is None:
            every = max(1, len(self._article_ids) // TERM_SAMPLE)
            leads = self.store.leads(StorySettings.lead_chars, every=every)
            self._term_stats = TermStats.from_texts(profile_text(title, lead) for _, title, lead in leads)
        return self._term_stats

    def _load_profiles(self, articles: Sequence[int]) -> None:
        missing = [self._article_ids[a] for a in articles if a not in self._profiles]
        if not missing:
            return
        stats = self.term_stats()
        for article_id, title, lead in self.store.leads(StorySettings.lead_chars, missing):
            self._profiles[self._article_pos[article_id]] = Profile.of(profile_text(title, lead), stats)

    def profile(self, a: int) -> Profile:
        self._load_profiles([a])
        return self._profiles.get(a) or Profile.of("", self.term_stats())

    def story_article(self, a: int) -> StoryArticle:
        day = self._article_day[a]
        return StoryArticle(self._article_ids[a], None if np.isnan(day) else date.fromordinal(int(day)), self.profile(a))

    # -- eligibility ---------------------------------------------------------------
    def _cached(self, key: tuple, make):
        """Per-query arrays that depend only on the as-of date, the filters or the time
        window: a chat asks many questions with the same ones, and at a million chunks
        each costs milliseconds to make."""
        value = self._memo.get(key)
        if value is None:
            if len(self._memo) >= 16:
                self._memo.clear()
            value = self._memo[key] = make()
        return value

    def _eligibility(self, as_of: date, filters: Filters) -> tuple[np.ndarray, int, np.ndarray, int]:
        """Eligible articles, how many are dated after `as_of`, eligible chunk rows and
        their count."""
        def make() -> tuple[np.ndarray, int, np.ndarray, int]:
            ok, future = self._eligible_articles(as_of, filters)
            rows = ok[self._row_article]
            return ok, future, rows, int(rows.sum())

        return self._cached(("eligible", as_of, filters), make)

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
            ok &= np.array([path_matches(p, pat) for p in self._article_path], dtype=bool)
        return ok, int(future.sum())

    # -- scoring ----------------------------------------------------------------------
    def _candidates(self, query_vector: np.ndarray, eligible_rows: np.ndarray, keyword: np.ndarray,
                    n: int, where: Where | None = None) -> Candidates:
        """The union of the `n` best eligible rows by dense similarity (the eligibility
        applied inside the search) and the `n` best by BM25, with both scores and both
        ranks."""
        found = self.store.dense_search(query_vector, n, eligible_rows, where=where)
        dense_rows = found.rows
        positive = np.flatnonzero(eligible_rows & (keyword > 0)) if keyword.size else np.zeros(0, dtype=np.int64)
        kw_rows = top_rows(positive, keyword[positive], n)
        rows = np.union1d(dense_rows, kw_rows).astype(np.int64)  # row order: ties keep it
        dense = np.empty(len(rows), dtype=np.float32)
        in_dense = np.zeros(len(rows), dtype=bool)
        in_dense[np.searchsorted(rows, dense_rows)] = True
        dense[in_dense] = found.scores[np.argsort(dense_rows)]
        if not in_dense.all():  # the tie-breaker and `Hit.dense` of keyword-only rows
            dense[~in_dense] = self.store.dense_scores_at(query_vector, rows[~in_dense])
        kw = keyword[rows] if keyword.size else np.zeros(len(rows), dtype=np.float32)
        return Candidates(rows, dense, kw, rank_rows(rows, dense_rows), rank_rows(rows, kw_rows))

    def fuse(self, c: Candidates) -> np.ndarray:
        """Reciprocal-rank fusion: 1/(k + rank) per list, weighted; nothing from a list a
        row is not in (a chunk with no query word is in no BM25 list)."""
        s = self.settings
        fused = s.dense_weight / (s.rrf_k + c.dense_rank) + s.keyword_weight / (s.rrf_k + c.keyword_rank)
        # Rank ties (1st/2nd vs 2nd/1st) are common; the dense score breaks them.
        return fused + 1e-7 * np.clip(c.dense, -1.0, 1.0)

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

    def _with_prior(self, fused: np.ndarray, prior: np.ndarray) -> np.ndarray:
        if self.settings.prior_mode == "multiply":
            # The prior scales relevance instead of adding to it: a fresh article that
            # barely matches cannot overtake an older one that clearly does.
            return fused * (1.0 + self.settings.rrf_k * prior)
        return fused + prior

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
        _, future, eligible_rows, eligible = self._eligibility(as_of, filters)
        result = SearchResult(query, as_of, [], window, filters, future)
        if not len(self._row_article) or not query.strip() or not eligible:
            return result
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        where = _where(as_of, filters)
        keyword = self.store.keyword().scores(query, where)
        result.keyword_scores = keyword
        prior = self._cached(("prior", as_of, window), lambda: self._time_prior(as_of, window))
        kind = question_time_kind(query, window, as_of)
        c = self._candidates(query_vector, eligible_rows, keyword, max(self.settings.candidates, _window(k)), where)
        score = self._with_prior(self.fuse(c), prior[self._row_article[c.rows]])
        result.hits = self._select(c.rows, score, c.dense, c.keyword, k, kind, window)
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
        self._load_profiles(ranked)  # in one read of the store, not one per article
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
        self, rows: np.ndarray, score: np.ndarray, dense: np.ndarray, keyword: np.ndarray, k: int,
        kind: str = "any", window: TimeWindow | None = None,
    ) -> list[Hit]:
        """Best chunk per article in article order, duplicates folded, then second chunks.
        `rows` are the candidate chunk rows; the other arrays are aligned with them."""
        s = self.settings
        order = np.argsort(-score, kind="stable")
        order = order[np.isfinite(score[order])]
        articles = self._row_article[rows]
        best: dict[int, int] = {}  # article -> candidate position
        seconds: dict[int, int] = {}
        for i in order[: _window(k)]:
            a = int(articles[i])
            if a not in best:
                best[a] = int(i)
            elif a not in seconds:
                seconds[a] = int(i)
        # An article is worth its best chunk plus a little for a second good one.
        art_score = {a: score[i] + s.second_chunk_weight * (score[seconds[a]] if a in seconds else 0.0) for a, i in best.items()}
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
            i = best[a]
            hit = self._hit(int(rows[i]), art_score[a], float(dense[i]), float(keyword[i]))
            if a in story_of:
                hit = replace(hit, story=story_of[a])
            sh = _shingles(hit.text)
            dup_of = next((j for j, other in enumerate(shingles) if _jaccard(sh, other) >= DUPLICATE_JACCARD), None)
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
            shown = {self._article_pos[a] for a in spans}
            for i in order:
                if len(hits) >= k:
                    break
                a = int(articles[i])
                if a not in shown:
                    continue
                extra = self._hit(int(rows[i]), float(score[i]), float(dense[i]), float(keyword[i]))
                if extra.chunk_id in taken:
                    continue
                if any(min(extra.end, e) - max(extra.start, b) > 0.5 * (extra.end - extra.start) for b, e in spans[extra.article_id]):
                    continue
                hits.append(replace(extra, story=story_of[a]) if a in story_of else extra)
                spans[extra.article_id].append((extra.start, extra.end))
                taken.add(extra.chunk_id)
        return hits

    def _hit(self, row: int, score: float, dense: float, keyword: float) -> Hit:
        (c,) = self.store.chunks([int(self.store.chunk_ids[row])])
        a = self._record(c.article_id)
        return Hit(
            chunk_id=c.id, article_id=a.id, file=a.path, title=a.title, date=a.date, source=a.source,
            url=a.url, start=c.start, end=c.end, text=c.text, score=float(score), dense=dense, keyword=keyword,
        )

    def embed_queries(self, queries: Sequence[str]) -> np.ndarray:
        return self.embedder.embed(list(queries))


def _where(as_of: date, filters: Filters) -> Where:
    """The eligibility as conditions, for stores whose engine filters by expression."""
    return Where(
        as_of_day=as_of.toordinal(),
        day_from=filters.date_from.toordinal() if filters.date_from else None,
        day_to=filters.date_to.toordinal() if filters.date_to else None,
        sources=tuple(sorted({s.lower() for s in filters.sources})), path_glob=filters.path_glob,
    )


def _window(k: int) -> int:
    """How many of the best rows the selection reads for its articles (best and second
    chunks, the story pool)."""
    return max(400, 40 * k)


_TOKEN = re.compile(r"\w+")


def _shingles(text: str, n: int = 3) -> set[str]:
    words = _TOKEN.findall(text.lower())
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
