"""build_index and the store it writes: real model and FAISS for behaviour, the hashing
embedder for logic, real processes for locking and crashes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import build_pauses
from assistant.cli_common import hint_for

from index.builder import build_index, build_lock, chunk_for_model, spec_for
from index.chunker import ChunkerSettings, chunk_text
from index.corpus import scan_corpus
from index.embedder import embedding_input
from stand_in import HashingEmbedder
from index.errors import StoreLockedError, StoreMismatchError, StoreMissingError
from index.generation import StoreSpec
from index.store import Store


class Recording:
    """An embedder wrapper that records every text it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.dim, self.max_input_tokens = inner.name, inner.dim, inner.max_input_tokens
        self.embedded: list[str] = []

    def embed(self, texts, progress=None):
        self.embedded.extend(texts)
        return self.inner.embed(texts, progress)

    def input_lengths(self, texts):
        return self.inner.input_lengths(texts)


def expected_inputs(corpus: Path, ids: list[str]) -> list[str]:
    """What the builder must embed for these articles, in its order."""
    articles = scan_corpus(corpus).articles
    return [embedding_input(articles[i].title, c.text) for i in ids for c in chunk_text(articles[i].text)]


def faiss_ids(store: Store) -> set[int]:
    import faiss

    return set(int(i) for i in faiss.vector_to_array(store.vectors().id_map))


def top_article(store: Store, scores: np.ndarray) -> str:
    return store.chunks([int(store.chunk_ids[int(np.argmax(scores))])])[0].article_id


# -- the real model ----------------------------------------------------------------


def test_build_then_update_with_the_real_model(minilm, corpus, tmp_path, write_article, seed):
    root = tmp_path / "store"
    rec = Recording(minilm)
    first = build_index(corpus, root, rec)
    ids = sorted([seed.id, "floods.txt", "sub/chess.txt"])
    assert (first.added, first.changed, first.removed, first.unchanged) == (ids, [], [], 0)
    assert first.published and first.full_rebuild and first.generation == 1 and not first.skipped
    assert rec.embedded == expected_inputs(corpus, ids)
    assert first.embedded_chunks == len(rec.embedded) == first.chunks == 6 + 1 + 1

    store = Store.open(root, spec_for(minilm, ChunkerSettings()))
    assert (store.manifest.articles, store.manifest.chunks, len(store.chunk_ids)) == (3, 8, 8)
    assert store.article(seed.id).title == seed.title and store.article(seed.id).date == seed.date
    for c in store.chunks():
        assert store.article_text(c.article_id)[c.start : c.end] == c.text
    # Rows line up with vectors: a chunk's own input scores ~1 against its row.
    seed_chunks = store.chunks_of(seed.id)
    own = minilm.embed([embedding_input(seed.title, seed_chunks[2].text)])[0]
    scores = store.dense_scores(own)
    assert scores.shape == (8,) and scores[store.row_of(seed_chunks[2].id)] > 0.99
    ask = minilm.embed(["What do Russia and NATO disagree about?", "Who had to leave their homes because of the rain?"])
    assert top_article(store, store.dense_scores(ask[0])) == seed.id
    assert top_article(store, store.dense_scores(ask[1])) == "floods.txt"
    assert top_article(store, store.keyword().scores("chess champion")) == "sub/chess.txt"
    before = {a.id: [c.id for c in store.chunks_of(a.id)] for a in store.articles()}

    # Add one, change one, remove one.
    write_article(corpus, "markets.txt", "Stocks slide as interest rates climb", [
        "Stock markets fell for a third day on Tuesday as investors worried that rising "
        "interest rates would slow the economy.",
    ])
    floods = corpus / "floods.txt"
    floods.write_text(floods.read_text(encoding="utf-8").replace("on Monday", "on Sunday night"), encoding="utf-8")
    (corpus / "sub" / "chess.txt").unlink()
    rec.embedded.clear()
    second = build_index(corpus, root, rec)
    assert (second.added, second.changed, second.removed, second.unchanged) == (
        ["markets.txt"], ["floods.txt"], ["sub/chess.txt"], 1)
    assert not second.full_rebuild and second.generation == 2
    assert rec.embedded == expected_inputs(corpus, ["markets.txt", "floods.txt"])
    assert second.embedded_chunks == len(rec.embedded) == 2

    assert not store.is_current()
    new = Store.open(root, spec_for(minilm, ChunkerSettings()))
    assert [a.id for a in new.articles()] == [seed.id, "floods.txt", "markets.txt"]
    assert new.article("sub/chess.txt") is None and new.chunks_of("sub/chess.txt") == []
    assert all(c.article_id != "sub/chess.txt" for c in new.chunks())
    assert len(new.chunk_ids) == new.manifest.chunks == second.chunks == 6 + 1 + 1
    assert faiss_ids(new) == set(new.chunk_ids.tolist())
    assert not set(before["sub/chess.txt"]) & set(new.chunk_ids.tolist())
    assert new.dense_scores(ask[0]).shape == new.keyword().scores("chess").shape == (8,)
    assert not new.keyword().scores("chess champion").any()  # no row of the removed article left
    assert [c.id for c in new.chunks_of(seed.id)] == before[seed.id]  # unchanged: same ids
    assert min(c.id for c in new.chunks_of("floods.txt")) > max(max(v) for v in before.values())
    assert "Sunday night" in new.chunks_of("floods.txt")[0].text
    assert top_article(new, new.dense_scores(minilm.embed(["Why are stock markets falling?"])[0])) == "markets.txt"
    # The generation an open chat reads is kept until the next build.
    assert store.chunks_of("sub/chess.txt") and store.dense_scores(ask[0]).shape == (8,)

    rec.embedded.clear()
    third = build_index(corpus, root, rec)
    assert (third.added, third.changed, third.removed, third.unchanged) == ([], [], [], 3)
    assert not third.published and third.generation == 2 and rec.embedded == [] and third.embedded_chunks == 0


