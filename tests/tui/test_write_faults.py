"""The chat when the machine refuses a write: a build on a full disk, a conversation
that cannot be saved. The same messages as the CLI's, as notifications, and the chat
goes on answering from the generation that was live (tests/mounts.py: a real tmpfs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SEEDS, Messages, ask, settle, wait_until

from mounts import Mounts, fill, leftovers, mounts  # noqa: F401  (mounts: a fixture)


def _grown_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    (folder / "001_lighthouses.txt").write_text(
        "2022-01-20\n\nThe last lighthouse keepers\n\n"
        "The coast guard automated the last three staffed lighthouses on the northern coast this week. "
        "The keepers said they would miss the long winter nights on the rocks.\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("when", ["before", "during"])
async def test_a_build_on_a_full_disk_is_a_notification_and_the_chat_goes_on(
        make_app, seed_store, tmp_path, mounts: Mounts, when):  # noqa: F811
    """before: the space check refuses at once; during: the disk fills while the
    build embeds, and the write fails."""
    disk = mounts.tmpfs(tmp_path / "disk", 4096)
    store = disk / "store"
    shutil.copytree(seed_store, store, ignore=shutil.ignore_patterns("lock"))
    app = make_app(store=store, corpus=_grown_corpus(tmp_path))
    real_build = app.na.build_index
    filled: list[Path] = []

    def build_that_fills_the_disk(rebuild=False, progress=None):
        def report(stage, done, total):
            if stage == "embedding" and not filled:
                filled.append(fill(disk))
            progress(stage, done, total)
        return real_build(rebuild=rebuild, progress=report)

    if when == "during":
        app.na.build_index = build_that_fills_the_disk
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await wait_until(pilot, lambda: app.index_state == "ready", what="the index")
        if when == "before":
            filled.append(fill(disk, leave_kb=256))
        await pilot.press("ctrl+r")
        await settle(pilot)
        await wait_until(pilot, lambda: bool(messages.notifications("error")), what="the error")
        [error] = messages.notifications("error")
        assert error.title == "Disk full"
        wanted = "not enough free space for the new index" if when == "before" else "no space left on the disk holding"
        assert wanted in error.message and str(disk) in error.message, error.message
        assert "The previous index is still in use." in error.message
        assert app.index_state == "ready" and app.is_running
        assert not app.chat.build_bar.has_class("-active")
        await ask(pilot)  # answered from generation 1, which is still live
        assert "Fundamental" in app.chat.sources.prompts()[0]
    assert (store / "CURRENT").read_text().strip() == "gen-000001"
    assert leftovers(store) == [] and not (store / "gen-000002").exists()


async def test_a_conversation_that_cannot_be_saved_is_a_warning(make_app, tmp_path, mounts: Mounts, monkeypatch):  # noqa: F811
    home = mounts.tmpfs(tmp_path / "full-home", 256)
    fill(home)
    monkeypatch.setenv("NEWS_ASSISTANT_HOME", str(home))
    app = make_app()
    messages = Messages()
    async with app.run_test(message_hook=messages) as pilot:
        await ask(pilot)
        assert "Fundamental" in app.chat.sources.prompts()[0]  # the answer is there
        await wait_until(pilot, lambda: bool(messages.notifications("warning")), what="the warning")
        [warning] = messages.notifications("warning")
        assert warning.title == "Conversation not saved"
        assert "cannot write the conversation: no space left on the disk holding" in warning.message
        assert "Free some space there" in warning.message
        await ask(pilot)  # and the chat goes on
        assert len(app.session.turns) == 2
    assert leftovers(home) == []
