"""Bringing a store in line with its corpus folder.

`build_index` scans the folder, compares each article's content hash with the live
generation, embeds only the chunks of new and changed articles, and publishes a new
generation atomically. Vectors of unchanged articles are copied, never re-embedded.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from index import ann
from index.articles import DEFAULT_MAX_BYTES, Article
from index.chunker import Chunk, ChunkerSettings, chunk_text
from index.corpus import ScanResult, SkippedFile, check_corpus, scan_corpus
from index.embedder import Embedder, embedding_input
from index.errors import StoreError, StoreLockedError
from index.fanout import embed_texts
from index.injection import DETECTOR_VERSION, flags_of_article
from index.writes import MB, check_writable, require_free_space, write_faiss, write_file_atomic, write_json_atomic, writing
from index.keyword import build_bm25
from index.generation import (
    CURRENT, FORMAT_VERSION, MANIFEST, Manifest, StoreSpec, check_spec, current_generation, read_manifest,
)
from index.store import META, SCHEMA, VECTORS, Store, connect_readonly

# progress(stage, done, total); stages: "reading", "embedding", "writing"
BuildProgress = Callable[[str, int, int], None]
_GEN = re.compile(r"^gen-(\d+)$")
# A stage shown only on the first build with the int8 encoder (its one-time export).
PREPARING = "Preparing the int8 encoder (once)"
# What a user can do when the store's place cannot take a build.
ELSEWHERE = "choose another index folder (--store, or `store` in the config file)"
KEPT = "The previous index is still in use."
# Bytes a chunk takes in a generation (vectors, metadata with the article text, BM25)
# when there is no previous generation to measure: 3.7 KB measured on the 787
# articles of realtimeqa-dev (10,318 chunks, 38 MB), with room for longer articles.
# With a previous generation, its own size per chunk is used.
BYTES_PER_CHUNK = 5 * 1024


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored: int = 0
    embedded_chunks: int = 0
    articles: int = 0
    chunks: int = 0
    generation: int = 0
    published: bool = False  # False when nothing changed and no new generation was needed
    full_rebuild: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Articles holding text addressed to AI systems: id -> what and why, e.g.
    # ["hidden HTML: ignore earlier instructions"]. Indexed, but never sent to a model.
    flagged: dict[str, list[str]] = field(default_factory=dict)


def spec_for(embedder: Embedder, chunker: ChunkerSettings) -> StoreSpec:
    # No export here: opening a store (or finding there is none) must stay instant.
    prepare_embedder(embedder, export=False)
    return StoreSpec(model=embedder.name, dim=embedder.dim, chunker=chunker.fingerprint())


def prepare_embedder(embedder: Embedder, progress: BuildProgress | None = None, *, export: bool = True) -> str | None:
    """Let an embedder settle what it is before its name is recorded or checked: the
    int8 encoder exports its model here the first time (progress stage PREPARING), or
    falls back to fp32 and renames itself. Returns its notice, if any."""
    prepare = getattr(embedder, "prepare", None)
    if prepare is not None:
        prepare((lambda d, t: progress(PREPARING, d, t)) if progress else None, export=export)
    return getattr(embedder, "notice", None)


def prepare_and_scan(corpus: Path, embedder: Embedder, chunker: ChunkerSettings, max_bytes: int,
                     progress: BuildProgress | None, report: BuildReport) -> tuple[StoreSpec, ScanResult]:
    """A build's first steps, whatever the backend: the embedder settled (its notice
    noted), the spec it gives, and the folder read, with what was skipped reported."""
    notice = prepare_embedder(embedder, progress)
    if notice:
        report.notes.append(notice)
    scan = scan_corpus(corpus, max_bytes, (lambda d, t: progress("reading", d, t)) if progress else None)
    report.skipped, report.warnings, report.ignored = scan.skipped, scan.warnings, scan.ignored
    return spec_for(embedder, chunker), scan


@contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """One builder per store. flock is released by the kernel if the process dies, so
    a killed build never leaves a stale lock behind."""
    with writing("the index", root, ELSEWHERE, after=_kept(root)):
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise StoreLockedError(
                f"the index at {root} is being rebuilt by process {holder}",
                hint="Wait for that build to finish, then try again.",
            ) from None
        with writing("the index", root / "lock", ELSEWHERE, after=_kept(root)):
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for dirpath, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


def chunk_for_model(articles: list[Article], embedder: Embedder, settings: ChunkerSettings) -> dict[str, list[Chunk]]:
    """Chunk each article so that the model reads every chunk whole: inputs the model's
    own tokenizer finds too long are chunked again with a smaller budget."""
    out = {a.id: chunk_text(a.text, settings) for a in articles}
    todo = articles
    budget = settings.max_tokens
    while todo and budget >= 16:
        inputs, owners = [], []
        for a in todo:
            for c in out[a.id]:
                inputs.append(embedding_input(a.title, c.text))
                owners.append(a)
        lengths = embedder.input_lengths(inputs) if inputs else []
        too_long = {owners[i].id: owners[i] for i, n in enumerate(lengths) if n > embedder.max_input_tokens}
        todo = list(too_long.values())
        budget = int(budget * 0.75)
        smaller = ChunkerSettings(budget, settings.overlap_sentences, settings.encoding)
        for a in todo:
            out[a.id] = chunk_text(a.text, smaller)
    return out


def _next_generation(root: Path) -> int:
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := _GEN.match(p.name))]
    return max(numbers, default=0) + 1


def _stored_hashes(gen: Path) -> dict[str, str]:
    conn = connect_readonly(gen / META)
    try:
        return dict(conn.execute("SELECT id, content_hash FROM articles").fetchall())
    finally:
        conn.close()


def _next_chunk_id(gen: Path | None) -> int:
    """Where chunk ids continue, read from the live generation even when a full rebuild
    does not reuse it: ids are never reused, so an id in an old answer can't point at new text."""
    if gen is None:
        return 1
    try:
        conn = connect_readonly(gen / META)
        try:
            row = conn.execute("SELECT value FROM settings WHERE key='next_chunk_id'").fetchone()
        finally:
            conn.close()
        return int(row[0]) if row else 1
    except (sqlite3.DatabaseError, ValueError, OSError):
        return 1


