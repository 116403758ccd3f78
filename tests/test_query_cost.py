"""Queries score only candidates (issue: queries that stay fast as the archive grows).

- Below the IVF threshold the candidate search must give exactly what scoring every
  chunk gives: the same hits, scores, duplicates and stories. Checked on real articles
  (a slice of the RealTime QA set) with the dev questions, their as-of dates and
  filters, against the same retriever made to take every chunk as a candidate. The
  hashing embedder keeps this fast; the logic does not depend on meaning.
- Past the threshold the dense side is an IVF index (real model, real FAISS): it is
  built and updated with the store, keeps eligibility inside the search, and finds
  what the exact search finds.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from assistant.retriever import Filters, Retriever, RetrieverSettings
from index import ann
from index.builder import build_index
from index.store import Store
from stand_in import HashingEmbedder

QUESTIONS = Path(__file__).resolve().parents[2] / "shared/eval/realtimeqa-dev/questions.jsonl"


def _slice(eval_articles: Path, dest: Path, n: int) -> Path:
    """The first `n` articles of the eval set (by name), copied into a tmp corpus."""
    dest.mkdir()
    for p in sorted(eval_articles.iterdir())[:n]:
        shutil.copy(p, dest / p.name)
    return dest


def _questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


def _hits(result) -> list[tuple]:
    return [(h.chunk_id, round(h.score, 12), h.duplicates, h.story, h.start, h.end) for h in result.hits]


@pytest.fixture(scope="module")
def sliced(eval_articles, tmp_path_factory) -> Store:
    tmp = tmp_path_factory.mktemp("slice")
    corpus = _slice(eval_articles, tmp / "articles", 160)
    report = build_index(corpus, tmp / "store", HashingEmbedder())
    assert report.published and report.chunks > 1500
    return Store.open(tmp / "store")


@pytest.mark.parametrize("filters", [
    Filters(), Filters(date_from=date(2022, 1, 1)), Filters(path_glob="*2021*"), Filters(date_to=date(2021, 12, 31)),
])
def test_candidates_give_the_results_of_scoring_every_chunk(sliced, filters):
    embedder = HashingEmbedder()
    few = Retriever(sliced, embedder, RetrieverSettings(candidates=1))  # 40*k rows a ranking
    every = Retriever(sliced, embedder, RetrieverSettings(candidates=10**9))
    compared = 0
    for q in _questions():
        as_of = date.fromisoformat(q["question_date"])
        a = few.search(q["question"], k=5, as_of=as_of, filters=filters)
        b = every.search(q["question"], k=5, as_of=as_of, filters=filters)
        assert _hits(a) == _hits(b), q["question"]
        compared += bool(b.hits)
    assert compared > 50


def test_a_row_outside_both_lists_gets_its_exact_rank(sliced):
    """The ranks the fusion uses for rows that one list left out are the ranks they hold
    among every eligible row (ties: lower row first)."""
    from assistant.candidates import rank_rows as _ranks

    rng = np.random.default_rng(1)
    every = rng.integers(0, 20, size=300).astype(np.float32)  # many ties
    every[rng.choice(300, 40, replace=False)] = -np.inf  # not eligible
    order = sorted(np.flatnonzero(np.isfinite(every)), key=lambda r: (-every[r], r))
    true_rank = {int(r): i + 1 for i, r in enumerate(order)}
    listed = np.array(order[:25])
    rows = np.union1d(listed, rng.choice(order[25:], 30, replace=False))
    ranks = _ranks(rows, listed, every[rows], every)
    assert {int(r): int(x) for r, x in zip(rows, ranks)} == {int(r): true_rank[int(r)] for r in rows}


# -- past the threshold: the IVF index, real model ---------------------------------------


@pytest.fixture(scope="module")
def ivf_store(eval_articles, tmp_path_factory, int8):
    tmp = tmp_path_factory.mktemp("ivf")
    corpus = _slice(eval_articles, tmp / "articles", 16)
    small = ann.AnnSettings(min_chunks=1, nprobe=2)
    report = build_index(corpus, tmp / "store", int8, ann_settings=small)
    assert report.published
    # The same generation without its IVF file: the exact search over the same vectors.
    shutil.copytree(tmp / "store", tmp / "exact")
    (Store.open(tmp / "exact").gen / ann.ANN).unlink()
    return tmp, corpus, small


def test_a_large_store_searches_an_ivf_index_with_eligibility_inside(ivf_store, int8):
    tmp, _, small = ivf_store
    store, exact = Store.open(tmp / "store"), Store.open(tmp / "exact")
    assert store.approximate() and (store.gen / ann.ANN).is_file() and "IVF" in store.describe()["dense_search"]
    assert not exact.approximate() and not (exact.gen / ann.ANN).exists()
    queries = [q["question"] for q in _questions()[:20]]
    agree = 0
    for vector in int8.embed(queries):
        ivf, flat = store.dense_search(vector, 10, settings=small), exact.dense_search(vector, 10)
        agree += int(ivf.rows[0] == flat.rows[0])
        # 8-bit codes: the scores are the exact ones within the quantisation error.
        assert np.allclose(store.dense_scores_at(vector, ivf.rows), exact.dense_scores_at(vector, ivf.rows), atol=0.02)
        half = np.zeros(len(store.chunk_ids), dtype=bool)
        half[::2] = True
        filtered = store.dense_search(vector, 50, half, settings=small)
        assert len(filtered.rows) == 50 and half[filtered.rows].all()
    assert agree >= 17
    # The query side of a large store never reads the flat vectors, not even to check it.
    shutil.copytree(tmp / "store", tmp / "no-flat")
    no_flat = Store.open(tmp / "no-flat")
    (no_flat.gen / "vectors.faiss").unlink()
    no_flat.check()
    assert len(no_flat.dense_search(int8.embed(queries[:1])[0], 5, settings=small).rows) == 5


def test_an_update_reuses_the_ivf_index_and_finds_the_new_article(ivf_store, int8, eval_articles):
    import faiss

    tmp, corpus, small = ivf_store
    before = faiss.read_index(str(Store.open(tmp / "store").gen / ann.ANN))
    new = sorted(eval_articles.iterdir())[30]
    shutil.copy(new, corpus / new.name)
    report = build_index(corpus, tmp / "store", int8, ann_settings=small)
    assert report.added == [new.name] and report.embedded_chunks < 40
    store = Store.open(tmp / "store")
    after = faiss.read_index(str(store.gen / ann.ANN))
    assert after.nlist == before.nlist and after.ntotal == len(store.chunk_ids) == before.ntotal + report.embedded_chunks
    # Centroids kept: the update added the new vectors instead of training again.
    assert np.array_equal(faiss.vector_to_array(faiss.downcast_index(after.quantizer).codes),
                          faiss.vector_to_array(faiss.downcast_index(before.quantizer).codes))
    ids = [c.id for c in store.chunks_of(new.name)]
    found = store.dense_search(int8.embed([store.chunks([ids[0]])[0].text])[0], 3, settings=small)
    assert store.chunk_ids[found.rows[0]] == ids[0]
    # The retriever over the IVF store answers with the new article.
    retriever = Retriever(store, int8, replace(RetrieverSettings(), stories=True))
    title = store.article(new.name).title
    assert new.name in [h.file for h in retriever.search(title, k=5, as_of=date(2030, 1, 1)).hits]
