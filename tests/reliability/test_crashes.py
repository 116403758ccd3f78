"""kill -9 at several points of a rebuild: the old store still answers, and the next
rebuild completes and cleans up. Real processes, really killed (SIGKILL).

Three kinds of kill:
* at chosen points of the write, in a child that pauses there (tests/build_pauses.py:
  the only way to land a kill inside a millisecond-long window every time);
* at random moments of an unmodified build;
* `assistant index` with the real model, killed while it embeds.
"""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import build_pauses
from assistant.api import NewsAssistant
from index.builder import build_index
from stand_in import HashingEmbedder
from index.store import Store
from reliability_support import proc_env, cli, cli_popen, dir_names, read_json_output, write_corpus

pytestmark = pytest.mark.slow

POINTS = list(build_pauses.POINTS)


def holds_lock(root: Path) -> bool:
    fd = os.open(root / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def answers(root: Path, corpus: Path) -> set[str]:
    """Open the live store the way the chat does, search it, verify a quote; return its article ids."""
    na = NewsAssistant.from_settings(embedder=HashingEmbedder(), corpus=corpus, store=root)
    answer = na.ask("What did the harbor authority reopen?", as_of=date(2023, 1, 1))
    assert answer.citations and answer.citations[0].file == "story-000.txt", answer.text
    store = na.store()
    assert store.vectors().ntotal == len(store.chunk_ids) and store.keyword().size == len(store.chunk_ids)
    return {a.id for a in store.articles()}


def kill_at(point: str, corpus: Path, root: Path, marker: Path, env: dict) -> list[str]:
    child = subprocess.Popen([sys.executable, "-c", build_pauses.LIBRARY_BUILD, str(corpus), str(root)],
                             env={**env, **build_pauses.pause_env(point, marker)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        build_pauses.wait_for_pause(child, marker)
        leftovers = dir_names(root)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return leftovers


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_each_point_of_a_rebuild(point, tmp_path, child_env):
    corpus, root = tmp_path / "articles", tmp_path / "store"
    write_corpus(corpus, 8)
    build_index(corpus, root, HashingEmbedder())
    old = answers(root, corpus)
    write_corpus(corpus, 4, start=9, prefix="late")
    (corpus / "story-001.txt").unlink()  # one removal too: the old store must keep it

    leftovers = kill_at(point, corpus, root, tmp_path / "marker", child_env)
    # What the killed build left on disk, and what is live.
    partial = {"embedding": [], "sqlite": ["tmp-"], "vectors": ["tmp-"], "keyword": ["tmp-"],
               "manifest": ["tmp-"], "commit": ["gen-000002"], "cleanup": ["gen-000002"]}[point]
    assert sorted(n[:4] if n.startswith("tmp-") else ".tmp" if n.endswith(".tmp") else n
                  for n in leftovers if n not in ("CURRENT", "lock", "gen-000001")) \
        == sorted(partial + ([".tmp"] if point == "commit" else [])), leftovers
    assert not holds_lock(root)  # the kernel released the dead build's lock
    live = (root / "CURRENT").read_text().strip()
    if point == "cleanup":  # killed after its commit: the new generation is complete and live
        assert live == "gen-000002"
        assert answers(root, corpus) == (old - {"story-001.txt"}) | {f"late-{i:03d}.txt" for i in range(9, 13)}
    else:
        assert live == "gen-000001"
        assert answers(root, corpus) == old  # the old store, whole, still answers

    report = build_index(corpus, root, HashingEmbedder())
    assert report.articles == 11
    ids = answers(root, corpus)
    assert ids == (old - {"story-001.txt"}) | {f"late-{i:03d}.txt" for i in range(9, 13)}
    names = dir_names(root)
    assert not [n for n in names if n.startswith("tmp-") or n.endswith(".tmp")], names
    assert len([n for n in names if n.startswith("gen-")]) <= 2


def test_kill_at_random_moments_of_an_unmodified_build(tmp_path, child_env):
    """No pauses, no patches: a real build of 1,500 articles killed at random moments,
    half of them drawn from inside its write phase (seen through its progress output)."""
    corpus, root = tmp_path / "articles", tmp_path / "store"
    write_corpus(corpus, 8)
    build_index(corpus, root, HashingEmbedder())
    old = answers(root, corpus)
    (corpus / "bulk").mkdir()
    for i in range(1500):
        (corpus / "bulk" / f"{i:04d}.txt").write_text(
            f"2022-05-{i % 28 + 1:02d}\n\nBulletin {i}\n\n" + f"The committee met for session {i}. " * 3,
            encoding="utf-8")
    script = ("import pathlib, sys, time\nfrom index.builder import build_index\nfrom stand_in import HashingEmbedder\n"
              "def progress(stage, done, total):\n"
              "    if stage == 'writing' and done == 0:\n"
              "        print('writing', time.monotonic(), flush=True)\n"
              "print('start', time.monotonic(), flush=True)\n"
              "build_index(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), HashingEmbedder(), rebuild=True, progress=progress)\n"
              "print('done', time.monotonic(), flush=True)\n")
    probe = subprocess.run([sys.executable, "-c", script, str(corpus), str(tmp_path / "probe")], env=child_env,
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr
    stamps = {line.split()[0]: float(line.split()[1]) for line in probe.stdout.splitlines()}
    whole, writing = stamps["done"] - stamps["start"], stamps["done"] - stamps["writing"]
    rng = random.Random(20240601)
    landed = []
    for attempt in range(6):
        child = subprocess.Popen([sys.executable, "-c", script, str(corpus), str(root)], env=child_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().startswith("start")
            if attempt % 2:
                assert child.stdout.readline().startswith("writing")
                time.sleep(rng.uniform(0.0, 0.9) * writing)
            else:
                time.sleep(rng.uniform(0.1, 1.0) * whole)
            os.kill(child.pid, signal.SIGKILL)
            rc = child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        names = dir_names(root)
        landed.append("finished" if rc == 0 else "mid-write" if any(n.startswith("tmp-") for n in names)
                      else "after commit" if any(n.endswith(".tmp") for n in names) else "before writing")
        ids = answers(root, corpus)
        assert ids == old or len(ids) == len(old) + 1500, (attempt, rc, names)  # old or new, never partial
        assert not holds_lock(root)
    report = build_index(corpus, root, HashingEmbedder())
    assert report.articles == len(old) + 1500
    assert len(answers(root, corpus)) == len(old) + 1500
    assert not [n for n in dir_names(root) if n.startswith("tmp-")]
    print(f"kills landed: {landed}; a build takes {whole:.2f}s, its write phase {writing:.2f}s")


def test_assistant_index_killed_while_the_real_model_embeds(real_store, tmp_path, site_dir):
    """The CLI with the real model, SIGKILLed mid-embedding; the old store answers
    `assistant ask`; the next `assistant index` completes."""
    mine = real_store.copy_to(tmp_path)
    write_corpus(mine.corpus, 40, start=100, prefix="late")
    marker = tmp_path / "embedding-started"
    # Marked as the real model is called, not paused: the kill lands while it embeds.
    env = proc_env(mine.home, site_dir, RELIABILITY_NET_LOG=str(mine.net_log),
                   **build_pauses.pause_env("embedding", marker, seconds=0))
    where = ["--corpus", str(mine.corpus), "--store", str(mine.store)]

    build = cli_popen("index", *where, env=env)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert build.poll() is None, f"the build ended before embedding: {build.communicate()}"
            assert time.monotonic() < deadline, "the build never started embedding"
            time.sleep(0.02)
        assert not [n for n in dir_names(mine.store) if n.startswith("tmp-")]  # still embedding
        os.kill(build.pid, signal.SIGKILL)
        assert build.wait(30) == -signal.SIGKILL
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert int(marker.read_text()) >= 40  # it was embedding the 40 new articles' chunks
    assert (mine.store / "CURRENT").read_text().strip() == "gen-000001"
    assert not holds_lock(mine.store)

    env.pop("BUILD_PAUSE_AT")
    ask = read_json_output(cli("ask", "Which prize did the neighbourhood bakery win?", "--json",
                               "--as-of", "2023-01-01", *where, env=env))
    assert ask["citations"] and ask["citations"][0]["file"] == "story-007.txt"
    assert ask["store"]["generation"] == 1

    report = read_json_output(cli("index", "--json", *where, env=env))
    assert (len(report["added"]), report["unchanged"], report["published"]) == (40, 8, True)
    assert report["generation"] == 2 and report["articles"] == 48
    s = Store.open(mine.store)
    top = int(np.argmax(s.keyword().scores("telescope130 observatory")))
    assert s.chunks([int(s.chunk_ids[top])])[0].article_id == "late-130.txt"
    assert not [n for n in dir_names(mine.store) if n.startswith("tmp-")]
    assert not mine.net_log.exists()
