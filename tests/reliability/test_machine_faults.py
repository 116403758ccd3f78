"""Faults of the machine, not of the articles: a disk that fills up, a place that
cannot be written or is the wrong kind of thing, and SIGINT/SIGTERM during a build.

Every fault is made for real: a small tmpfs that really fills (tests/mounts.py), a
read-only bind mount, chmod with root's override dropped (setpriv), real signals to a
real `assistant index`. Each test checks the one-line message, the exit status, that
the previous generation still answers, and that no temporary file is left behind.
Builds run the real CLI with the stand-in embedder (these tests are about files); the
signal test while embedding uses the real model.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

import build_pauses
from assistant.api import NewsAssistant
from mounts import Mounts, fill, free_kb, leftovers, mounts  # noqa: F401  (mounts: a fixture)
from reliability_support import (
    FakeMiniLM, assert_friendly_failure, can_drop_dac, cli, cli_popen, cli_with_fake_model,
    cli_with_fake_model_popen, dir_names, proc_env, read_json_output, write_corpus,
)

pytestmark = pytest.mark.slow
KEPT = "The previous index is still in use."


@pytest.fixture(scope="session")
def first_build(tmp_path_factory: pytest.TempPathFactory, site_dir: Path) -> tuple[Path, Path]:
    """Eight articles and their store, built once by `assistant index`; each test
    works on a copy."""
    home = tmp_path_factory.mktemp("faults-first-build")
    corpus, store = home / "articles", home / "store"
    write_corpus(corpus, 8)
    read_json_output(cli_with_fake_model("index", "--json", "--corpus", str(corpus), "--store", str(store),
                                         env=proc_env(home, site_dir, user_default=False)))
    return corpus, store


class Setup:
    """A copy of `first_build`'s articles and store (the store at `store`, which may
    be on a small disk), and the environment of the CLI children that use them."""

    def __init__(self, tmp_path: Path, site_dir: Path, first: tuple[Path, Path], store: Path) -> None:
        self.home, self.corpus, self.store = tmp_path / "home", tmp_path / "articles", store
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = proc_env(self.home, site_dir, user_default=False)
        shutil.copytree(first[0], self.corpus)
        shutil.copytree(first[1], self.store, dirs_exist_ok=True)
        assert self.live() == "gen-000001"

    @property
    def where(self) -> list[str]:
        return ["--corpus", str(self.corpus), "--store", str(self.store)]

    def index(self, *extra: str, drop_dac: bool = False, **env: str) -> subprocess.CompletedProcess:
        return cli_with_fake_model("index", "--quiet", *extra, *self.where, env={**self.env, **env}, drop_dac=drop_dac)

    def index_ok(self) -> dict:
        return read_json_output(cli_with_fake_model("index", "--json", *self.where, env=self.env))

    def live(self) -> str:
        return (self.store / "CURRENT").read_text().strip()

    def answers(self) -> set[str]:
        """The live store opened as the chat opens it, searched, a quote verified."""
        na = NewsAssistant.from_settings(embedder=FakeMiniLM(), corpus=self.corpus, store=self.store)
        answer = na.ask("What did the harbor authority reopen?", as_of=date(2023, 1, 1))
        assert answer.citations and answer.citations[0].file == "story-000.txt", answer.text
        return {a.id for a in na.store().articles()}


@pytest.fixture
def on_small_disk(tmp_path: Path, site_dir: Path, first_build, mounts: Mounts) -> Setup:  # noqa: F811
    disk = mounts.tmpfs(tmp_path / "disk", 4096)
    return Setup(tmp_path, site_dir, first_build, disk / "store")


@pytest.fixture
def setup(tmp_path: Path, site_dir: Path, first_build) -> Setup:
    return Setup(tmp_path, site_dir, first_build, tmp_path / "store")


def assert_unchanged(s: Setup, old: set[str]) -> None:
    assert s.live() == "gen-000001"
    assert s.answers() == old
    assert leftovers(s.store) == [] and not (s.store / "gen-000002").exists(), dir_names(s.store)


# -- a full disk ---------------------------------------------------------------------

def test_a_build_that_will_not_fit_is_refused_before_embedding(on_small_disk: Setup, tmp_path: Path):
    s = on_small_disk
    old = s.answers()
    write_corpus(s.corpus, 40, start=100, prefix="late")
    filler = fill(s.store.parent, leave_kb=1024)
    marker = tmp_path / "embedding"
    started = time.monotonic()
    proc = s.index(**build_pauses.pause_env("embedding", marker, seconds=0))
    line = assert_friendly_failure(proc, "not enough free space for the new index", KEPT, "Free at least")
    assert "MB in " + str(s.store) in line and "MB free" in line, line
    assert not marker.exists()  # refused before the model saw a single chunk
    assert time.monotonic() - started < 60
    assert_unchanged(s, old)
    filler.unlink()
    report = s.index_ok()  # with the space back, the same build completes
    assert (len(report["added"]), report["generation"]) == (40, 2)


@pytest.mark.parametrize("point", ["embedding", "sqlite", "vectors", "keyword", "manifest"])
def test_the_disk_filling_up_during_a_build(on_small_disk: Setup, tmp_path: Path, point: str):
    """The space check passes; then the disk fills (another program, a download) while
    the build is at `point`: SQLite's "database or disk is full", numpy's and our own
    ENOSPC all end in the same message, and nothing of the new generation stays."""
    s = on_small_disk
    old = s.answers()
    write_corpus(s.corpus, 40, start=100, prefix="late")
    marker = tmp_path / "paused"
    build = cli_with_fake_model_popen("index", "--quiet", *s.where, env={**s.env, **build_pauses.pause_env(point, marker)})
    try:
        build_pauses.wait_for_pause(build, marker)
        filler = fill(s.store.parent)
        build_pauses.resume(marker)
        _, err = build.communicate(timeout=120)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    proc = subprocess.CompletedProcess(build.args, build.returncode, "", err)
    line = assert_friendly_failure(proc, "no space left on the disk holding", KEPT)
    assert str(s.store) in line
    assert_unchanged(s, old)
    filler.unlink()
    assert s.index_ok()["generation"] == 2


def test_a_full_disk_costs_no_answer_and_no_saved_conversation(setup: Setup, tmp_path: Path, mounts: Mounts):  # noqa: F811
    """The data folder (saved conversations) on a full disk: `assistant ask` still
    answers, warns in one line, exits 0; an export there fails cleanly."""
    s = setup
    home = mounts.tmpfs(tmp_path / "full-home", 256)
    fill(home)
    env = {**s.env, "NEWS_ASSISTANT_HOME": str(home)}
    proc = cli_with_fake_model("ask", "What did the harbor authority reopen?", "--as-of", "2023-01-01",
                               *s.where, env=env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "harbor" in proc.stdout.lower()
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].startswith(
        f"warning: the conversation was not saved: cannot write the conversation: no space left on the disk holding {home}"
    ), proc.stderr
    out = home / "answer.md"
    proc = cli_with_fake_model("ask", "What did the harbor authority reopen?", "--as-of", "2023-01-01",
                               "--export", str(out), *s.where, env=env)
    assert_friendly_failure(proc, "cannot write the export: no space left", "Free some space there")
    assert not out.exists() and leftovers(home) == []


def test_the_int8_encoder_is_not_exported_onto_a_full_disk(tmp_path: Path, mounts: Mounts):  # noqa: F811
    """The encoder cache's disk too small for the one-time export: the build says so
    in a note and goes on with the fp32 encoder; nothing is recorded as a failed
    export, so once there is room the int8 encoder is made."""
    from index import onnx_encoder

    models = mounts.tmpfs(tmp_path / "models", 1024)
    mp = pytest.MonkeyPatch()
    mp.setattr(onnx_encoder, "models_dir", lambda: models)
    try:
        embedder = onnx_encoder.OnnxMiniLMEmbedder()
        embedder.prepare()
    finally:
        mp.undo()
    assert embedder.uses_fallback
    assert embedder.notice.startswith("the int8 encoder is unavailable (not enough free space for the int8 "
                                      "encoder's export: it needs about 256.0 MB in " + str(models)), embedder.notice
    # No .failed record (that would stop every later export), no tmp- folder.
    assert [n for n in dir_names(models) if n.endswith(".failed") or n.startswith("tmp-")] == []


# -- places that cannot be written, or are the wrong kind of thing ------------------------

@pytest.mark.skipif(not can_drop_dac(), reason="running as root without setpriv: chmod cannot stop a write")
def test_a_store_folder_without_write_permission(setup: Setup, tmp_path: Path):
    s = setup
    old = s.answers()
    write_corpus(s.corpus, 2, start=100, prefix="late")
    s.store.chmod(0o555)
    try:
        proc = s.index(drop_dac=True)
        assert_friendly_failure(proc, f"cannot write the index: permission denied on {s.store}",
                                f"Give your user write access to {s.store}", KEPT)
        # A store folder that cannot be created: its parent refuses.
        tmp_path.joinpath("locked").mkdir(mode=0o555)
        proc = cli_with_fake_model("index", "--quiet", "--corpus", str(s.corpus), "--store",
                                   str(tmp_path / "locked" / "store"), env=s.env, drop_dac=True)
        assert_friendly_failure(proc, f"permission denied on {tmp_path / 'locked'}")
    finally:
        s.store.chmod(0o755)
    assert_unchanged(s, old)
    assert s.index_ok()["generation"] == 2


def test_a_store_on_a_read_only_file_system(setup: Setup, mounts: Mounts):  # noqa: F811
    s = setup
    old = s.answers()
    write_corpus(s.corpus, 2, start=100, prefix="late")
    mounts.read_only(s.store)
    proc = s.index()
    assert_friendly_failure(proc, f"cannot write the index: {s.store}", "is on a read-only file system",
                            "Make that file system writable")
    assert s.answers() == old  # the chat reads a read-only store as it is
    proc = cli_with_fake_model("ask", "What did the harbor authority reopen?", "--as-of", "2023-01-01",
                               *s.where, env=s.env)
    assert proc.returncode == 0 and "harbor" in proc.stdout.lower(), proc.stderr
    mounts.unmount(s.store)
    assert_unchanged(s, old)


def test_paths_that_are_the_wrong_kind_of_thing(setup: Setup, tmp_path: Path):
    s = setup
    old = s.answers()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    for store in (a_file, a_file / "store"):  # the store, or its parent, is a file
        proc = cli_with_fake_model("index", "--quiet", "--corpus", str(s.corpus), "--store", str(store), env=s.env)
        assert_friendly_failure(proc, f"cannot write the index: {a_file} is a file, where a folder is needed",
                                "Move or rename that file")
    assert a_file.read_text() == "not a folder\n"

    write_corpus(s.corpus, 2, start=100, prefix="late")
    (s.store / "lock").unlink()
    (s.store / "lock").mkdir()  # a folder where the lock file belongs
    assert_friendly_failure(s.index(), f"{s.store / 'lock'} is a folder, where a file is needed", KEPT)
    (s.store / "lock").rmdir()
    assert_unchanged(s, old)

    home_file = tmp_path / "home-file"
    home_file.write_text("")
    proc = cli_with_fake_model("ask", "What did the harbor authority reopen?", "--as-of", "2023-01-01", *s.where,
                               env={**s.env, "NEWS_ASSISTANT_HOME": str(home_file)})
    assert proc.returncode == 0 and "harbor" in proc.stdout.lower(), proc.stderr
    assert f"cannot write the conversation: {home_file} is a file, where a folder is needed" in proc.stderr

    folder = tmp_path / "exports"
    folder.mkdir()
    proc = cli_with_fake_model("ask", "What did the harbor authority reopen?", "--as-of", "2023-01-01", *s.where,
                               "--export", str(folder), "--force", env=s.env)
    assert_friendly_failure(proc, f"{folder} is a folder, where a file is needed")
    assert dir_names(folder) == []
    assert s.index_ok()["generation"] == 2


# -- signals -------------------------------------------------------------------------

def assert_stopped(proc: subprocess.CompletedProcess, sig: signal.Signals, generation: int = 1) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 128 + sig, (proc.returncode, proc.stderr)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [f"error: the build stopped on {sig.name}; the previous index (generation {generation}) "
                      "is still in use. Run `assistant index` again to bring it up to date."], proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("point", ["sqlite", "commit"])
def test_a_signal_while_the_build_writes(setup: Setup, tmp_path: Path, point: str, sig: signal.Signals):
    """Mid-write (a tmp- folder on disk) and with the new generation complete but not
    yet live: the signal removes both, and says what is still in use."""
    s = setup
    old = s.answers()
    write_corpus(s.corpus, 4, start=100, prefix="late")
    marker = tmp_path / "paused"
    build = cli_with_fake_model_popen("index", "--quiet", *s.where, env={**s.env, **build_pauses.pause_env(point, marker)})
    try:
        build_pauses.wait_for_pause(build, marker)
        during = dir_names(s.store)
        assert any(n.startswith("tmp-") for n in during) or "gen-000002" in during, during
        build.send_signal(sig)
        out, err = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert_stopped(subprocess.CompletedProcess(build.args, build.returncode, out, err), sig)
    assert_unchanged(s, old)
    assert sorted(dir_names(s.store)) == ["CURRENT", "gen-000001", "lock"]
    assert s.index_ok()["generation"] == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM], ids=["SIGTERM"])
def test_a_signal_while_the_real_model_embeds(real_store, tmp_path: Path, site_dir: Path, sig: signal.Signals):
    """`assistant index` as users run it, with the real model, signalled while it
    embeds; `assistant ask` answers from the old generation; the next build is clean.
    (SIGINT takes the same path: it is sent at the other pause points above, and to a
    real-model `assistant watch` mid-build in tests/test_watch.py.)"""
    mine = real_store.copy_to(tmp_path)
    write_corpus(mine.corpus, 40, start=100, prefix="late")
    marker = tmp_path / "embedding-started"
    env = proc_env(mine.home, site_dir, RELIABILITY_NET_LOG=str(mine.net_log),
                   **build_pauses.pause_env("embedding", marker, seconds=0))
    where = ["--corpus", str(mine.corpus), "--store", str(mine.store)]
    build = cli_popen("index", *where, env=env)
    try:
        build_pauses.wait_for_pause(build, marker, timeout=240)
        build.send_signal(sig)
        out, err = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert int(marker.read_text()) >= 40
    assert_stopped(subprocess.CompletedProcess(build.args, build.returncode, out, err), sig)
    assert dir_names(mine.store) == ["CURRENT", "gen-000001", "lock"]

    env.pop("BUILD_PAUSE_AT")
    ask = read_json_output(cli("ask", "Which prize did the neighbourhood bakery win?", "--json",
                               "--as-of", "2023-01-01", *where, env=env))
    assert ask["citations"] and ask["citations"][0]["file"] == "story-007.txt"
    assert ask["store"]["generation"] == 1
    report = read_json_output(cli("index", "--json", *where, env=env))
    assert (len(report["added"]), report["generation"]) == (40, 2)
    assert leftovers(mine.store) == []
    assert not mine.net_log.exists()