def diff_articles(old: dict[str, str], new: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """Article ids added, changed and removed between two {id: content hash} maps."""
    added = sorted(i for i in new if i not in old)
    changed = sorted(i for i in new if i in old and old[i] != new[i])
    removed = sorted(i for i in old if i not in new)
    return added, changed, removed


def _usable_previous(root: Path, spec: StoreSpec, report: BuildReport) -> Path | None:
    """The live generation if it can be built upon; otherwise None (full rebuild)."""
    try:
        gen = current_generation(root)
        if gen is None:
            return None
        manifest = read_manifest(gen)
        check_spec(manifest, spec, root)
        _stored_hashes(gen)
        # An update copies the previous database and vectors: a damaged page or a
        # truncated vectors.faiss made it crash with a raw sqlite3/FAISS error (a
        # traceback from `assistant index`). Checked here, it means a full rebuild.
        conn = connect_readonly(gen / META)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"database check failed: {' '.join(str(verdict).split())[:120]}")
        old = Store(root, gen, manifest)
        try:
            old.vectors()
            old.keyword()  # else a damaged BM25 index was reported "up to date"
        finally:
            old.close()
        return gen
    except (StoreError, sqlite3.DatabaseError) as e:
        report.notes.append(f"previous index not reusable ({e.message if isinstance(e, StoreError) else e}); building from scratch")
        return None


def build_index(
    corpus: Path,
    root: Path,
    embedder: Embedder,
    chunker: ChunkerSettings = ChunkerSettings(),
    *,
    rebuild: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: BuildProgress | None = None,
    ann_settings: ann.AnnSettings = ann.AnnSettings(),
    ray_address: str | None = None,
) -> BuildReport:
    started = time.perf_counter()
    report = BuildReport()
    check_corpus(corpus)  # before the lock, which creates the store folder
    with build_lock(root), writing("the index", root, ELSEWHERE, after=_kept(root)):
        # What a killed build left behind goes first: its space may be needed now.
        _collect_garbage(root, keep=None)
        check_writable(root)  # now, not after minutes of embedding
        # Inside the lock: a second build of this store is refused at once rather than
        # after the int8 encoder's one-time export.
        spec, scan = prepare_and_scan(corpus, embedder, chunker, max_bytes, progress, report)
        live = live_generation(root)
        previous = None if rebuild else _usable_previous(root, spec, report)
        report.full_rebuild = previous is None
        old = _stored_hashes(previous) if previous else {}
        new = {i: a.content_hash for i, a in scan.articles.items()}
        report.added, report.changed, report.removed = diff_articles(old, new)
        if not old:  # even when the live generation is not reused, say what left the corpus
            report.removed = diff_articles(_readable_hashes(live), new)[2]
        report.unchanged = len(new) - len(report.added) - len(report.changed)
        redetect = previous is not None and _detector_version(previous) != DETECTOR_VERSION
        if previous is not None and not (report.added or report.changed or report.removed or redetect):
            report.flagged = _flag_summary(previous / META)
            m = read_manifest(previous)
            report.articles, report.chunks, report.generation = m.articles, m.chunks, m.generation
            report.seconds = time.perf_counter() - started
            # Nothing published: every generation stays (a chat may read the older one).
            return report
        _publish(corpus, root, embedder, chunker, spec, scan, previous, report, progress, _next_chunk_id(live), ann_settings,
                 redetect, ray_address)
    report.seconds = time.perf_counter() - started
    return report


