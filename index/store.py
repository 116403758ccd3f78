"""The store: FAISS vectors, BM25, and SQLite metadata, in immutable generations.

Layout of a store directory:

    CURRENT          name of the live generation, replaced atomically (os.replace)
    lock             flock()ed by the one process that may build
    gen-000007/      a complete, never-modified generation:
        meta.sqlite    articles (with cleaned text), chunks (spans, text), settings
        vectors.faiss  IndexIDMap2(IndexFlatIP); ids are chunk ids
        ann.faiss      large stores only: an IVF index of the same vectors (`index.ann`)
        bm25/          keyword index; row i is chunk_rows[i]
        manifest.json  written last: a generation without it is incomplete

A build writes a new generation beside the live one and only then points CURRENT at
it, so a build killed at any moment leaves the previous generation live and intact.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from index import ann
from index.errors import StoreCorruptError, StoreMissingError
from index.generation import MANIFEST, REBUILD_HINT, Manifest, StoreSpec, check_spec, current_generation, read_manifest
from index.injection import Flag

META = "meta.sqlite"
VECTORS = "vectors.faiss"

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles(
    id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT, date TEXT, source TEXT,
    url TEXT, author TEXT, content_hash TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks(
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS settings(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS flags(
    article_id TEXT NOT NULL, field TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    reason TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS flags_by_article ON flags(article_id);
"""
# flags: text addressed to AI systems (index/injection.py). `field` says what start/end
# index into: "text" (the article text above), "title", "source", "file" (the file's name) or
# "hidden" (the page's HTML; text a browser would not show). A store built before the
# table existed has none: read as "no flags", and the next `assistant index` finds them.


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    path: str
    title: str
    date: str | None
    source: str
    url: str
    author: str
    content_hash: str


@dataclass(frozen=True)
class ChunkRecord:
    id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ArticleTable:
    """Every article's id, date, outlet and path, by position; `chunk_article[row]` is
    the position of the article that chunk row belongs to."""

    ids: list[str]
    dates: list[str | None]
    sources: list[str]
    paths: list[str]
    chunk_article: np.ndarray


def connect_readonly(path: Path) -> sqlite3.Connection:
    # as_uri() percent-encodes "#" and "?", which a raw "file:" address would misread.
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def _int_column(db: sqlite3.Connection, query: str) -> np.ndarray:
    """Every integer of the query's rows, in order, as one array (plain tuples, no Row
    objects: a million rows in a fraction of a second)."""
    cursor = db.cursor()
    cursor.row_factory = None
    return np.fromiter(itertools.chain.from_iterable(cursor.execute(query)), dtype=np.int64)


