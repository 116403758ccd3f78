"""Queries score only candidates (issue: queries that stay fast as the archive grows).

- Below the IVF threshold the dense list is the exact top of the eligible rows (a
  16-bit scan rescored from the 32-bit vectors), and the fusion reads the two lists
  as reciprocal-rank fusion defines it. Both are checked against brute force over
  every chunk, on real articles (a slice of the RealTime QA set) with the dev
  questions, their as-of dates and filters. The hashing embedder keeps this fast; the
  logic does not depend on meaning.
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
FILTERS = [Filters(), Filters(date_from=date(2022, 1, 1)), Filters(path_glob="*2021*"), Filters(date_to=date(2021, 12, 31))]


def _slice(eval_articles: Path, dest: Path, n: int) -> Path:
    """The first `n` articles of the eval set (by name), copied into a tmp corpus."""
    dest.mkdir()
    for p in sorted(eval_articles.iterdir())[:n]:
        shutil.copy(p, dest / p.name)
    return dest


def _questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sliced(eval_articles, tmp_path_factory) -> Store:
    tmp = tmp_path_factory.mktemp("slice")
    corpus = _slice(eval_articles, tmp / "articles", 160)
    report = build_index(corpus, tmp / "store", HashingEmbedder())
    assert report.published and report.chunks > 1500
    return Store.open(tmp / "store")


@pytest.mark.parametrize("filters", FILTERS)
def test_the_dense_list_is_the_top_of_the_eligible_rows_with_exact_scores(sliced, filters):
    retriever = Retriever(sliced, HashingEmbedder())
    questions = _questions()[:40]
    for q, vector in zip(questions, HashingEmbedder().embed([q["question"] for q in questions])):
        _, _, eligible, count = retriever._eligibility(date.fromisoformat(q["question_date"]), filters)
        for n in (1, 50, 600, 10**6):
            found = sliced.dense_search(vector, n, eligible)
            every = sliced.dense_scores(vector)
            assert len(found.rows) == min(n, count) and eligible[found.rows].all()
            # The scores are the exact 32-bit ones (up to BLAS's summation order), best
            # first, ties by row.
            assert np.allclose(found.scores, every[found.rows], rtol=0, atol=1e-6)
            assert all((a > b) or (a == b and r < s) for a, b, r, s in
                       zip(found.scores, found.scores[1:], found.rows, found.rows[1:]))
            # No eligible row left out scores above the list's end, beyond the 16-bit
            # scan's rounding.
            left = eligible.copy()
            left[found.rows] = False
            if left.any():
                assert every[left].max() <= found.scores[-1] + 2e-3


@pytest.mark.parametrize("filters", FILTERS[:2])
def test_the_fusion_is_reciprocal_rank_fusion_of_the_two_lists(sliced, filters):
    """Against brute force: every chunk's BM25 score sorted for the keyword list (ties:
    lower row, also at the cut); a row gets 1/(rrf_k + rank) from each list it is in
    and nothing from the other."""
    settings = RetrieverSettings()
    retriever = Retriever(sliced, HashingEmbedder(), settings)
    questions = _questions()[:40]
    for q, vector in zip(questions, HashingEmbedder().embed([q["question"] for q in questions])):
        _, _, eligible, _ = retriever._eligibility(date.fromisoformat(q["question_date"]), filters)
        keyword = sliced.keyword().scores(q["question"])
        n = 60
        c = retriever._candidates(vector, eligible, keyword, n)
        every = sliced.dense_scores(vector)
        rows = np.flatnonzero(eligible)
        dense_list = sliced.dense_search(vector, n, eligible).rows  # checked above
        kw_list = sorted(rows[keyword[rows] > 0], key=lambda r: (-keyword[r], r))[:n]
        expected = {int(r): 0.0 for r in set(dense_list) | set(kw_list)}
        for listed, weight in ((dense_list, settings.dense_weight), (kw_list, settings.keyword_weight)):
            for rank, r in enumerate(listed, 1):
                expected[int(r)] += weight / (settings.rrf_k + rank)
        assert sorted(expected) == c.rows.tolist()
        fused = retriever.fuse(c)
        assert np.allclose(fused, [expected[int(r)] for r in c.rows], atol=2e-7)  # the tie-breaker
        assert np.allclose(c.dense, every[c.rows], rtol=0, atol=1e-6) and np.array_equal(c.keyword, keyword[c.rows])


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
