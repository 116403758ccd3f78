"""The folder watcher's decisions (debounce, stable files, what is watched, skipped
files said once) with a fake clock, and the watch loop in-process on real files with
a real watcher (watchfiles) and real builds (the stand-in embedder: the logic is
under test here; tests/test_watch.py runs `assistant watch` with the real model)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from index.corpus import SkippedFile
from index.watch import PendingChanges, SkipReporter, WatchEvent, WatchSettings, is_relevant

S = WatchSettings(quiet_seconds=1.0, settle_seconds=2.0, max_delay_seconds=30.0)


class FakeFiles:
    """stat() of paths whose (size, mtime) the test sets."""

    def __init__(self) -> None:
        self.sig: dict[str, tuple[int, int] | None] = {}

    def __call__(self, path: str):
        return self.sig.get(path)


def test_a_burst_of_events_is_one_build_once_quiet_and_settled():
    files = FakeFiles()
    pending = PendingChanges(S, files)
    assert not pending and not pending.due(0.0)
    # 500 files copied over 4 seconds: never due while events keep coming.
    for i in range(500):
        now = i * 0.008
        files.sig[f"f{i}.txt"] = (100, i)
        pending.add([f"f{i}.txt"], now)
        assert not pending.due(now)
    last = 499 * 0.008
    assert not pending.due(last + 0.9)  # not quiet yet
    assert not pending.due(last + 1.5)  # quiet, but the last files were written 1.5s ago
    assert pending.due(last + 2.0)
    assert pending.take() == sorted(f"f{i}.txt" for i in range(500))
    assert not pending and not pending.due(last + 10)


def test_a_file_still_growing_without_events_waits_until_it_is_stable():
    files = FakeFiles()
    pending = PendingChanges(S, files)
    files.sig["big.txt"] = (10, 1)
    pending.add(["big.txt"], 0.0)
    # The writer goes on without the watcher hearing of it (events lost or coalesced):
    # the size seen now differs from the size seen at the event.
    files.sig["big.txt"] = (20, 2)
    assert not pending.due(1.5)  # changed since the event: its clock restarts at 1.5
    assert not pending.due(3.0)
    files.sig["big.txt"] = (30, 3)
    assert not pending.due(3.4)
    assert not pending.due(5.3)
    assert pending.due(5.4)  # unchanged for 2 seconds


def test_deleted_files_are_settled_and_a_file_written_forever_still_gets_indexed():
    files = FakeFiles()
    pending = PendingChanges(S, files)
    pending.add(["gone.txt"], 0.0)  # stat None: removed
    assert pending.due(1.0)
    pending.take()
    files.sig["log.txt"] = (1, 0)
    pending.add(["log.txt"], 0.0)
    for t in range(1, 29):
        files.sig["log.txt"] = (t, t)
        assert not pending.due(t + 0.5)
    files.sig["log.txt"] = (99, 99)
    assert pending.due(30.0)  # max_delay_seconds: indexed as it stands


def test_the_first_build_is_due_at_once():
    pending = PendingChanges(S, FakeFiles())
    pending.force()
    assert pending and pending.due(0.0)
    assert pending.take() == [] and not pending


def test_which_paths_are_watched(tmp_path: Path):
    corpus = tmp_path / "articles"
    (corpus / "2022").mkdir(parents=True)
    store = corpus / "store"
    assert is_relevant(str(corpus / "a.txt"), corpus)
    assert is_relevant(str(corpus / "2022" / "b.HTML"), corpus)
    assert is_relevant(str(corpus / "2022"), corpus)  # a folder moved in
    assert is_relevant(str(corpus / "gone-folder"), corpus)
    assert not is_relevant(str(corpus / "photo.jpg"), corpus)
    assert not is_relevant(str(corpus / ".DS_Store"), corpus)
    assert not is_relevant(str(corpus / ".partial" / "c.txt"), corpus)
    assert not is_relevant(str(corpus / "a.txt.part"), corpus)
    assert not is_relevant(str(store / "gen-000001" / "meta.sqlite"), corpus, (store,))
    assert not is_relevant(str(tmp_path / "elsewhere.txt"), corpus)


def test_an_unreadable_file_is_reported_once():
    said = SkipReporter()
    bad = SkippedFile("bad.json", "not valid JSON")
    assert said.new([bad]) == [bad]
    assert said.new([bad]) == []
    assert said.new([bad, SkippedFile("b.txt", "empty file")]) == [SkippedFile("b.txt", "empty file")]
    assert said.new([]) == []  # fixed
    assert said.new([bad]) == [bad]  # broken again: said again


# -- the loop, in-process, on real files ---------------------------------------------------
FAST = WatchSettings(quiet_seconds=0.3, settle_seconds=0.5, max_delay_seconds=10.0, retry_seconds=0.2)


class Watcher:
    """The API's watch loop in a thread, its events collected."""

    def __init__(self, na) -> None:
        self.na = na
        self.events: list[WatchEvent] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.na.watch(self.events.append, self.stop, settings=FAST)
        except BaseException as e:  # handed to the test
            self.error = e

    def __enter__(self) -> "Watcher":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the watcher did not stop"

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def wait_for(self, condition, timeout: float = 20.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"timed out waiting for {what}; events: {self.kinds()}"
            time.sleep(0.05)


@pytest.fixture
def watched(tmp_path: Path, write_article):
    from answer_fixtures import make_assistant
    from stand_in import HashingEmbedder

    corpus = tmp_path / "articles"
    write_article(corpus, "one.txt", "Harbour bridge opens", ["The new harbour bridge opened to traffic on Monday."])
    return make_assistant(HashingEmbedder(), corpus, tmp_path / "store", tmp_path / "home")


def test_a_build_refused_by_the_lock_waits_and_then_runs(watched, write_article):
    from index.builder import build_lock

    with Watcher(watched) as w:
        w.wait_for(lambda: "updated" in w.kinds(), what="the first build")
        with build_lock(watched.store_dir):  # a manual `assistant index` holds the store
            write_article(watched.corpus, "two.txt", "Ferry strike ends", ["Ferry crews returned to work."])
            w.wait_for(lambda: "waiting" in w.kinds(), what="the watcher to wait for the lock")
            time.sleep(1.0)  # retried meanwhile, said once
            assert w.kinds().count("waiting") == 1
            assert w.kinds().count("updated") == 1
        w.wait_for(lambda: w.kinds().count("updated") == 2, what="the build after the lock was released")
    waiting = next(e for e in w.events if e.kind == "waiting")
    import os

    assert f"being rebuilt by process {os.getpid()}" in waiting.message
    assert w.events[-1].report.added == ["two.txt"]
    assert watched.status()["articles"] == 2


def test_an_unreadable_file_is_said_once_while_other_changes_go_on(watched, write_article):
    with Watcher(watched) as w:
        w.wait_for(lambda: "updated" in w.kinds(), what="the first build")
        (watched.corpus / "bad.json").write_text("{not json", encoding="utf-8")
        w.wait_for(lambda: "skipped" in w.kinds(), what="the bad file to be reported")
        for i in range(2):  # more events on the bad file and beside it
            (watched.corpus / "bad.json").write_text("{still not json" + "!" * i, encoding="utf-8")
            write_article(watched.corpus, f"more{i}.txt", f"Story {i}", [f"Text number {i} about markets."])
            w.wait_for(lambda: w.kinds().count("updated") == 2 + i, what=f"update {i}")
    skipped = [s for e in w.events if e.kind == "skipped" for s in e.skipped]
    assert [s.path for s in skipped] == ["bad.json"]