# -- logic, with the hashing embedder ------------------------------------------------


def test_bad_files_are_reported_and_good_ones_indexed(corpus, hashing, tmp_path, monkeypatch, write_article):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(b"\x7fELF\x02\x01\x00\x00garbage")
    (corpus / "latin1.txt").write_bytes("Caf\u00e9 and more text.".encode("latin-1"))
    (corpus / "bad.json").write_text('{"title": "x", "text": ', encoding="utf-8")
    (corpus / "feed.jsonl").write_text('{"title": "Good", "text": "A good line."}\n{broken\n', encoding="utf-8")
    (corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (corpus / ".hidden.txt").write_text("Hidden\n\nNot indexed.", encoding="utf-8")
    write_article(corpus, "big.txt", "Big", ["Many words here. " * 2000])
    locked = write_article(corpus, "locked.txt", "Locked", ["Cannot be read."])
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: (_ for _ in ()).throw(PermissionError(13, "denied")) if p == locked else real(p))

    report = build_index(corpus, tmp_path / "store", hashing, max_bytes=20_000)
    reasons = {s.path: s.reason for s in report.skipped}
    assert sorted(reasons) == ["bad.json", "big.txt", "binary.txt", "empty.txt", "latin1.txt", "locked.txt"]
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"] == "binary file (contains NUL bytes), not an article"
    assert reasons["latin1.txt"].startswith("not valid UTF-8 (byte 0xe9")
    assert reasons["bad.json"].startswith("malformed JSON at line 1")
    assert reasons["big.txt"].startswith("too large")
    assert reasons["locked.txt"].startswith("permission denied")
    assert report.warnings == ["feed.jsonl: line 2: malformed JSON (Expecting property name enclosed in double quotes); line skipped"]
    assert report.ignored == 1  # photo.jpg; hidden files are not even counted
    good = sorted(["000_5e6fe0b14c7628e6.txt", "floods.txt", "sub/chess.txt", "feed.jsonl#1"])
    assert report.added == good and report.articles == 4
    assert [a.id for a in Store.open(tmp_path / "store").articles()] == sorted(good, key=lambda i: (i.split("#")[0], i))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files; the monkeypatched test covers this")
def test_unreadable_file_for_real(corpus, hashing, tmp_path):
    (corpus / "floods.txt").chmod(0)
    try:
        report = build_index(corpus, tmp_path / "store", hashing)
    finally:
        (corpus / "floods.txt").chmod(0o644)
    assert [(s.path, s.reason.split(";")[0]) for s in report.skipped] == [("floods.txt", "permission denied")]
    assert len(report.added) == 2


def test_empty_corpus_gives_an_empty_store_that_answers(tmp_path, hashing):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "empty.txt").write_bytes(b"")
    report = build_index(tmp_path / "c", tmp_path / "s", hashing)
    assert report.published and report.articles == report.chunks == 0 and len(report.skipped) == 1
    store = Store.open(tmp_path / "s")
    assert store.dense_scores(hashing.embed(["x"])[0]).shape == (0,)
    assert store.keyword().scores("anything").shape == (0,)