def _db_errors(method):
    """A damaged page of meta.sqlite is often met only when a query reaches it (opening
    the store reads the chunk ids, not the articles): such a query raised a bare
    sqlite3.DatabaseError, a traceback in the CLI. It becomes StoreCorruptError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            raise StoreCorruptError(f"the index database {self.gen / META} is damaged ({e})", hint=REBUILD_HINT) from None

    return wrapper


class Store:
    """A read-only view of one generation. Cheap to open; loads FAISS and BM25 on use."""

    def __init__(self, root: Path, gen: Path, manifest: Manifest) -> None:
        self.root = root
        self.gen = gen
        self.manifest = manifest
        try:
            self.db = connect_readonly(gen / META)
            # Read from the article index (a covering index, a fraction of the table's
            # pages) and sorted here: five times faster than ORDER BY at a million chunks.
            self.chunk_ids = np.sort(_int_column(self.db, "SELECT id FROM chunks INDEXED BY chunks_by_article"))
        except sqlite3.DatabaseError as e:
            raise StoreCorruptError(f"the index database {gen / META} is damaged ({e})", hint=REBUILD_HINT) from None
        self._vectors = None
        self._ann = None
        self._matrix: tuple[np.ndarray, np.ndarray | None] | None = None
        self._approximate = (gen / ann.ANN).is_file()
        self._last_selector: tuple[np.ndarray, ann.Selector] | None = None
        self._half_scan: ann.HalfScan | None = None
        self._half_lock = threading.Lock()
        self._keyword = None

    @classmethod
    def open(cls, root: Path, spec: StoreSpec | None = None) -> "Store":
        gen = current_generation(root)
        if gen is None:
            raise StoreMissingError(
                f"no index at {root} yet"
            )
        manifest = read_manifest(gen)
        check_spec(manifest, spec, root)
        return cls(root, gen, manifest)

    @classmethod
    def open_generation(cls, root: Path, generation: int) -> "Store | None":
        """A past generation, read-only, while its folder is still there (a build keeps
        the one before it); None once it is gone."""
        gen = root / f"gen-{generation:06d}"
        if not (gen / MANIFEST).is_file():
            return None
        return cls(root, gen, read_manifest(gen))

    def is_current(self) -> bool:
        """False once a newer build has replaced this generation."""
        try:
            return current_generation(self.root) == self.gen
        except StoreCorruptError:
            return False

    # -- vectors and keywords --------------------------------------------------
    def vectors(self):
        if self._vectors is None:
            path = self.gen / VECTORS
            # FAISS's own message is a C++ signature ("Error in void faiss::read_xb_vector
            # (VectorT&, IOReader*) [with ...]"); say what the user can see instead.
            what = "is damaged (truncated or not a vector index)" if path.exists() else "is missing"
            self._vectors = self._read_faiss(path, "the vector file", what)
        return self._vectors

    def _read_faiss(self, path: Path, label: str, damaged: str = "is damaged"):
        """A FAISS file of this generation, which must hold one vector per chunk."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError:
            raise StoreCorruptError(f"{label} {path} {damaged}", hint=REBUILD_HINT) from None
        if index.ntotal != len(self.chunk_ids):
            raise StoreCorruptError(
                f"{label} {path} holds {index.ntotal} vectors for {len(self.chunk_ids)} chunks", hint=REBUILD_HINT)
        return index

    def check(self) -> None:
        """Fail now, with a clear message, if the generation's files are damaged: the
        vectors queries search (a large store's IVF index; its flat file stays unread)
        and the keyword index."""
        self._ivf() if self._approximate else self.vectors()
        self.keyword()

    def keyword(self):
        if self._keyword is None:
            from index.keyword import KeywordIndex

            try:
                self._keyword = KeywordIndex(self.gen, len(self.chunk_ids))
            except Exception as e:  # bm25s raises many kinds on damaged files
                raise StoreCorruptError(f"the keyword index in {self.gen} is damaged ({e.__class__.__name__})", hint=REBUILD_HINT) from None
        return self._keyword

    def row_of(self, chunk_id: int) -> int:
        """The row of a chunk id (rows are chunk ids in ascending order)."""
        row = int(np.searchsorted(self.chunk_ids, chunk_id))
        if row >= len(self.chunk_ids) or self.chunk_ids[row] != chunk_id:
            raise KeyError(chunk_id)
        return row

    def _ivf(self):
        if self._ann is None:
            self._ann = self._read_faiss(self.gen / ann.ANN, "the vector index")
        return self._ann

    def _flat(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The flat vectors (a view) and, unless they are already in row order, the
        position of each row among them."""
        if self._matrix is None:
            vectors, ids = ann.flat_matrix(self.vectors())
            in_order = np.array_equal(ids, self.chunk_ids)
            self._matrix = (vectors, None if in_order else np.argsort(np.searchsorted(self.chunk_ids, ids)))
        return self._matrix

    def _half(self) -> ann.HalfScan:
        # Made once, under a lock: the chat searches from more than one worker thread.
        with self._half_lock:
            if self._half_scan is None:
                vectors, position = self._flat()
                self._half_scan = ann.HalfScan(vectors, position)
            return self._half_scan

    def approximate(self) -> bool:
        """Whether dense search is approximate (the generation has an IVF index; a large
        store's query process then never loads the flat vectors)."""
        return self._approximate

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None,
                     settings: ann.AnnSettings = ann.AnnSettings(), where: object = None) -> ann.DenseResult:
        """About the `k` rows most similar to the query among the `allowed` ones (a
        boolean mask over rows; None: all), best first, with their exact scores (the
        16-bit scan may swap near-ties at the list's end; the IVF index is
        approximate). `where` (the same eligibility as
        conditions, `index.backend.Where`) is for engines that filter by expression; the
        mask says it all here."""
        n = len(self.chunk_ids)
        if n == 0 or k <= 0 or (allowed is not None and not allowed.any()):
            return ann.DenseResult(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        q = np.asarray(query_vector, dtype=np.float32).ravel()
        if self._approximate:
            ids, scores = ann.ivf_search(self._ivf(), q, k, self._selector(allowed), settings)
            return ann.DenseResult(np.searchsorted(self.chunk_ids, ids), scores)
        rows = self._half().search(q, k, self._selector(allowed))
        scores = self.dense_scores_at(q, rows)
        order = np.lexsort((rows, -scores))
        return ann.DenseResult(rows[order], scores[order])

    def _selector(self, allowed: np.ndarray | None) -> "ann.Selector | None":
        """The selector for a row mask (over chunk ids in the IVF index, rows in the
        scan); the last one is kept, as the retriever passes the same mask object for
        every question with the same as-of date and filters."""
        if allowed is None or allowed.all():
            return None
        cached = self._last_selector  # one read: another thread may replace it meanwhile
        if cached is None or cached[0] is not allowed:
            if self._approximate:
                selector = ann.Selector(self.chunk_ids[allowed], int(self.chunk_ids[-1]))
            else:
                selector = ann.Selector(np.flatnonzero(allowed), len(allowed) - 1)
            cached = self._last_selector = (allowed, selector)
        return cached[1]

    def _all_dense(self, q: np.ndarray) -> np.ndarray:
        vectors, position = self._flat()
        scores = ann.inner_products(vectors, q)
        return scores if position is None else scores[position]

    def dense_scores_at(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine of the query to the chunks at `rows`."""
        q = np.asarray(query_vector, dtype=np.float32).ravel()
        if self._approximate:
            return ann.ivf_scores_of(self._ivf(), q, self.chunk_ids[rows])
        vectors, position = self._flat()
        return vectors[rows if position is None else position[rows]] @ q

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine of the query to every chunk, in row order (tests and tools; a query
        scores only candidates, `dense_search`)."""
        if self._approximate:
            return ann.ivf_scores_of(self._ivf(), np.asarray(query_vector, np.float32).ravel(), self.chunk_ids)
        return self._all_dense(np.asarray(query_vector, dtype=np.float32).ravel())

    # -- metadata ----------------------------------------------------------------
    @_db_errors
    def articles(self) -> list[ArticleRecord]:
        rows = self.db.execute(
            "SELECT id, path, title, date, source, url, author, content_hash FROM articles ORDER BY path, id"
        ).fetchall()
        return [ArticleRecord(*r) for r in rows]

    @_db_errors
    def article(self, article_id: str) -> ArticleRecord | None:
        r = self.db.execute(
            "SELECT id, path, title, date, source, url, author, content_hash FROM articles WHERE id=?",
            (article_id,),
        ).fetchone()
        return ArticleRecord(*r) if r else None

    @_db_errors
    def article_text(self, article_id: str) -> str:
        r = self.db.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
        return r[0] if r else ""

    @_db_errors
    def chunks(self, ids: Iterable[int] | None = None) -> list[ChunkRecord]:
        q = "SELECT id, article_id, ordinal, start, end, text FROM chunks"
        if ids is None:
            rows = self.db.execute(q + " ORDER BY id").fetchall()
        else:
            ids = list(ids)
            rows = []
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                rows += self.db.execute(q + f" WHERE id IN ({','.join('?' * len(part))})", part).fetchall()
        return [ChunkRecord(*r) for r in rows]

    @_db_errors
    def chunks_of(self, article_id: str) -> list[ChunkRecord]:
        rows = self.db.execute(
            "SELECT id, article_id, ordinal, start, end, text FROM chunks WHERE article_id=? ORDER BY ordinal",
            (article_id,),
        ).fetchall()
        return [ChunkRecord(*r) for r in rows]

    @_db_errors
    def flags(self, article_ids: Iterable[str] | None = None) -> dict[str, list[Flag]]:
        """Text addressed to AI systems, per article (all articles, or those named)."""
        try:
            has_table = self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='flags'").fetchone()
        except sqlite3.OperationalError:
            has_table = None
        if not has_table:  # built before flags were recorded: none known
            return {}
        q = "SELECT article_id, field, start, end, reason, text FROM flags"
        if article_ids is None:
            rows = self.db.execute(q + " ORDER BY article_id, field, start").fetchall()
        else:
            ids = sorted(set(article_ids))
            rows = []
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                rows += self.db.execute(q + f" WHERE article_id IN ({','.join('?' * len(part))}) ORDER BY article_id, field, start",
                                        part).fetchall()
        out: dict[str, list[Flag]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(Flag(r[1], r[2], r[3], r[4], r[5]))
        return out

    @_db_errors
    def article_table(self) -> "ArticleTable":
        """What filtering and ranking need of every article, in columns, and each chunk
        row's article: a few bytes a chunk, where records with texts would be hundreds."""
        rows = self.db.execute("SELECT rowid, id, date, source, path FROM articles ORDER BY rowid").fetchall()
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        pairs = _int_column(self.db, "SELECT c.id, a.rowid FROM articles a "
                                     "JOIN chunks c INDEXED BY chunks_by_article ON c.article_id = a.id").reshape(-1, 2)
        owner = pairs[np.argsort(pairs[:, 0]), 1]  # the article rowid of each chunk, in chunk id order
        return ArticleTable(
            ids=[r[1] for r in rows], dates=[r[2] for r in rows], sources=[r[3] for r in rows],
            paths=[r[4] for r in rows], chunk_article=np.searchsorted(rowids, owner).astype(np.int32),
        )

    @_db_errors
    def leads(self, chars: int, article_ids: Iterable[str] | None = None, every: int = 1) -> list[tuple[str, str, str]]:
        """(article id, title, lead) for the given articles (None: all of them, or with
        `every` > 1 one article in `every`, by storage order), where the lead is the
        article's first chunks joined, cut at `chars` characters."""
        # Only the chunks that start within `chars` of the joined text are kept.
        q = """SELECT c.article_id, a.title, c.text FROM (
                   SELECT article_id, ordinal, text,
                          SUM(length(text)) OVER (PARTITION BY article_id ORDER BY ordinal) - length(text) AS before
                   FROM chunks {where}) c
               JOIN articles a ON a.id = c.article_id
               WHERE c.before < ? ORDER BY c.article_id, c.ordinal"""
        if article_ids is None and every > 1:
            # A sample reads a few chunks of each of its articles through the article
            # index (the lead is within the first eight in any real text).
            where = "WHERE ordinal < 8 AND article_id IN (SELECT id FROM articles WHERE rowid % ? = 0)"
            cursor = self.db.execute(q.format(where=where), (every, chars))
        elif article_ids is None:
            cursor = self.db.execute(q.format(where=""), (chars,))
        else:
            ids = list(article_ids)
            cursor = self.db.execute(q.format(where=f"WHERE article_id IN ({','.join('?' * len(ids))})"), (*ids, chars))
        # A list, not a generator: a damaged page met while reading must surface inside
        # this method, where it becomes a StoreCorruptError.
        out: list[tuple[str, str, str]] = []
        current: tuple[str, str] | None = None
        parts: list[str] = []
        for article_id, title, text in cursor:
            if current is not None and article_id != current[0]:
                out.append((current[0], current[1], " ".join(parts)[:chars]))
                parts = []
            current = (article_id, title or "")
            parts.append(text)
        if current is not None:
            out.append((current[0], current[1], " ".join(parts)[:chars]))
        return out

    def close(self) -> None:
        self.db.close()

    @_db_errors
    def describe(self) -> dict:
        m = self.manifest
        sources = self.db.execute("SELECT COUNT(DISTINCT source) FROM articles WHERE source != ''").fetchone()[0]
        span = self.db.execute("SELECT MIN(date), MAX(date) FROM articles WHERE date IS NOT NULL").fetchone()
        return {
            "store": str(self.root), "generation": m.generation, "built": m.created,
            "corpus": m.corpus, "articles": m.articles, "chunks": m.chunks, "model": m.model,
            "dim": m.dim, "chunker": m.chunker, "format_version": m.format_version,
            "outlets": sources, "oldest": span[0], "newest": span[1],
            "dense_search": "IVF, 8-bit codes (approximate)" if self._approximate else "exact",
            "articles_with_text_for_ai": len(self.flags()),
        }

