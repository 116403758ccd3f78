"""The Milvus store: the same generations as the embedded store, in Milvus collections.

A generation N of the index named P (setting `milvus_collection`) is three collections:

    P_g00000N_chunks    one row per chunk: id (the chunk id), article, span, text, the
                        text as BM25 reads it (`bm25`, analysed, with its sparse BM25
                        vector made by the engine), the dense vector, and the article's
                        day, outlet and path for filter expressions
    P_g00000N_articles  one row per article and part: metadata, and the cleaned text in
                        parts of PART_CHARS characters (a VARCHAR holds at most 65,535
                        bytes; a part is at most 4 bytes a character under that)
    P_g00000N_meta      the manifest and the next chunk id; made last

and the alias P names the live generation's meta collection. A build fills a new
generation beside the live one and only then moves the alias (the commit point), so a
reader never sees half of an update; it reads the collections of the generation the
alias named when it opened. Collections a killed build left are dropped by the next.

BM25 text: the engine's analyser (Milvus Lite has a plain word tokenizer, no stemmer)
would read words otherwise than the embedded store, so the `bm25` field holds the
text already tokenized by `index.keyword.tokenize` (stemmed, stop words out) and
queries are tokenized the same way: both backends score the same terms, and a term's
document frequency is a TEXT_MATCH count.

What stays in the process (the documented limit): the chunk ids and each chunk's
article (12 bytes a chunk once the table is made), and per article its id, date,
outlet and path (`article_table`, about 150 bytes an article): about 3 GB for 10
million articles of 13 chunks (the README's "Scaling out"). Vectors, BM25 postings and
texts stay in the engine.
"""

from __future__ import annotations

import json
import re
from datetime import date
from types import SimpleNamespace
from typing import Iterable, Sequence

import numpy as np
import pymilvus  # noqa: F401  # the milvus extra; without it `index.backend` says how to install it

from index.ann import AnnSettings, DenseResult
from index.backend_types import StoreLocation, Where, path_matches
from index.errors import StoreCorruptError, StoreError, StoreMissingError
from index.injection import Flag, flags_of_article
from index.keyword import tokenize
from index.generation import Manifest, StoreSpec, check_spec
from index.milvus_engine import (
    QUERY_BATCH, collection_names, connect, engine_errors, iterate, live_generation_number, quoted, read_manifest,
)
from index.store import ArticleRecord, ArticleTable, ChunkRecord

PART_CHARS = 16_000
MAX_TOPK = 16_384  # Milvus's limit on a search's result size
# Rows fetched from each ranking (dense, BM25) per query: the retriever's own
# `candidates` (1000), which its fusion and article grouping were measured with. The
# engine returns them ranked; the retriever fuses, applies the time prior, groups by
# article and folds duplicates over them.
CANDIDATES = 1_000