def test_store_spec_mismatch(corpus, hashing, tmp_path):
    root = tmp_path / "store"
    build_index(corpus, root, hashing)
    chunker = ChunkerSettings().fingerprint()
    assert Store.open(root, StoreSpec(hashing.name, hashing.dim, chunker)).manifest.articles == 3
    for spec in (StoreSpec("all-MiniLM-L6-v2", 384, chunker),
                 StoreSpec(hashing.name, hashing.dim, ChunkerSettings(max_tokens=120).fingerprint())):
        with pytest.raises(StoreMismatchError) as info:
            Store.open(root, spec)
        assert info.value.remedy == "rebuild" and "--rebuild" in (hint_for(info.value) or "")
        assert "was built with" in str(info.value)
    # A build with other settings does not reuse the old vectors.
    rec = Recording(hashing)
    report = build_index(corpus, root, rec, ChunkerSettings(max_tokens=120))
    assert report.full_rebuild and report.added == sorted(report.added) and len(report.added) == 3
    assert report.embedded_chunks == len(rec.embedded) > 0
    assert any("not reusable" in n for n in report.notes)


def test_missing_store(tmp_path):
    with pytest.raises(StoreMissingError) as info:
        Store.open(tmp_path / "nothing")
    assert info.value.remedy == "build" and "assistant index" in (hint_for(info.value) or "")


def test_chunks_are_resplit_until_the_model_reads_them_whole(seed_article):
    class Narrow(HashingEmbedder):
        max_input_tokens = 60  # "tokens" are words for this embedder

    narrow = Narrow()
    chunks = chunk_for_model([seed_article], narrow, ChunkerSettings())[seed_article.id]
    assert len(chunks) > len(chunk_text(seed_article.text))
    lengths = narrow.input_lengths([embedding_input(seed_article.title, c.text) for c in chunks])
    assert max(lengths) <= 60
    assert all(seed_article.text[c.start : c.end] == c.text for c in chunks)


def test_chunk_ids_are_never_reused_across_a_rebuild(corpus, hashing, tmp_path):
    root = tmp_path / "store"
    build_index(corpus, root, hashing)
    old = set(Store.open(root).chunk_ids.tolist())
    build_index(corpus, root, hashing, rebuild=True)
    assert not old & set(Store.open(root).chunk_ids.tolist())


def _keyword_by_chunk(root: Path, queries: list[str]) -> dict[tuple, list[float]]:
    """Each chunk's BM25 scores for the queries, keyed by (article, ordinal): row order
    and chunk ids differ between an updated store and a fresh one."""
    store = Store.open(root)
    keys = [(c.article_id, c.ordinal) for c in store.chunks(store.chunk_ids.tolist())]
    scores = [store.keyword().scores(q) for q in queries]
    return {k: [float(s[row]) for s in scores] for row, k in enumerate(keys)}


def test_an_update_tokenises_only_new_chunks_and_scores_as_a_fresh_build(corpus, hashing, tmp_path, write_article, monkeypatch):
    import index.keyword as keyword

    root = tmp_path / "store"
    build_index(corpus, root, hashing)
    tokenised: list[str] = []
    real = keyword.tokenize
    monkeypatch.setattr(keyword, "tokenize", lambda texts: tokenised.extend(texts) or real(texts))
    write_article(corpus, "markets.txt", "Stocks slide as interest rates climb", [
        "Stock markets fell for a third day on Tuesday as investors worried that rising interest rates would slow "
        "the economy. The chess champion said nothing.",
    ])
    floods = corpus / "floods.txt"
    floods.write_text(floods.read_text(encoding="utf-8").replace("on Monday", "on Sunday night"), encoding="utf-8")
    report = build_index(corpus, root, hashing)
    assert report.embedded_chunks == 2 and len(tokenised) == 2  # the new and the changed article's chunks
    assert all("Stocks slide" in t or "Floods force" in t for t in tokenised)

    queries = ["chess champion", "interest rates economy", "rain flooded valley Sunday", "NATO Russia", "the"]
    fresh = tmp_path / "fresh"
    build_index(corpus, fresh, hashing)
    assert _keyword_by_chunk(root, queries) == _keyword_by_chunk(fresh, queries)

    # A damaged or inconsistent token file reuses nothing: every chunk is tokenised
    # again, with the same scores.
    def garbage(path):
        path.write_bytes(b"PK\x03\x04 not a zip")

    def not_an_archive(path):
        with open(path, "wb") as f:
            np.save(f, np.arange(10))

    def rows_out_of_order(path):
        with np.load(path) as f:
            parts = dict(f)
        parts["indptr"] = parts["indptr"][::-1].copy()
        with open(path, "wb") as f:
            np.savez(f, **parts)

    for n, damage in enumerate([garbage, not_an_archive, rows_out_of_order]):
        damage(Store.open(root).gen / "bm25" / keyword.TOKENS)
        write_article(corpus, f"extra-{n}.txt", f"Extra report number {n}", ["A short report on nothing much."])
        tokenised.clear()
        report = build_index(corpus, root, hashing)
        assert report.added == [f"extra-{n}.txt"] and len(tokenised) == report.chunks, damage.__name__
        shutil.rmtree(fresh)
        build_index(corpus, fresh, hashing)
        assert _keyword_by_chunk(root, queries) == _keyword_by_chunk(fresh, queries), damage.__name__


