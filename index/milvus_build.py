"""Bringing a Milvus store in line with its corpus folder: the embedded builder's steps
(`index.builder`: scan, compare content hashes, embed only new and changed articles)
with a Milvus generation as the result (layout: `index.milvus_store`).

A new generation's collections are filled beside the live ones: rows of unchanged
articles are copied from the live generation with their vectors (never re-embedded),
the new ones inserted, the meta collection written last, and then the alias moved: the
commit point. A build that fails or is killed before it leaves the alias where it was;
the next build drops the collections it left. One build at a time: the local lock
(`index.builder.build_lock` on the store folder) covers Milvus Lite and a server used
from one machine; builds from several machines against one cluster need one build host
(or a lock of the cluster's own, e.g. an etcd lease) - see the README.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.articles import Article
from index.backend_types import StoreLocation
from index.builder import (
    BuildProgress, BuildReport, ELSEWHERE, build_lock, chunk_for_model, diff_articles, prepare_and_scan,
)
from index.chunker import Chunk, ChunkerSettings
from index.corpus import check_corpus
from index.embedder import Embedder, embedding_input
from index.errors import StoreError
from index.fanout import embed_texts
from index.keyword import tokenize
from index.milvus_engine import (
    _GEN, collection_names, connect, engine_errors, iterate, live_generation_number, quoted, read_manifest,
)
from index.milvus_store import PART_CHARS, article_day, part_key
from index.generation import FORMAT_VERSION, Manifest, check_spec
from index.writes import writing

BATCH = 500
# Chunk texts are at most a few hundred tokens; BM25 text adds the title.
CHUNK_CHARS = 8_192
PATH_CHARS = 4_096


def build_milvus_index(corpus: Path, location: StoreLocation, embedder: Embedder,
                       chunker: ChunkerSettings = ChunkerSettings(), *, rebuild: bool = False,
                       max_bytes: int, progress: BuildProgress | None = None,
                       ray_address: str | None = None) -> BuildReport:
    started = time.perf_counter()
    report = BuildReport()
    check_corpus(corpus)
    with build_lock(location.root), writing("the index", location.root, ELSEWHERE):
        client = connect(location, create=True)
        try:
            live = live_generation_number(location, client)
            _drop_unpublished(client, location, live)
            spec, scan = prepare_and_scan(corpus, embedder, chunker, max_bytes, progress, report)
            previous = None if rebuild else _usable_previous(client, location, live, spec, report)
            report.full_rebuild = previous is None
            old = _stored_hashes(client, location, previous) if previous is not None else {}
            new = {i: a.content_hash for i, a in scan.articles.items()}
            report.added, report.changed, report.removed = diff_articles(old, new)
            if not old and live is not None:
                try:
                    report.removed = diff_articles(_stored_hashes(client, location, live), new)[2]
                except StoreError:
                    pass
            report.unchanged = len(new) - len(report.added) - len(report.changed)
            if previous is not None and not (report.added or report.changed or report.removed):
                m = read_manifest(client, location, previous)
                report.articles, report.chunks, report.generation = m.articles, m.chunks, m.generation
            else:
                to_embed = [scan.articles[i] for i in report.added + report.changed]
                chunks = chunk_for_model(to_embed, embedder, chunker)
                pairs = [(a, c) for a in to_embed for c in chunks[a.id]]
                # No connection is held while embedding, which takes minutes: an idle
                # client's keep-alive pings make a server drop it ("too_many_pings").
                client.close()
                vectors = embed_texts(embedder, [embedding_input(a.title, c.text) for a, c in pairs],
                                      (lambda d, t: progress("embedding", d, t)) if progress else None, ray_address)
                client = connect(location, create=True)
                _publish(client, location, corpus, spec, to_embed, pairs, vectors, previous, live, report, progress)
        finally:
            client.close()
    report.seconds = time.perf_counter() - started
    return report


def _generations(client, location: StoreLocation) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for name in client.list_collections():
        m = _GEN.match(name)
        if m and m.group("name") == location.collection:
            out.setdefault(int(m.group("n")), []).append(name)
    return out


def _drop_unpublished(client, location: StoreLocation, live: int | None) -> None:
    """Collections of builds killed before their commit (newer than the live one)."""
    with engine_errors(location, "removing a killed build's collections"):
        for n, names in _generations(client, location).items():
            if live is None or n > live:
                for name in names:
                    client.drop_collection(name)


def _usable_previous(client, location: StoreLocation, live: int | None, spec, report: BuildReport) -> int | None:
    if live is None:
        return None
    try:
        manifest = read_manifest(client, location, live)
        check_spec(manifest, spec, location.root)
        names = collection_names(location.collection, live)
        with engine_errors(location, "checking the live generation"):
            for name in names.values():
                client.load_collection(name)
            count = client.query(names["chunks"], filter="", output_fields=["count(*)"])[0]["count(*)"]
        if count != manifest.chunks:
            raise StoreError(f"generation {live} holds {count} chunks, its manifest {manifest.chunks}")
        return live
    except StoreError as e:
        report.notes.append(f"previous index not reusable ({e.message}); building from scratch")
        return None


def _stored_hashes(client, location: StoreLocation, generation: int) -> dict[str, str]:
    name = collection_names(location.collection, generation)["articles"]
    with engine_errors(location, "reading the stored articles"):
        client.load_collection(name)
        return {r["article_id"]: r["content_hash"] for r in iterate(client, name, ["article_id", "content_hash"], "part == 0")}


def _next_chunk_id(client, location: StoreLocation, live: int | None) -> int:
    if live is None:
        return 1
    name = collection_names(location.collection, live)["meta"]
    try:
        with engine_errors(location, "reading the next chunk id"):
            rows = client.query(name, ids=["next_chunk_id"], output_fields=["value"])
        return int(rows[0]["value"]) if rows else 1
    except (StoreError, ValueError):
        return 1


def _create(client, names: dict[str, str], dim: int, exact: bool) -> None:
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("article_id", DataType.VARCHAR, max_length=1024)
    s.add_field("ordinal", DataType.INT64)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("text", DataType.VARCHAR, max_length=CHUNK_CHARS * 4)
    s.add_field("bm25", DataType.VARCHAR, max_length=CHUNK_CHARS * 4, enable_analyzer=True, enable_match=True,
                analyzer_params={"tokenizer": "standard"})
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("day", DataType.INT64)
    s.add_field("source_key", DataType.VARCHAR, max_length=1024)
    s.add_field("path", DataType.VARCHAR, max_length=PATH_CHARS * 4)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["bm25"],
                            output_field_names=["sparse"]))
    ip = client.prepare_index_params()
    # Milvus Lite is for one machine's worth of chunks: an exact scan, as the embedded
    # store below its IVF threshold. A server or cluster chooses (AUTOINDEX: HNSW).
    ip.add_index("vector", index_type="FLAT" if exact else "AUTOINDEX", metric_type="IP")
    # bm25s's parameters (index.keyword): both backends score alike.
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.5, "bm25_b": 0.75})
    client.create_collection(names["chunks"], schema=s, index_params=ip)

    a = client.create_schema(auto_id=False)
    a.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1100)
    a.add_field("article_id", DataType.VARCHAR, max_length=1024)
    a.add_field("part", DataType.INT64)
    for f in ("path", "title", "date", "source", "url", "author", "content_hash"):
        a.add_field(f, DataType.VARCHAR, max_length=PATH_CHARS * 4)
    a.add_field("text", DataType.VARCHAR, max_length=65_535)
    a.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    _small(client, names["articles"], a)

    m = client.create_schema(auto_id=False)
    m.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    m.add_field("value", DataType.VARCHAR, max_length=65_535)
    m.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    _small(client, names["meta"], m)


def _small(client, name: str, schema) -> None:
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, index_params=ip)


def _article_rows(a: Article) -> list[dict]:
    parts = [a.text[i:i + PART_CHARS] for i in range(0, len(a.text), PART_CHARS)] or [""]
    return [{"key": part_key(a.id, n), "article_id": a.id, "part": n, "path": a.path, "title": a.title,
             "date": a.date or "", "source": a.source, "url": a.url, "author": a.author,
             "content_hash": a.content_hash, "text": text, "v": [0.0, 0.0]} for n, text in enumerate(parts)]


def _insert(client, name: str, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        client.insert(name, rows[i:i + BATCH])


def _copy(client, source: str, target: str, fields: list[str], filter: str) -> None:
    """Rows of `source` into `target` as they are (vectors included; the BM25 vectors
    are made again by the engine from the text)."""
    batch: list[dict] = []
    for row in iterate(client, source, fields, filter):
        batch.append({f: row[f] for f in fields})
        if len(batch) >= BATCH:
            client.insert(target, batch)
            batch = []
    if batch:
        client.insert(target, batch)


CHUNK_COPY = ["id", "article_id", "ordinal", "start", "end", "text", "bm25", "vector", "day", "source_key", "path"]
ARTICLE_COPY = ["key", "article_id", "part", "path", "title", "date", "source", "url", "author", "content_hash", "text", "v"]


def _publish(client, location: StoreLocation, corpus: Path, spec, to_embed: list[Article], pairs: list[tuple[Article, Chunk]],
             vectors: np.ndarray, previous: int | None, live: int | None, report: BuildReport,
             progress: BuildProgress | None) -> None:
    texts = [embedding_input(a.title, c.text) for a, c in pairs]
    report.embedded_chunks = len(texts)
    if progress:
        progress("writing", 0, 1)
    generation = max([live or 0, *_generations(client, location)]) + 1
    names = collection_names(location.collection, generation)
    first_id = _next_chunk_id(client, location, live)
    try:
        with engine_errors(location, "writing the new generation"):
            _create(client, names, spec.dim, exact="://" not in location.uri())
            if previous is not None:
                old = collection_names(location.collection, previous)
                gone = report.changed + report.removed
                keep = f"article_id not in {quoted(gone)}" if gone else ""
                _copy(client, old["chunks"], names["chunks"], CHUNK_COPY, keep)
                _copy(client, old["articles"], names["articles"], ARTICLE_COPY, keep)
            bm25 = [" ".join(words) for words in tokenize(texts)] if texts else []
            rows = [{"id": first_id + i, "article_id": a.id, "ordinal": c.ordinal, "start": c.start, "end": c.end,
                     "text": c.text, "bm25": bm25[i], "vector": vectors[i].astype(np.float32).tolist(),
                     "day": article_day(a.date), "source_key": a.source.lower(), "path": a.path}
                    for i, (a, c) in enumerate(pairs)]
            _insert(client, names["chunks"], rows)
            _insert(client, names["articles"], [r for a in to_embed for r in _article_rows(a)])
            client.flush(names["chunks"])
            client.flush(names["articles"])
            client.load_collection(names["chunks"])
            client.load_collection(names["articles"])
            report.chunks = client.query(names["chunks"], filter="", output_fields=["count(*)"])[0]["count(*)"]
            report.articles = client.query(names["articles"], filter="part == 0", output_fields=["count(*)"])[0]["count(*)"]
            manifest = Manifest(
                format_version=FORMAT_VERSION, generation=generation, model=spec.model, dim=spec.dim,
                chunker=spec.chunker, corpus=str(corpus.resolve()),
                created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                articles=report.articles, chunks=report.chunks,
            )
            client.insert(names["meta"], [
                {"key": "manifest", "value": json.dumps(manifest.model_dump()), "v": [0.0, 0.0]},
                {"key": "next_chunk_id", "value": str(first_id + len(texts)), "v": [0.0, 0.0]},
            ])
            client.flush(names["meta"])
            # The commit point: until the alias moves, readers see the previous generation.
            if live is None:
                client.create_alias(names["meta"], location.collection)
            else:
                client.alter_alias(names["meta"], location.collection)
    except BaseException:
        try:
            if live_generation_number(location, client) != generation:
                for name in names.values():
                    if client.has_collection(name):
                        client.drop_collection(name)
        except Exception:  # the engine may be what failed; the next build drops them
            pass
        raise
    report.generation = generation
    report.published = True
    if progress:
        progress("writing", 1, 1)
    # Keep the generation a running chat may still be reading; drop older ones.
    with engine_errors(location, "removing old generations"):
        for n, old_names in _generations(client, location).items():
            if n not in (generation, previous, live):
                for name in old_names:
                    client.drop_collection(name)