class MilvusStore:
    """A read-only view of one generation in Milvus."""

    def __init__(self, location: StoreLocation, client, generation: int, manifest: Manifest) -> None:
        self.location = location
        self.client = client
        self.generation = generation
        self.manifest = manifest
        self.names = collection_names(location.collection, generation)
        self.root = location.root
        self._flags: dict[str, list[Flag]] = {}
        with engine_errors(location, "opening the index"):
            for name in self.names.values():
                if not client.has_collection(name):
                    raise StoreCorruptError(f"the Milvus index at {location.uri()} lacks {name}",
                                            hint="Run `assistant index --rebuild` to build it again.")
                client.load_collection(name)
            pairs = [(int(r["id"]), r["article_id"]) for r in iterate(client, self.names["chunks"], ["id", "article_id"])]
        pairs.sort()
        self.chunk_ids = np.array([p[0] for p in pairs], dtype=np.int64)
        self._chunk_article_ids = [p[1] for p in pairs]
        self._table: ArticleTable | None = None
        self._keyword = MilvusKeyword(self)

    @classmethod
    def open(cls, location: StoreLocation, spec: StoreSpec | None = None) -> "MilvusStore":
        client = connect(location)
        generation = live_generation_number(location, client)
        if generation is None:
            client.close()
            raise StoreMissingError(f"no index in Milvus at {location.uri()} ({location.collection}) yet")
        manifest = read_manifest(client, location, generation)
        check_spec(manifest, spec, location.root)
        return cls(location, client, generation, manifest)

    @classmethod
    def open_generation(cls, location: StoreLocation, generation: int) -> "MilvusStore | None":
        client = connect(location)
        if not client.has_collection(collection_names(location.collection, generation)["meta"]):
            client.close()
            return None
        return cls(location, client, generation, read_manifest(client, location, generation))

    def is_current(self) -> bool:
        try:
            return live_generation_number(self.location, self.client) == self.generation
        except StoreError:
            return False

    def check(self) -> None:
        with engine_errors(self.location, "checking the index"):
            count = self.client.query(self.names["chunks"], filter="", output_fields=["count(*)"])[0]["count(*)"]
        if count != self.manifest.chunks or len(self.chunk_ids) != count:
            raise StoreCorruptError(f"the Milvus index at {self.location.uri()} holds {count} chunks, its manifest {self.manifest.chunks}",
                                    hint="Run `assistant index --rebuild` to build it again.")

    def row_of(self, chunk_id: int) -> int:
        row = int(np.searchsorted(self.chunk_ids, chunk_id))
        if row >= len(self.chunk_ids) or self.chunk_ids[row] != chunk_id:
            raise KeyError(chunk_id)
        return row

    # -- eligibility as an expression ------------------------------------------------
    def expression(self, where: Where | None) -> str:
        if where is None:
            return ""
        parts = []
        if where.as_of_day is not None:
            parts.append(f"day <= {where.as_of_day}")  # undated articles have day -1
        if where.day_from is not None:
            parts.append(f"day >= {where.day_from}")
        if where.day_to is not None:
            parts.append(f"day >= 0 and day <= {where.day_to}")
        if where.sources:
            parts.append(f"source_key in {quoted(where.sources)}")
        if where.path_glob:
            # fnmatch is richer than Milvus's LIKE: the pattern is matched here against
            # the article paths and sent as the list of those that match.
            paths = sorted({p for p in self.article_table().paths if path_matches(p, where.path_glob)})
            parts.append(f"path in {quoted(paths)}")
        return " and ".join(f"({p})" for p in parts)

    # -- vectors and keywords --------------------------------------------------------
    def dense_search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None,
                     settings: AnnSettings = AnnSettings(), where: Where | None = None) -> DenseResult:
        empty = DenseResult(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if not len(self.chunk_ids) or k <= 0 or (allowed is not None and not allowed.any()):
            return empty
        q = np.asarray(query_vector, dtype=np.float32).ravel().tolist()
        with engine_errors(self.location, "searching"):
            found = self.client.search(self.names["chunks"], data=[q], anns_field="vector", limit=min(k, MAX_TOPK),
                                       filter=self.expression(where), output_fields=["id"],
                                       search_params={"metric_type": "IP"})[0]
        ids = np.array([int(h["id"]) for h in found], dtype=np.int64)
        scores = np.array([float(h["distance"]) for h in found], dtype=np.float32)
        rows = np.searchsorted(self.chunk_ids, ids)
        # With `where` the engine applied the eligibility; without it the mask filters
        # the engine's top k afterwards (fewer rows).
        if allowed is not None and len(rows):
            keep = allowed[rows]
            rows, scores = rows[keep], scores[keep]
        return DenseResult(rows.astype(np.int64), scores)

    def dense_scores_at(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        ids = self.chunk_ids[rows]
        if not len(ids):
            return np.zeros(0, dtype=np.float32)
        vectors: dict[int, list[float]] = {}
        with engine_errors(self.location, "reading vectors"):
            for i in range(0, len(ids), QUERY_BATCH):
                for r in self.client.query(self.names["chunks"], ids=[int(x) for x in ids[i:i + QUERY_BATCH]],
                                           output_fields=["id", "vector"]):
                    vectors[int(r["id"])] = r["vector"]
        matrix = np.array([vectors[int(i)] for i in ids], dtype=np.float32)
        return matrix @ np.asarray(query_vector, dtype=np.float32).ravel()

    def keyword(self) -> "MilvusKeyword":
        return self._keyword

    # -- metadata ----------------------------------------------------------------------
    def _query(self, kind: str, filter: str, fields: list[str]) -> list[dict]:
        """Every row matching `filter`: one call when they fit in one result (an
        article's chunks, a batch's leads), else the paging iterator (a whole scan)."""
        with engine_errors(self.location, "reading the index"):
            if filter:
                rows = self.client.query(self.names[kind], filter=filter, output_fields=fields, limit=MAX_TOPK)
                if len(rows) < MAX_TOPK:
                    return list(rows)
            return list(iterate(self.client, self.names[kind], fields, filter))

    def article_table(self) -> ArticleTable:
        if self._table is None:
            rows = sorted(self._query("articles", "part == 0", ["article_id", "date", "source", "path"]),
                          key=lambda r: r["article_id"])
            ids = [r["article_id"] for r in rows]
            pos = {a: i for i, a in enumerate(ids)}
            self._table = ArticleTable(
                ids=ids, dates=[r["date"] or None for r in rows], sources=[r["source"] for r in rows],
                paths=[r["path"] for r in rows],
                chunk_article=np.array([pos[a] for a in self._chunk_article_ids], dtype=np.int32),
            )
            self._chunk_article_ids = []  # a string per chunk: the array above replaces them
        return self._table

    def articles(self) -> list[ArticleRecord]:
        rows = self._query("articles", "part == 0", ARTICLE_FIELDS)
        return sorted((_article(r) for r in rows), key=lambda a: (a.path, a.id))

    def article(self, article_id: str) -> ArticleRecord | None:
        with engine_errors(self.location, "reading an article"):
            rows = self.client.query(self.names["articles"], ids=[part_key(article_id, 0)], output_fields=ARTICLE_FIELDS)
        return _article(rows[0]) if rows else None

    def article_text(self, article_id: str) -> str:
        rows = self._query("articles", f"article_id == {json.dumps(article_id)}", ["part", "text"])
        return "".join(r["text"] for r in sorted(rows, key=lambda r: r["part"]))

    def chunks(self, ids: Iterable[int] | None = None) -> list[ChunkRecord]:
        if ids is None:
            return sorted((_chunk(r) for r in self._query("chunks", "", CHUNK_FIELDS)), key=lambda c: c.id)
        wanted = [int(i) for i in ids]
        out: list[ChunkRecord] = []
        with engine_errors(self.location, "reading chunks"):
            for i in range(0, len(wanted), QUERY_BATCH):
                out += [_chunk(r) for r in self.client.query(self.names["chunks"], ids=wanted[i:i + QUERY_BATCH],
                                                             output_fields=CHUNK_FIELDS)]
        return out

    def chunks_of(self, article_id: str) -> list[ChunkRecord]:
        rows = self._query("chunks", f"article_id == {json.dumps(article_id)}", CHUNK_FIELDS)
        return sorted((_chunk(r) for r in rows), key=lambda c: c.ordinal)

    def leads(self, chars: int, article_ids: Iterable[str] | None = None, every: int = 1) -> list[tuple[str, str, str]]:
        """As the embedded store's, from each article's first eight chunks (the lead is
        within them in any real text)."""
        if article_ids is None:
            ids = self.article_table().ids[every - 1 :: every] if every > 1 else self.article_table().ids
        else:
            ids = list(article_ids)
        out: list[tuple[str, str, str]] = []
        for i in range(0, len(ids), QUERY_BATCH):
            part = ids[i:i + QUERY_BATCH]
            titles = {r["article_id"]: r["title"] for r in
                      self._query("articles", f"part == 0 and article_id in {quoted(part)}", ["article_id", "title"])}
            texts: dict[str, list[tuple[int, str]]] = {}
            for r in self._query("chunks", f"ordinal < 8 and article_id in {quoted(part)}", ["article_id", "ordinal", "text"]):
                texts.setdefault(r["article_id"], []).append((r["ordinal"], r["text"]))
            for a in sorted(texts):
                joined, parts = 0, []
                for _, text in sorted(texts[a]):
                    if joined >= chars:
                        break
                    parts.append(text)
                    joined += len(text) + 1
                out.append((a, titles.get(a) or "", " ".join(parts)[:chars]))
        return out

    def flags(self, article_ids: Iterable[str] | None = None) -> dict[str, list[Flag]]:
        """Text addressed to AI systems, per article. Milvus keeps no flags collection: the
        detector reads the stored text, title, outlet and file name again when asked
        (cached). Hidden HTML, which no stored text holds, is not flagged on Milvus."""
        ids = [a.id for a in self.articles()] if article_ids is None else list(article_ids)
        out: dict[str, list[Flag]] = {}
        for article_id in ids:
            if article_id not in self._flags:
                record = self.article(article_id)
                self._flags[article_id] = [] if record is None else flags_of_article(SimpleNamespace(
                    path=record.path, text=self.article_text(article_id), title=record.title,
                    source=record.source, hidden_flags=()))
            if self._flags[article_id]:
                out[article_id] = self._flags[article_id]
        return out

    def describe(self) -> dict:
        m = self.manifest
        table = self.article_table()
        dates = sorted(d for d in table.dates if d)
        return {
            "store": str(self.root), "backend": "milvus", "milvus_uri": self.location.uri(),
            "collection": self.location.collection, "generation": m.generation, "built": m.created,
            "corpus": m.corpus, "articles": m.articles, "chunks": m.chunks, "model": m.model,
            "dim": m.dim, "chunker": m.chunker, "format_version": m.format_version,
            "outlets": len({s for s in table.sources if s}), "oldest": dates[0] if dates else None,
            "newest": dates[-1] if dates else None,
        }

    def close(self) -> None:
        self.client.close()


class MilvusKeyword:
    """BM25 by the engine over the pre-tokenized `bm25` field."""

    def __init__(self, store: MilvusStore) -> None:
        self.store = store

    def scores(self, query: str, where: Where | None = None) -> np.ndarray:
        """The engine's BM25 scores of its CANDIDATES best eligible chunks, zero
        elsewhere: the retriever reads only the best rows of this ranking."""
        s = self.store
        out = np.zeros(len(s.chunk_ids), dtype=np.float32)
        terms = tokenize([query])[0]
        if not len(out) or not terms:
            return out
        with engine_errors(s.location, "searching"):
            found = s.client.search(s.names["chunks"], data=[" ".join(terms)], anns_field="sparse", limit=CANDIDATES,
                                    filter=s.expression(where), output_fields=["id"],
                                    search_params={"metric_type": "BM25"})[0]
        if found:
            ids = np.array([int(h["id"]) for h in found], dtype=np.int64)
            # Milvus Lite reports BM25 as a negative distance, a server as the score.
            out[np.searchsorted(s.chunk_ids, ids)] = np.abs([float(h["distance"]) for h in found])
        return out

    def idf(self, tokens: Sequence[str]) -> dict[str, float]:
        """The same formula as the embedded store's, with each term's document frequency
        counted by the engine."""
        s = self.store
        n = len(s.chunk_ids)
        out: dict[str, float] = {}
        for t in tokens:
            df = 0
            if n and re.fullmatch(r"\w+", t):
                with engine_errors(s.location, "counting a term"):
                    df = s.client.query(s.names["chunks"], filter=f"TEXT_MATCH(bm25, {json.dumps(t)})",
                                        output_fields=["count(*)"])[0]["count(*)"]
            out[t] = float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return out


ARTICLE_FIELDS = ["article_id", "path", "title", "date", "source", "url", "author", "content_hash"]
CHUNK_FIELDS = ["id", "article_id", "ordinal", "start", "end", "text"]


def part_key(article_id: str, part: int) -> str:
    return f"{article_id}\x1f{part}"


def _article(r: dict) -> ArticleRecord:
    return ArticleRecord(r["article_id"], r["path"], r["title"], r["date"] or None, r["source"], r["url"],
                         r["author"], r["content_hash"])


def _chunk(r: dict) -> ChunkRecord:
    return ChunkRecord(int(r["id"]), r["article_id"], int(r["ordinal"]), int(r["start"]), int(r["end"]), r["text"])


def article_day(value: str | None) -> int:
    """An article's day for filter expressions; -1 when undated."""
    return date.fromisoformat(value).toordinal() if value else -1