def _kept(root: Path) -> str:
    """What a failed build says of the index it leaves live."""
    return KEPT if live_generation(root) is not None else ""


def _space_needed(previous: Path | None, chunks: int) -> int:
    """About how many bytes a generation of `chunks` chunks takes: the previous
    generation's size per chunk, or BYTES_PER_CHUNK; a tenth more, and 2 MB for the
    files' fixed sizes and the temporary copies of writing."""
    per_chunk = BYTES_PER_CHUNK
    if previous is not None:
        size = sum(p.stat().st_size for p in previous.rglob("*") if p.is_file())
        per_chunk = max(per_chunk // 4, size // max(read_manifest(previous).chunks, 1))
    return int(per_chunk * chunks * 1.1) + 2 * MB


def _kept_chunks(previous: Path | None, gone: list[str]) -> int:
    if previous is None:
        return 0
    conn = connect_readonly(previous / META)
    try:
        total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        dropped = sum(conn.execute("SELECT COUNT(*) FROM chunks WHERE article_id=?", (i,)).fetchone()[0] for i in gone)
    finally:
        conn.close()
    return total - dropped


def _detector_version(gen: Path) -> str | None:
    """The version of the detector that found a generation's flags (None: before flags)."""
    try:
        conn = connect_readonly(gen / META)
        try:
            row = conn.execute("SELECT value FROM settings WHERE key='injection_detector'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


_FIELD_LABELS = {"text": "text", "title": "title", "source": "outlet", "file": "file name", "hidden": "hidden HTML"}


def _flag_summary(db: Path | sqlite3.Connection) -> dict[str, list[str]]:
    conn = connect_readonly(db) if isinstance(db, Path) else db
    try:
        rows = conn.execute("SELECT article_id, field, reason FROM flags ORDER BY article_id, field, start").fetchall()
    except sqlite3.DatabaseError:
        return {}
    finally:
        if isinstance(db, Path):
            conn.close()
    out: dict[str, list[str]] = {}
    for article_id, where, reason in rows:
        label = f"{_FIELD_LABELS.get(where, where)}: {reason}"
        if label not in out.setdefault(article_id, []):
            out[article_id].append(label)
    return out


def live_generation(root: Path) -> Path | None:
    """The generation CURRENT names, or None (no index, or an unreadable CURRENT)."""
    try:
        return current_generation(root)
    except StoreError:
        return None


def _readable_hashes(gen: Path | None) -> dict[str, str]:
    if gen is None:
        return {}
    try:
        return _stored_hashes(gen)
    except (sqlite3.DatabaseError, OSError):
        return {}


def _publish(corpus, root, embedder, chunker, spec, scan: ScanResult, previous: Path | None,
             report: BuildReport, progress: BuildProgress | None, first_chunk_id: int,
             ann_settings: ann.AnnSettings, redetect: bool = False, ray_address: str | None = None) -> None:
    import faiss

    to_embed = [scan.articles[i] for i in report.added + report.changed]
    chunks = chunk_for_model(to_embed, embedder, chunker)
    texts = [embedding_input(a.title, c.text) for a in to_embed for c in chunks[a.id]]
    # Before minutes of embedding, not after: will the new generation fit?
    chunks_after = _kept_chunks(previous, report.changed + report.removed) + len(texts)
    require_free_space(root, _space_needed(previous, chunks_after), "the new index", ELSEWHERE, _kept(root))
    vectors = embed_texts(embedder, texts, (lambda d, t: progress("embedding", d, t)) if progress else None, ray_address)
    report.embedded_chunks = len(texts)
    if progress:
        progress("writing", 0, 1)

    tmp = root / f"tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    final: Path | None = None
    tmp.mkdir()
    try:
        if previous is not None:
            shutil.copyfile(previous / META, tmp / META)
            index = faiss.read_index(str(previous / VECTORS))
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(embedder.dim))
        conn = sqlite3.connect(tmp / META)
        try:
            conn.executescript(SCHEMA)
            gone = report.changed + report.removed
            dead_ids = [r[0] for i in gone for r in conn.execute("SELECT id FROM chunks WHERE article_id=?", (i,))]
            conn.executemany("DELETE FROM chunks WHERE article_id=?", [(i,) for i in gone])
            conn.executemany("DELETE FROM articles WHERE id=?", [(i,) for i in gone])
            # Text addressed to AI systems: found for the new and changed articles, or
            # for all of them when the store's flags came from another detector version.
            flag_again = list(scan.articles.values()) if redetect else to_embed
            conn.executemany("DELETE FROM flags WHERE article_id=?", [(i,) for i in gone] + [(a.id,) for a in flag_again])
            conn.executemany(
                "INSERT INTO flags VALUES (?,?,?,?,?,?)",
                [(a.id, f.field, f.start, f.end, f.reason, f.text) for a in flag_again for f in flags_of_article(a)],
            )
            conn.execute("INSERT OR REPLACE INTO settings VALUES ('injection_detector', ?)", (DETECTOR_VERSION,))
            if dead_ids:
                index.remove_ids(np.array(dead_ids, dtype=np.int64))  # type: ignore[arg-type]  # FAISS takes id arrays too
            next_id = first_chunk_id
            new_ids = np.arange(next_id, next_id + len(texts), dtype=np.int64)
            conn.executemany(
                "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
                [(a.id, a.path, a.title, a.date, a.source, a.url, a.author, a.content_hash, a.text) for a in to_embed],
            )
            conn.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?)",
                [(int(cid), a.id, c.ordinal, c.start, c.end, c.text)
                 for cid, (a, c) in zip(new_ids, ((a, c) for a in to_embed for c in chunks[a.id]))],
            )
            conn.execute("INSERT OR REPLACE INTO settings VALUES ('next_chunk_id', ?)", (str(next_id + len(texts)),))
            if len(texts):
                index.add_with_ids(vectors, new_ids)
            conn.commit()
            rows = conn.execute(
                "SELECT c.id, a.title, c.text FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
            ).fetchall()
            report.articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            report.flagged = _flag_summary(conn)
        finally:
            conn.close()
        report.chunks = len(rows)
        write_faiss(index, tmp / VECTORS)
        ann.build(index, tmp, previous, np.array(dead_ids, dtype=np.int64), new_ids, vectors, ann_settings)
        build_bm25([embedding_input(t, x) for _, t, x in rows], tmp, [cid for cid, _, _ in rows], previous)
        generation = _next_generation(root)
        manifest = Manifest(
            format_version=FORMAT_VERSION, generation=generation, model=spec.model, dim=spec.dim,
            chunker=spec.chunker, corpus=str(corpus.resolve()),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            articles=report.articles, chunks=report.chunks,
        )
        _fsync_tree(tmp)
        write_json_atomic(tmp / MANIFEST, manifest.model_dump())
        final = root / f"gen-{generation:06d}"
        os.rename(tmp, final)
        _fsync_dir(root)
        # The commit point: until CURRENT is replaced, readers see the previous generation.
        write_file_atomic(root / CURRENT, final.name + "\n")
        _fsync_dir(root)
    except BaseException:
        # Whatever stopped the build (a full disk, a signal), nothing half-made stays:
        # neither the temporary folder nor a complete generation that never went live.
        shutil.rmtree(tmp, ignore_errors=True)
        if final is not None and live_generation(root) != final:
            shutil.rmtree(final, ignore_errors=True)
        raise
    report.generation = generation
    report.published = True
    if progress:
        progress("writing", 1, 1)
    # Keep the generation a running chat may still be reading; drop older ones.
    _collect_garbage(root, keep={final.name} | ({previous.name} if previous else set()))


def _collect_garbage(root: Path, keep: set[str] | None) -> None:
    """Remove leftovers of killed builds and, when `keep` is given, every generation not
    in it (orphans of builds killed before their commit, and ones no reader still uses).
    Called with the build lock held, so no tmp- directory belongs to a live build."""
    for p in root.iterdir():
        if p.name.startswith("tmp-") or (keep is not None and _GEN.match(p.name) and p.name not in keep):
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.endswith(".tmp"):  # a half-written CURRENT (see index.writes.temporary_name)
            p.unlink(missing_ok=True)
