"""Two rebuilds at once, and a rebuild while a chat is reading the store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import date

import pytest

from assistant.api import NewsAssistant
from index.builder import build_index
from stand_in import HashingEmbedder
from index.store import Store
from reliability_support import assert_friendly_failure, cli, cli_popen, dir_names, proc_env, write_corpus

pytestmark = pytest.mark.slow


def test_two_assistant_index_at_once(tmp_path, site_dir):
    """Exactly one builds; the other says at once that the index is being rebuilt."""
    corpus, store = tmp_path / "articles", tmp_path / "store"
    write_corpus(corpus, 8)
    env = proc_env(tmp_path, site_dir, RELIABILITY_NET_LOG=str(tmp_path / "net.log"))
    where = ["--corpus", str(corpus), "--store", str(store), "--quiet"]
    first = cli_popen("index", *where, env=env)
    try:
        deadline = time.monotonic() + 120
        while not ((store / "lock").exists() and (store / "lock").read_text().strip() == str(first.pid)):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first build never took the lock"
            time.sleep(0.02)
        started = time.monotonic()
        second = cli("index", *where, env=env)
        waited = time.monotonic() - started
        assert first.poll() is None, "the first build finished before the second started: no overlap tested"
        out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    line = assert_friendly_failure(second, "Wait for that build to finish")
    assert line == f"error: the index at {store} is being rebuilt by process {first.pid}"
    assert waited < 30  # refused at once, not queued behind the model load
    assert first.returncode == 0, err
    assert "8 added" in out and "index generation 1 holds 8 articles" in out
    s = Store.open(store)
    assert s.manifest.articles == 8 and s.vectors().ntotal == len(s.chunk_ids) == s.keyword().size
    assert dir_names(store) == ["CURRENT", "gen-000001", "lock"]
    assert not (tmp_path / "net.log").exists()


REBUILD = """
import pathlib, sys
from index.builder import build_index
from stand_in import HashingEmbedder
report = build_index(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), HashingEmbedder())
print(report.generation)
"""


def test_a_chat_keeps_answering_while_rebuilds_publish(tmp_path, child_env):
    """A reader thread (the chat's path: store(), search, ask with verified quotes) runs
    while three rebuilds in other processes publish generations 2, 3 and 4 (and delete
    older ones). It never fails, and it moves on to each new generation."""
    corpus, root = tmp_path / "articles", tmp_path / "store"
    write_corpus(corpus, 8)
    build_index(corpus, root, HashingEmbedder())
    na = NewsAssistant.from_settings(embedder=HashingEmbedder(), corpus=corpus, store=root)
    first = na.store()
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()
    rounds = [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                gen = na.store().manifest.generation
                if not seen or seen[-1] != gen:
                    seen.append(gen)
                hits = na.search("harbor authority north pier", k=3, as_of=date(2023, 1, 1)).hits
                # Later rounds add articles on the same topic (the topics cycle), which
                # may tie with story-000: it must stay among the top hits.
                assert "story-000.txt" in [h.file for h in hits], [h.file for h in hits]
                answer = na.ask("What did the harbor authority reopen?", as_of=date(2023, 1, 1))
                assert answer.citations and not answer.notices, answer.notices
                rounds[0] += 1
            except BaseException as e:  # noqa: BLE001 - the test reports whatever happened
                errors.append(e)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        for n in range(3):
            write_corpus(corpus, 5, start=9 + 5 * n, prefix=f"round{n}")
            done = subprocess.run([sys.executable, "-c", REBUILD, str(corpus), str(root)], env=child_env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            assert int(done.stdout) == n + 2
        deadline = time.monotonic() + 30
        while (not seen or seen[-1] != 4) and not errors and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert not errors, repr(errors[0])
    assert seen[0] == 1 and seen[-1] == 4 and seen == sorted(seen), seen
    assert rounds[0] >= 3
    assert na.store().manifest.articles == 8 + 15
    # gen-000001 is gone from disk, yet a reader still holding it keeps working.
    assert "gen-000001" not in dir_names(root)
    assert first.article_text("story-000.txt").startswith("The harbor authority reopened")
    assert first.chunks_of("story-000.txt") and not first.is_current()
