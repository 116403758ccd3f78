"""Query cost as the archive grows: a synthetic archive of up to a million chunks made
from the dev set, then query latency and the query process's memory at each size.

    ./dev bench-scale [--eval DIR] [--work DIR] [--sizes 50000,250000,1000000] [--rebuild]

How the archive is made (once, kept under --work, outside the repo): the dev set's
indexed articles (built with the default int8 encoder if absent) are copied again and
again until the size is reached. Copy c
- is dated c spans of the dev set earlier (the set covers about nine months, so a
  million chunks reach back decades, as an archive does);
- has every eighth word changed (which words depends on c, and the change is a letter
  shift whose size depends on c, keeping every length, so chunk spans stay exact): a
  copy shares under half of its word triples with the original, so the retriever's
  near-duplicate folding (Jaccard >= 0.8) does not collapse copies into one hit, and
  its BM25 terms differ as reworded reports' do;
- has, instead of re-embedding (a million chunks would take hours on two cores), each
  chunk's vector moved by Gaussian noise scaled so that its cosine to the original
  equals the mean cosine measured between the real encoder's embeddings of original
  and altered chunks (printed).
Each size is written as a store generation with the builder's own parts (schema, BM25,
IVF index past `index.ann.AnnSettings.min_chunks`), and, past that size, also as a
second store whose generation lacks the IVF file, to measure the exact search there.

Then, per store, a fresh process opens it as `assistant` would, embeds and searches the
95 dev questions at their as-of dates (after 5 warm-up questions) and reports hit@5
(the original of a gold article, or a folded copy of it, among the top 5), search
latency p50/p95 (query embedding included), the query thread's CPU time p50 (less
disturbed than wall time by other work on the machine; ONNX Runtime's own threads not
counted), the process's resident memory, and a
reference measured in the same process: a plain dense pipeline (embed, FAISS flat
top-10) over the same vectors. Writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import devset  # noqa: E402

WORD = re.compile(r"[A-Za-z]{4,}")


def alter(text: str, copy: int) -> str:
    """Every eighth word (from an offset set by `copy`) letter-shifted by an amount set
    by `copy`; lengths and everything else unchanged."""
    if copy == 0:
        return text
    offset, shift = copy % 8, (copy // 8) % 12 + 1
    count = 0

    def sub(m: re.Match) -> str:
        nonlocal count
        count += 1
        if count % 8 != offset:
            return m.group(0)
        return "".join(chr((ord(ch) - base + shift) % 26 + base) if ch.isalpha() else ch
                       for ch in m.group(0) for base in [ord("a") if ch.islower() else ord("A")])

    return WORD.sub(sub, text)


def noise_scale(source, embedder, dim: int) -> tuple[float, float]:
    """The Gaussian noise per dimension that gives a copy's vector the cosine to its
    original that real altered text gets from the encoder (mean over 200 chunks)."""
    from index.embedder import embedding_input

    rng = np.random.default_rng(0)
    chunks = source.chunks()
    sample = [chunks[i] for i in rng.choice(len(chunks), size=min(200, len(chunks)), replace=False)]
    titles = {a.id: a.title for a in source.articles()}
    originals = embedder.embed([embedding_input(titles[c.article_id], c.text) for c in sample])
    altered = embedder.embed([embedding_input(alter(titles[c.article_id], 9), alter(c.text, 9)) for c in sample])
    mu = float(np.mean(np.sum(originals * altered, axis=1)))
    return float(np.sqrt((1.0 / mu**2 - 1.0) / dim)), mu


def make_archive(source_root: Path, out: Path, target: int, sigma: float) -> dict:
    """Write a store of about `target` chunks at `out` from the dev store; see the
    module docstring. Returns timings."""
    import faiss

    from index import ann
    from index.embedder import embedding_input
    from index.keyword import build_bm25
    from index.generation import FORMAT_VERSION, MANIFEST, Manifest
    from index.store import META, SCHEMA, VECTORS, Store
    from index.writes import write_json_atomic

    source = Store.open(source_root)
    articles = source.articles()
    texts = {a.id: source.article_text(a.id) for a in articles}
    chunks = source.chunks()
    by_article: dict[str, list] = {}
    for c in chunks:
        by_article.setdefault(c.article_id, []).append(c)
    flat = source.vectors()
    vectors, ids = ann.flat_matrix(flat)
    row_of_id = {int(i): r for r, i in enumerate(ids)}
    dates = [date.fromisoformat(a.date) for a in articles if a.date]
    span = (max(dates) - min(dates)).days + 1
    copies = -(-target // len(chunks))
    if out.exists():
        shutil.rmtree(out)
    gen = out / "gen-000001"
    gen.mkdir(parents=True)
    started = time.perf_counter()
    conn = sqlite3.connect(gen / META)
    conn.executescript(SCHEMA)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(flat.d))
    bm25_inputs: list[str] = []
    rng = np.random.default_rng(1)
    next_id = 1
    for copy in range(copies):
        shift = timedelta(days=copy * span)
        art_rows, chunk_rows, new_vectors = [], [], []
        for a in articles:
            aid = f"c{copy:03d}/{a.id}"
            text = alter(texts[a.id], copy)
            title = alter(a.title, copy)
            when = (date.fromisoformat(a.date) - shift).isoformat() if a.date else None
            art_rows.append((aid, f"c{copy:03d}/{a.path}", title, when, a.source, a.url, a.author,
                             hashlib.sha1(text.encode()).hexdigest(), text))
            for c in by_article.get(a.id, []):
                chunk_text = text[c.start : c.end]
                chunk_rows.append((next_id, aid, c.ordinal, c.start, c.end, chunk_text))
                bm25_inputs.append(embedding_input(title, chunk_text))
                new_vectors.append(row_of_id[c.id])
                next_id += 1
        conn.executemany("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)", art_rows)
        conn.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?)", chunk_rows)
        block = vectors[new_vectors]
        if copy:
            block = block + rng.normal(0.0, sigma, size=block.shape).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        index.add_with_ids(np.ascontiguousarray(block, dtype=np.float32), np.array([r[0] for r in chunk_rows], dtype=np.int64))
        print(f"  copy {copy + 1}/{copies}: {next_id - 1} chunks", file=sys.stderr, end="\r")
    conn.execute("INSERT OR REPLACE INTO settings VALUES ('next_chunk_id', ?)", (str(next_id),))
    conn.commit()
    n_articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    conn.close()
    print(file=sys.stderr)
    t = time.perf_counter()
    faiss.write_index(index, str(gen / VECTORS))
    build_bm25(bm25_inputs, gen)
    bm25_s = time.perf_counter() - t
    del bm25_inputs
    t = time.perf_counter()
    has_ann = ann.build(index, gen, None, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, flat.d), np.float32))
    ann_s = time.perf_counter() - t
    m = source.manifest
    write_json_atomic(gen / MANIFEST, Manifest(
        format_version=FORMAT_VERSION, generation=1, model=m.model, dim=m.dim, chunker=m.chunker,
        corpus=f"synthetic x{copies} of {m.corpus}", created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        articles=n_articles, chunks=index.ntotal,
    ).model_dump())
    (out / "CURRENT").write_text(gen.name + "\n")
    if has_ann:  # the same generation without its IVF file: the exact search at this size
        exact = out.with_name(out.name + "-exact")
        shutil.rmtree(exact, ignore_errors=True)
        (exact / gen.name).mkdir(parents=True)
        for p in gen.iterdir():
            if p.name != ann.ANN:
                (exact / gen.name / p.name).symlink_to(p)
        (exact / "CURRENT").write_text(gen.name + "\n")
    return {"chunks": index.ntotal, "articles": n_articles, "copies": copies, "write_s": round(time.perf_counter() - started, 1),
            "bm25_s": round(bm25_s, 1), "ivf_s": round(ann_s, 1) if has_ann else None}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(store_root: Path, eval_dir: Path) -> dict:
    """In this (fresh) process: open the store as the assistant does, search the dev
    questions, and time a plain dense pipeline over the same vectors."""
    from assistant.retriever import Retriever
    from index.encoders import make_embedder
    from index.store import Store

    t = time.perf_counter()
    store = Store.open(store_root)
    embedder = make_embedder("minilm-int8")
    embedder.load()
    retriever = Retriever(store, embedder)
    open_s = time.perf_counter() - t
    questions = devset.load_questions(eval_dir)
    t = time.perf_counter()
    for q in questions[:5]:
        retriever.search(q["question"], k=5, as_of=date.fromisoformat(q["question_date"]))
    warm_s = time.perf_counter() - t
    latencies = []
    hit5 = 0
    cpu = []
    for q in questions:
        t, c = time.perf_counter(), time.thread_time()
        result = retriever.search(q["question"], k=5, as_of=date.fromisoformat(q["question_date"]))
        latencies.append(1000 * (time.perf_counter() - t))
        cpu.append(1000 * (time.thread_time() - c))
        gold = {f"c000/{e['file']}" for e in q["evidence"]}  # the originals are copy 0
        hit5 += any({h.file, *h.duplicates} & gold for h in result.hits)
    rss = rss_mb()
    # The reference: embed, then FAISS flat top-10 over every vector (no filters, no
    # BM25), on one OpenMP thread as our searches are (FAISS's default team fights the
    # encoder's threads for the two cores and doubles its time: no handicap here).
    from index.ann import one_query_thread

    flat = store.vectors()
    plain = []
    for q in questions:
        t = time.perf_counter()
        with one_query_thread():
            flat.search(embedder.embed([q["question"]]), 10)
        plain.append(1000 * (time.perf_counter() - t))
    lat, ref = sorted(latencies), sorted(plain)
    return {
        "store": str(store_root), "chunks": len(store.chunk_ids), "ivf": store.approximate(),
        "hit@5": round(hit5 / len(questions), 3),
        "p50_ms": round(statistics.median(lat), 1), "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "rss_mb": round(rss), "open_s": round(open_s, 1), "first_queries_s": round(warm_s, 1),
        "plain_dense_p50_ms": round(statistics.median(ref), 1), "ratio_to_plain": round(statistics.median(lat) / statistics.median(ref), 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    devset.add_eval_argument(ap)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "news-assistant-bench-scale")
    ap.add_argument("--sizes", default="50000,250000,1000000")
    ap.add_argument("--rebuild", action="store_true", help="make the archives again")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # one store, in a child process
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.eval)))
        return 0
    devset.load_questions(args.eval)  # exits at once when there is no set
    from assistant.api import NewsAssistant
    from assistant.config import load_settings

    source_root = args.work / "dev"
    na = NewsAssistant(load_settings({"corpus": args.eval / "articles", "store": source_root, "embedder": "minilm-int8"}))
    na.build_index()
    source = na.store()
    sizes = [int(s) for s in args.sizes.split(",")]
    sigma, mu = noise_scale(source, na.embedder, source.manifest.dim)
    print(f"noise: cosine of altered to original chunks, real encoder: {mu:.3f} -> sigma {sigma:.4f} per dimension")
    built = {}
    for size in sizes:
        out = args.work / f"archive-{size}"
        if args.rebuild or not (out / "CURRENT").exists():
            print(f"making {out} ...", file=sys.stderr)
            built[size] = make_archive(source_root, out, size, sigma)
            print(json.dumps(built[size]))
    rows = []
    for size in sizes:
        for root in (args.work / f"archive-{size}", args.work / f"archive-{size}-exact"):
            if not (root / "CURRENT").exists():
                continue
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            out = subprocess.run([sys.executable, __file__, "--eval", str(args.eval), "--measure", str(root)],
                                 capture_output=True, text=True, env=env)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return 1
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["build"] = built.get(size)
            rows.append(row)
            print(json.dumps(row))
    print()
    print("| chunks | dense search | hit@5 | p50 ms | p95 ms | CPU p50 ms | RSS MB | plain dense p50 ms | ratio | open s | first 5 queries s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chunks']:,} | {'IVF-SQ8' if r['ivf'] else 'exact'} | {r['hit@5']} | {r['p50_ms']} | {r['p95_ms']} | {r['cpu_p50_ms']} | {r['rss_mb']} | "
              f"{r['plain_dense_p50_ms']} | {r['ratio_to_plain']} | {r['open_s']} | {r['first_queries_s']} |")
    (ROOT / "bench/results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/results/scale.json").write_text(json.dumps({"sigma": sigma, "cosine": mu, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