def test_store_path_with_a_hash_sign(corpus, hashing, tmp_path):
    root = tmp_path / "news #1"  # the default store is named after the corpus folder
    build_index(corpus, root, hashing)
    assert Store.open(root).manifest.articles == 3


def test_a_missing_corpus_leaves_no_store_folder(hashing, tmp_path):
    from index.errors import CorpusError

    with pytest.raises(CorpusError):
        build_index(tmp_path / "missing", tmp_path / "store", hashing)
    assert not (tmp_path / "store").exists()


# -- locking and crashes: real processes ---------------------------------------------

HOLD_LOCK = """
import pathlib, sys, time
from index.builder import build_lock
with build_lock(pathlib.Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_second_build_is_refused_while_one_holds_the_lock(corpus, hashing, tmp_path, child_env):
    root = tmp_path / "store"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(root)], stdout=subprocess.PIPE, env=child_env)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(StoreLockedError) as info:
            build_index(corpus, root, hashing)
        message = str(info.value)
        assert f"the index at {root} is being rebuilt by process {holder.pid}" in message
        assert "Wait for that build to finish" in message
        assert not (root / "CURRENT").exists()
    finally:
        holder.kill()
        holder.wait()
    assert build_index(corpus, root, hashing).published  # the kernel released the lock


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    with build_lock(tmp_path):
        with pytest.raises(StoreLockedError, match=f"process {os.getpid()}"):
            with build_lock(tmp_path):
                pass
    with build_lock(tmp_path):
        pass


# Pauses (tests/build_pauses.py): before embedding, mid-write (tmp- folder on disk),
# and with gen-N complete but CURRENT still naming the old one.
@pytest.mark.parametrize("phase", ["embedding", "keyword", "commit"])
def test_a_build_killed_midway_leaves_the_old_store_working(corpus, hashing, tmp_path, child_env, write_article, phase):
    root = tmp_path / "store"
    build_index(corpus, root, hashing)
    write_article(corpus, "late.txt", "A late article", ["It arrived after the first build."])
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", build_pauses.LIBRARY_BUILD, str(corpus), str(root)],
                             env={**child_env, **build_pauses.pause_env(phase, marker)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        build_pauses.wait_for_pause(child, marker)
        leftovers = sorted(p.name for p in root.iterdir() if p.name.startswith(("tmp-", "gen-")))
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    expected = {"embedding": ["gen-000001"], "keyword": ["gen-000001", "tmp-"], "commit": ["gen-000001", "gen-000002"]}[phase]
    assert [n[:4] if n.startswith("tmp-") else n for n in leftovers] == expected

    assert (root / "CURRENT").read_text().strip() == "gen-000001"
    old = Store.open(root, spec_for(hashing, ChunkerSettings()))
    assert (old.manifest.articles, old.article("late.txt")) == (3, None)
    assert top_article(old, old.dense_scores(hashing.embed(["national chess championship"])[0])) == "sub/chess.txt"
    assert top_article(old, old.keyword().scores("flooded valley boats")) == "floods.txt"

    report = build_index(corpus, root, hashing)
    assert (report.added, report.unchanged, report.published) == (["late.txt"], 3, True)
    names = sorted(p.name for p in root.iterdir())
    assert not [n for n in names if n.startswith("tmp-") or n.endswith(".tmp")]
    live = f"gen-{report.generation:06d}"
    assert names == sorted(["CURRENT", "lock", "gen-000001", live])
    assert Store.open(root).article("late.txt") is not None
