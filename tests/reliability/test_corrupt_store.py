"""Truncated or damaged store files (FAISS vectors, SQLite metadata, BM25, manifest,
CURRENT) give one clear error naming the fix, `assistant index --rebuild`, never a
traceback; and both `assistant index --rebuild` and a plain update recover from them.

Stores for the damage matrix are built with a stand-in embedder named like the real
model (so the CLI opens them without loading it); the recovery through the CLI uses
the real model.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Callable

import pytest

from assistant.api import NewsAssistant
from assistant.cli_common import hint_for
from assistant.cli import main as cli_main
from index.builder import build_index
from index.errors import StoreCorruptError, StoreError
from index.store import Store
from reliability_support import (
    REBUILD, FakeMiniLM, assert_friendly_failure, cli, proc_env, read_json_output, write_corpus,
)

GEN = "gen-000001"
N_ARTICLES = 8


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("pristine")
    corpus, root = base / "articles", base / "store"
    write_corpus(corpus, N_ARTICLES)
    report = build_index(corpus, root, FakeMiniLM())
    assert report.articles == N_ARTICLES and report.chunks >= N_ARTICLES
    return corpus, root


@pytest.fixture
def store_copy(pristine, tmp_path) -> tuple[Path, Path]:
    corpus, root = pristine
    shutil.copytree(root, tmp_path / "store")
    return corpus, tmp_path / "store"


# -- ways to damage a store ----------------------------------------------------------


def truncate(rel: str, keep: float) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        p = root / GEN / rel
        data = p.read_bytes()
        p.write_bytes(data[: int(len(data) * keep)])
    return damage


def garbage(rel: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        p = root / GEN / rel
        p.write_bytes(os.urandom(max(64, p.stat().st_size)))
    return damage


def delete(rel: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        p = root / GEN / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    return damage


def table_page(table: str) -> Callable[[Path], None]:
    """Scramble the header of a leaf page of one SQLite table: opening the store reads
    only the chunk ids, so a damaged articles page is met later, mid-query."""
    def damage(root: Path) -> None:
        db = root / GEN / "meta.sqlite"
        conn = sqlite3.connect(db)
        try:
            page, size = conn.execute(
                "SELECT pageno, pgsize FROM dbstat WHERE name=? AND pagetype='leaf' ORDER BY pageno LIMIT 1", (table,)
            ).fetchone()
        finally:
            conn.close()
        flip_page_header(db, page, size)
    return damage


def flip_page_header(db: Path, page: int, size: int = 4096) -> None:
    data = bytearray(db.read_bytes())
    offset = (page - 1) * size + (100 if page == 1 else 0)
    for i in range(offset, offset + 12):
        data[i] ^= 0xA5
    db.write_bytes(bytes(data))


def write_root(name: str, content: bytes) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        (root / name).write_bytes(content)
    return damage


DAMAGE = {
    "faiss truncated to half": truncate("vectors.faiss", 0.5),
    "faiss truncated to its header": truncate("vectors.faiss", 0.0002),
    "faiss empty": truncate("vectors.faiss", 0),
    "faiss random bytes": garbage("vectors.faiss"),
    "faiss missing": delete("vectors.faiss"),
    "sqlite truncated to half": truncate("meta.sqlite", 0.5),
    "sqlite truncated to one page": truncate("meta.sqlite", 0.01),
    "sqlite empty": truncate("meta.sqlite", 0),
    "sqlite random bytes": garbage("meta.sqlite"),
    "sqlite missing": delete("meta.sqlite"),
    "sqlite articles page damaged": table_page("articles"),
    "sqlite chunks page damaged": table_page("chunks"),
    "manifest truncated": truncate("manifest.json", 0.5),
    "manifest empty": truncate("manifest.json", 0),
    "manifest random bytes": garbage("manifest.json"),
    "manifest missing": delete("manifest.json"),
    "bm25 folder missing": delete("bm25"),
    "bm25 vocabulary truncated": truncate("bm25/vocab.index.json", 0.5),
    "bm25 matrix truncated": truncate("bm25/data.csc.index.npy", 0.5),
    "bm25 pointers random bytes": garbage("bm25/indptr.csc.index.npy"),
    "CURRENT random bytes": write_root("CURRENT", b"\x00\xff\xfe garbage \x9b"),
    "CURRENT empty": write_root("CURRENT", b""),
    "CURRENT names a missing generation": write_root("CURRENT", b"gen-000042\n"),
    "CURRENT escapes the store": write_root("CURRENT", b"../../etc\n"),
    "generation folder missing": delete(""),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_store_is_one_clear_error_and_an_update_repairs_it(case, store_copy, capsys):
    corpus, root = store_copy
    DAMAGE[case](root)
    where = ["--corpus", str(corpus), "--store", str(root)]

    # The CLI's error path, in-process: one "error:" line and the fix, exit status 1.
    assert cli_main(["status", *where]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and REBUILD in err and "Traceback" not in err
    assert len([l for l in err.splitlines() if l.strip()]) == 2, err

    # The API used by the TUI and scripts: a StoreError (which the UIs show), nothing rawer.
    na = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=corpus, store=root)
    with pytest.raises(StoreError) as info:
        na.ask("What did the harbor authority reopen?", as_of=date(2023, 1, 1))
    # The remedy is named, and each front end says it its own way.
    assert info.value.remedy == "rebuild" and REBUILD in (hint_for(info.value) or "")
    from assistant.tui.app import user_hint

    assert "Ctrl+R" in user_hint(info.value)

    # A plain update (no --rebuild) notices the damage and builds from scratch.
    report = build_index(corpus, root, FakeMiniLM())
    assert report.published and report.full_rebuild and report.articles == N_ARTICLES
    assert any("building from scratch" in n for n in report.notes), report.notes
    answer = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=corpus, store=root).ask(
        "What did the harbor authority reopen?", as_of=date(2023, 1, 1))
    assert answer.citations and answer.citations[0].file == "story-000.txt"
    assert not [p for p in root.iterdir() if p.name.startswith("tmp-")]


def test_every_damaged_sqlite_page_is_a_store_error_or_harmless(pristine, tmp_path):
    """Scramble each page of meta.sqlite in turn: reading the store either works or
    raises StoreCorruptError; no sqlite3 exception escapes."""
    corpus, root = pristine
    db = root / GEN / "meta.sqlite"
    pages = db.stat().st_size // 4096
    outcomes = {"ok": 0, "error": 0}
    for page in range(1, pages + 1):
        copy = tmp_path / f"p{page}"
        shutil.copytree(root, copy)
        flip_page_header(copy / GEN / "meta.sqlite", page)
        try:
            na = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=corpus, store=copy)
            store = na.store()
            store.describe()
            for a in store.articles():
                store.article_text(a.id)
                store.chunks_of(a.id)
            na.search("harbor ferry pier", as_of=date(2023, 1, 1))
            outcomes["ok"] += 1
        except StoreCorruptError as e:
            assert e.remedy == "rebuild" and REBUILD in (hint_for(e) or "")
            outcomes["error"] += 1
        shutil.rmtree(copy)
    assert outcomes["error"] > pages // 2, outcomes


def test_every_truncation_of_the_vectors_is_caught(pristine, tmp_path):
    corpus, root = pristine
    vectors = (root / GEN / "vectors.faiss").read_bytes()
    for keep in [0, 1, 8, 45, 46, 100, 1000] + [len(vectors) * k // 10 for k in range(1, 10)] + [len(vectors) - 1]:
        copy = tmp_path / f"v{keep}"
        shutil.copytree(root, copy)
        (copy / GEN / "vectors.faiss").write_bytes(vectors[:keep])
        with pytest.raises(StoreCorruptError, match="vectors.faiss"):
            Store.open(copy).vectors()
        shutil.rmtree(copy)


# -- real processes ---------------------------------------------------------------------

CLI_CASES = [
    ("faiss truncated to half", ["status"]),
    ("sqlite truncated to half", ["search", "harbor ferry"]),
    ("sqlite articles page damaged", ["status"]),
    ("sqlite articles page damaged", ["search", "harbor ferry"]),
    ("manifest truncated", ["ask", "What reopened at the harbor?"]),
    ("CURRENT random bytes", ["status"]),
    ("bm25 folder missing", ["search", "harbor ferry"]),
]


@pytest.mark.parametrize("case,command", CLI_CASES, ids=[f"{c}-{cmd[0]}" for c, cmd in CLI_CASES])
def test_cli_on_a_damaged_store_says_what_to_run(case, command, store_copy, tmp_path):
    corpus, root = store_copy
    DAMAGE[case](root)
    proc = cli(*command, "--corpus", str(corpus), "--store", str(root), env=proc_env(tmp_path, user_default=False))
    line = assert_friendly_failure(proc, REBUILD)
    assert "damaged" in line or "incomplete" in line or "missing" in line, line
    assert "faiss::" not in proc.stderr  # no C++ signatures from FAISS in the message


@pytest.mark.slow
def test_assistant_index_rebuild_repairs_a_damaged_store_with_the_real_model(real_store, tmp_path, site_dir):
    mine = real_store.copy_to(tmp_path)
    gen = mine.store / (mine.store / "CURRENT").read_text().strip()
    garbage_bytes = os.urandom(4096)
    (gen / "vectors.faiss").write_bytes(garbage_bytes)
    (gen / "meta.sqlite").write_bytes((gen / "meta.sqlite").read_bytes()[:5000])
    env = proc_env(mine.home, site_dir, RELIABILITY_NET_LOG=str(mine.net_log))
    where = ["--corpus", str(mine.corpus), "--store", str(mine.store)]

    assert_friendly_failure(cli("status", *where, env=env), REBUILD)
    rebuilt = read_json_output(cli("index", "--rebuild", "--json", *where, env=env))
    assert rebuilt["published"] and rebuilt["full_rebuild"] and rebuilt["articles"] == 8
    status = read_json_output(cli("status", "--json", *where, env=env))
    assert (status["articles"], status["generation"]) == (8, rebuilt["generation"])
    assert not mine.net_log.exists()


IVF_DAMAGE = {
    "IVF index truncated to half": truncate("ann.faiss", 0.5),
    "IVF index empty": truncate("ann.faiss", 0),
    "IVF index random bytes": garbage("ann.faiss"),
}


@pytest.mark.parametrize("case", list(IVF_DAMAGE))
def test_a_damaged_ivf_index_is_one_clear_error_and_an_update_repairs_it(case, tmp_path):
    """A large store's IVF file (here made for a small one) damaged: the same clear error
    and remedy as the other files; an update trains a new IVF index instead of reading
    the damaged one."""
    from index import ann

    corpus, root = tmp_path / "articles", tmp_path / "store"
    write_corpus(corpus, N_ARTICLES)
    every_size = ann.AnnSettings(min_chunks=1)
    assert build_index(corpus, root, FakeMiniLM(), ann_settings=every_size).published
    IVF_DAMAGE[case](root)
    na = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=corpus, store=root)
    with pytest.raises(StoreCorruptError, match="ann.faiss") as info:
        na.ask("What did the harbor authority reopen?", as_of=date(2023, 1, 1))
    assert info.value.remedy == "rebuild"
    (corpus / "story-000.txt").write_text((corpus / "story-000.txt").read_text() + "\nOne more line.\n")
    report = build_index(corpus, root, FakeMiniLM(), ann_settings=every_size)
    assert report.published and report.changed == ["story-000.txt"]
    store = Store.open(root)
    assert store.approximate()
    answer = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=corpus, store=root).ask(
        "What did the harbor authority reopen?", as_of=date(2023, 1, 1))
    assert answer.citations and answer.citations[0].file == "story-000.txt"
