"""`assistant watch` as a user runs it: a real child process with the real (int8)
model, a real watcher, real files written, renamed and removed beside it, real
SIGINT. What it indexed is checked by searching the store it wrote."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from answer_fixtures import make_assistant

pytestmark = pytest.mark.slow

DEADLINE = 30.0  # seconds for a change to reach the index (a few, plus a loaded machine's slack)


class WatchProcess:
    """`python -m assistant watch` with its output lines collected as they come."""

    def __init__(self, corpus: Path, store: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "watch", "--corpus", str(corpus), "--store", str(store)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for(self, condition, timeout: float = DEADLINE, what: str = "") -> float:
        started = time.monotonic()
        while not condition():
            assert self.proc.poll() is None, f"assistant watch exited: {self.err}"
            assert time.monotonic() - started < timeout, f"timed out waiting for {what}\nout: {self.out}\nerr: {self.err}"
            time.sleep(0.05)
        return time.monotonic() - started

    def updates(self) -> int:
        return len(self.out)

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "WatchProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def article(title: str, body: str, day: str = "2022-06-01") -> str:
    return f"{day}\n\n{title}\n\n{body}\n"


def found(na, query: str) -> list[str]:
    """Files of the hits for `query` in the live generation (reopened when it changed)."""
    from datetime import date

    return [h.file for h in na.search(query, k=5, as_of=date(2023, 1, 1)).hits]


def test_watch_follows_added_changed_removed_and_renamed_files(corpus, tmp_path, child_env, int8, isolated_home):
    store = tmp_path / "store"
    na = make_assistant(int8, corpus, store, isolated_home)
    with WatchProcess(corpus, store, child_env) as w:
        w.wait_for(lambda: w.updates() == 1, timeout=120, what="the first build")
        assert "3 added, 0 changed, 0 removed" in w.out[0]

        (corpus / "zebra.txt").write_text(article("Zebra escapes from the city zoo",
                                                  "A zebra escaped from the city zoo and trotted down Main Street."))
        took = w.wait_for(lambda: w.updates() == 2, what="the added file")
        assert "1 added, 0 changed, 0 removed (zebra.txt)" in w.out[1]
        assert "zebra.txt" in found(na, "zebra escaped from the zoo")
        assert took < 15, took

        (corpus / "zebra.txt").write_text(article("Zebra caught after escape",
                                                  "Keepers caught the zebra near the lighthouse with a bucket of carrots."))
        w.wait_for(lambda: w.updates() == 3, what="the changed file")
        assert "0 added, 1 changed, 0 removed (zebra.txt)" in w.out[2]
        text = na.store().article_text("zebra.txt")
        assert "lighthouse" in text and "Main Street" not in text

        (corpus / "zebra.txt").rename(corpus / "sub" / "zebra-caught.txt")
        w.wait_for(lambda: w.updates() == 4, what="the renamed file")
        assert "1 added, 0 changed, 1 removed (sub/zebra-caught.txt, zebra.txt)" in w.out[3]
        assert "sub/zebra-caught.txt" in found(na, "zebra caught near the lighthouse")
        assert "zebra.txt" not in [a.id for a in na.store().articles()]

        (corpus / "floods.txt").unlink()
        w.wait_for(lambda: w.updates() == 5, what="the removed file")
        assert "0 added, 0 changed, 1 removed (floods.txt)" in w.out[4]
        assert "floods.txt" not in found(na, "river valley floods")
        assert na.status()["articles"] == 3
    assert w.proc.returncode == 0 and "Stopped watching." in w.err
    assert not any("Traceback" in line for line in w.err)


def test_half_written_file_is_indexed_only_when_complete(corpus, tmp_path, child_env, int8, isolated_home):
    """Written in five parts 1.3s apart: longer than the debounce (1s), so only the
    stability check (2s without a change) keeps a part from being indexed."""
    store = tmp_path / "store"
    with WatchProcess(corpus, store, child_env) as w:
        w.wait_for(lambda: w.updates() == 1, timeout=120, what="the first build")
        parts = [f"Part {i} of the long report on the glacier survey, paragraph {i}.\n\n" for i in range(5)]
        path = corpus / "glacier.txt"
        with open(path, "w", encoding="utf-8") as f:
            f.write("2022-06-02\n\nGlacier survey finds retreat\n\n")
            for p in parts:
                f.write(p)
                f.flush()
                time.sleep(1.3)
            f.write("The survey ends here: COMPLETE.\n")
        w.wait_for(lambda: w.updates() == 2, what="the finished file")
        time.sleep(3)  # nothing more comes
        assert w.updates() == 2, w.out
        assert "1 added, 0 changed, 0 removed (glacier.txt)" in w.out[1]
    na = make_assistant(int8, corpus, store, isolated_home)
    assert na.store().article_text("glacier.txt").rstrip().endswith("COMPLETE.")


def _write_batch(folder: Path, n: int, paragraphs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = "\n\n".join(f"Report {i}, paragraph {p}: the council of town {i} voted on budget item {p * 7 + i} "
                           f"after a long debate about roads, schools and the harbour." for p in range(paragraphs))
        (folder / f"batch-{i:03d}.txt").write_text(article(f"Town {i} council votes on budget", body))


def test_batch_copy_makes_few_builds_and_sigint_mid_build_keeps_the_old_index(corpus, tmp_path, child_env, int8,
                                                                              isolated_home):
    store = tmp_path / "store"
    staging = tmp_path / "staging"
    _write_batch(staging / "first", 200, 1)
    _write_batch(staging / "second", 300, 4)
    with WatchProcess(corpus, store, child_env) as w:
        w.wait_for(lambda: w.updates() == 1, timeout=120, what="the first build")
        shutil.copytree(staging / "first", corpus / "batch1")  # 200 files, as fast as the disk goes
        na = make_assistant(int8, corpus, store, isolated_home)
        w.wait_for(lambda: na.status()["articles"] == 203, timeout=90, what="all 200 files indexed")
        time.sleep(3)  # any straggling build would show now
        builds = w.updates() - 1
        assert 1 <= builds <= 3, w.out
        generation = na.status()["generation"]

        # A bigger batch, and Ctrl+C while its build runs.
        started = len(w.err)
        shutil.copytree(staging / "second", corpus / "batch2")
        w.wait_for(lambda: any(line.startswith("Indexing") for line in w.err[started:]), what="the second build to start")
        time.sleep(0.5)
        code = w.stop()
    assert code == 130, (w.out, w.err)
    assert w.err[-1].startswith("Stopped watching during a build (on SIGINT): the build was abandoned; "
                                f"the previous index (generation {generation}) is still in use.")
    assert w.updates() == 1 + builds  # nothing published after the interrupt
    assert not any("Traceback" in line for line in w.err)
    na = make_assistant(int8, corpus, store, isolated_home)
    assert na.status()["generation"] == generation and na.status()["articles"] == 203
    assert not [p.name for p in store.iterdir() if p.name.startswith("tmp-")]
    assert "batch1/batch-017.txt" in found(na, "town 17 council votes on budget")


def test_watch_on_a_missing_folder_is_one_friendly_line(tmp_path, child_env):
    done = subprocess.run([sys.executable, "-m", "assistant", "watch", "--corpus", str(tmp_path / "nowhere"),
                           "--store", str(tmp_path / "store")], env=child_env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-2:] == [
        f"error: the article folder {tmp_path / 'nowhere'} does not exist",
        "Pass --corpus DIR with a folder of .txt/.md/.html/.json articles."]
